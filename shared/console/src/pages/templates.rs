//! The templates pages (under /app/templates): the list (status chips, newest first, "Load
//! more", pending rows polling until Meta's review lands), sync with Meta, the library install,
//! the builder (new and edit, with the live preview) and delete. Each calls the use case the
//! `/templates*` API route calls.

mod builder;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::audit;
use miping::domain::media::service::Upload;
use miping::domain::templates::{self, model::Template as Tpl};
use miping::domain::{Error, Kind};
use miping::http::audit::Audit;
use miping::http::routes::media::UPLOAD_BODY_LIMIT;
use miping::store::templates::Templates;
use serde::Deserialize;

use crate::forms::{CsrfForm, CsrfUpload, Errors, sentence, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell};
use crate::session::TenantAdmin;
use crate::view::{When, humanize_code, template_status, when};
use builder::{BUTTON_KINDS, Builder, CATEGORIES, HEADER_FORMATS, Part, Preview};
use miping::domain::zone::Zone;

const LIST: &str = "/app/templates";
const PAGE_SIZE: usize = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        // The builder's form is multipart (a media header's sample file): up to WhatsApp's largest.
        .route("/", get(list).post(create).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/new", get(new_form))
        .route("/preview", post(preview).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/sync", post(sync))
        .route("/library/install", post(install))
        .route("/{id}/row", get(row))
        .route("/{id}/edit", get(edit_form).post(edit).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/{id}/delete", post(delete))
}

// ---- The list

/// One row of the list.
#[derive(Clone, Debug)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub badge: &'static str,
    pub word: &'static str,
    pub reason: Option<String>,
    pub updated: When,
    /// Still in Meta's review: the row polls until it is decided.
    pub pending: bool,
}

impl Row {
    fn of(t: &Tpl, tz: &Zone) -> Self {
        let (badge, word) = template_status(&t.status);
        Row {
            id: t.id.clone(),
            name: t.name.clone(),
            language: t.language.clone(),
            category: humanize_code(&t.category),
            badge,
            word,
            reason: (t.status == "REJECTED").then(|| {
                t.rejection_reason
                    .as_deref()
                    .filter(|r| !r.is_empty() && *r != "NONE")
                    .map_or_else(|| "Meta gave no reason".to_owned(), humanize_code)
            }),
            updated: when(t.updated_at, tz),
            pending: matches!(t.status.as_str(), "PENDING" | "SUBMITTING"),
        }
    }
}

impl Row {
    /// The delete dialog's question, naming the template.
    pub fn confirm(&self) -> String {
        delete_question(&self.name, &self.language)
    }
}

/// A status filter chip.
#[derive(Clone, Debug)]
pub struct Chip {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

const FILTERS: [(&str, &str); 5] =
    [("", "All"), ("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected"), ("paused", "Paused")];

#[derive(Template)]
#[template(path = "templates_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub csrf: String,
    pub rows: Vec<Row>,
    pub chips: Vec<Chip>,
    /// The filter's word ("approved"), if any.
    pub filter: Option<&'static str>,
    /// The "Load more" link.
    pub next: Option<String>,
}

/// The rows after "Load more" (and the next "Load more").
#[derive(Template)]
#[template(path = "templates_rows.html")]
pub struct RowsFragment {
    pub csrf: String,
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "templates_row.html")]
pub struct RowFragment {
    pub csrf: String,
    pub t: Row,
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    cursor: Option<String>,
}

/// `GET /app/templates`
async fn list(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(q): Query<ListQuery>,
) -> Response {
    let Some(filter) = FILTERS.iter().find(|(v, _)| q.status.as_deref().unwrap_or("") == *v).map(|(v, _)| *v) else {
        return page::message_page(StatusCode::BAD_REQUEST, "Unknown filter", "Go back to the templates list.");
    };
    let cursor = match crate::paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let status = templates::status_filter(Some(filter)).ok().flatten();
    let more = cursor.is_some();
    let (items, next) =
        match Templates::new(&*state.ports.table).page(&tenant_id, status.as_deref(), PAGE_SIZE, cursor).await {
            Ok(v) => v,
            Err(e) => {
                let e = miping::domain::error::list_error(e);
                if e.kind == Kind::Internal {
                    return page::failed("templates", e);
                }
                return page::message_page(
                    StatusCode::BAD_REQUEST,
                    "This link has expired",
                    "Open the templates list again.",
                );
            }
        };
    let with_filter = |extra: &str| {
        let mut q: Vec<String> = Vec::new();
        if !filter.is_empty() {
            q.push(format!("status={filter}"));
        }
        if !extra.is_empty() {
            q.push(extra.to_owned());
        }
        if q.is_empty() { LIST.to_owned() } else { format!("{LIST}?{}", q.join("&")) }
    };
    let next = next.map(|c| with_filter(&format!("cursor={}", crate::paging::seal(&c))));
    let chips = FILTERS
        .iter()
        .map(|(v, label)| Chip {
            label,
            href: if v.is_empty() { LIST.to_owned() } else { format!("{LIST}?status={v}") },
            current: *v == filter,
        })
        .collect();
    let shell = Shell::load(&state, &viewer, &headers, "Templates", LIST).await;
    let page = ListPage {
        csrf: shell.csrf.clone(),
        rows: items.iter().map(|t| Row::of(t, &shell.tz)).collect(),
        chips,
        filter: (!filter.is_empty()).then_some(filter),
        next,
        shell,
    };
    if hx.0 && more {
        page::html(StatusCode::OK, &RowsFragment { csrf: page.csrf, rows: page.rows, next: page.next })
    } else {
        page::html(StatusCode::OK, &page)
    }
}

/// `GET /app/templates/{id}/row`: a pending row's poll. A decided template's row comes back
/// without the poll; a deleted one stops it (286).
async fn row(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    Path(id): Path<String>,
) -> Response {
    let (template, tz) =
        tokio::join!(templates::get(&state.ports, &tenant_id, &id), page::time_zone(&state, &tenant_id));
    match template {
        Ok(t) => page::html(StatusCode::OK, &RowFragment { csrf: viewer.csrf.clone(), t: Row::of(&t, &tz) }),
        Err(e) if e.kind == Kind::NotFound => StatusCode::from_u16(286).unwrap_or(StatusCode::OK).into_response(),
        Err(e) => page::failed("templates page", e),
    }
}

/// `POST /app/templates/sync`: Meta's templates brought in, with what changed as the toast.
async fn sync(
    State(state): State<AppState>,
    TenantAdmin(_, tenant_id): TenantAdmin,
    hx: Hx,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Response {
    match templates::sync_from_meta(&state.ports, &tenant_id).await {
        Ok(r) => hx.done(
            LIST,
            &format!("Synced with Meta: {} created, {} updated, {} deleted", r.created, r.updated, r.deleted),
        ),
        Err(e) if e.kind == Kind::Internal => page::failed("templates page", e),
        Err(e) => hx.done(LIST, &format!("!Sync failed: {}", sentence(&e.message))),
    }
}

/// `POST /app/templates/library/install`: the platform library's templates this tenant lacks.
async fn install(
    State(state): State<AppState>,
    TenantAdmin(_, tenant_id): TenantAdmin,
    hx: Hx,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> Response {
    match templates::install_library(&state.ports, &tenant_id).await {
        Ok(r) if r.failed.is_empty() => {
            hx.done(LIST, &format!("Library templates: {} installed, {} already here", r.installed, r.skipped))
        }
        Ok(r) => {
            let failures: Vec<String> = r.failed.iter().map(|f| format!("{}: {}", f.name, f.error)).collect();
            hx.done(
                LIST,
                &format!(
                    "!Library templates: {} installed, {} failed ({})",
                    r.installed,
                    r.failed.len(),
                    failures.join("; ")
                ),
            )
        }
        Err(e) if e.kind == Kind::Internal => page::failed("templates page", e),
        Err(e) => hx.done(LIST, &format!("!Install failed: {}", sentence(&e.message))),
    }
}

/// `POST /app/templates/{id}/delete`: confirmed first (console.js's dialog, or the confirmation
/// page without JavaScript).
async fn delete(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let t = match templates::get(&state.ports, &tenant_id, &id).await {
        Ok(t) => t,
        Err(e) if e.kind == Kind::NotFound => return page::not_found_page(),
        Err(e) => return page::failed("templates page", e),
    };
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Delete template", LIST).await;
        return page::confirm_page(
            shell,
            &delete_question(&t.name, &t.language),
            &format!("{LIST}/{id}/delete"),
            "Delete template",
            LIST,
            &[],
        );
    }
    match audit::delete_template(&state.ports, &audit, &tenant_id, &id).await {
        Ok(()) => hx.done(LIST, &format!("Template “{}” deleted", t.name)),
        Err(e) if e.kind == Kind::Internal => page::failed("templates page", e),
        Err(e) => hx.done(LIST, &format!("!The template was not deleted: {}", sentence(&e.message))),
    }
}

pub fn delete_question(name: &str, language: &str) -> String {
    format!(
        "Delete the template “{name}” ({language})? It is deleted in WhatsApp too, and messages can no longer use it."
    )
}

// ---- The builder

/// A language the builder offers (code, name).
pub const LANGUAGES: [(&str, &str); 19] = [
    ("en", "English"),
    ("en_US", "English (US)"),
    ("en_GB", "English (UK)"),
    ("hi", "Hindi"),
    ("bn", "Bengali"),
    ("gu", "Gujarati"),
    ("kn", "Kannada"),
    ("ml", "Malayalam"),
    ("mr", "Marathi"),
    ("pa", "Punjabi"),
    ("ta", "Tamil"),
    ("te", "Telugu"),
    ("ur", "Urdu"),
    ("ar", "Arabic"),
    ("es", "Spanish"),
    ("pt_BR", "Portuguese (Brazil)"),
    ("fr", "French"),
    ("de", "German"),
    ("id", "Indonesian"),
];

#[derive(Template)]
#[template(path = "templates_builder.html", blocks = ["form", "preview"])]
pub struct BuilderPage {
    pub shell: Shell,
    /// The template being edited (its name and language cannot change).
    pub edit: Option<String>,
    pub action: String,
    pub form: Builder,
    pub errors: Errors,
    pub preview: Preview,
    pub issues: Vec<(String, String)>,
    pub phone_name: String,
    /// The examples block as an out-of-band swap (the preview's answer).
    pub oob: bool,
    /// Why the builder cannot edit this template, if it cannot.
    pub unsupported: Option<String>,
    pub kinds: &'static [(&'static str, &'static str)],
    pub header_formats: &'static [(&'static str, &'static str)],
}

impl BuilderPage {
    async fn load(state: &AppState, viewer: &crate::session::Viewer, headers: &HeaderMap, edit: Option<&Tpl>) -> Self {
        let (title, action) = match edit {
            Some(t) => (format!("Edit {}", t.name), format!("{LIST}/{}/edit", t.id)),
            None => ("New template".to_owned(), LIST.to_owned()),
        };
        let shell = Shell::load(state, viewer, headers, &title, LIST).await;
        let phone_name = shell.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        let (form, unsupported) = match edit.map(Builder::from_template) {
            Some(Ok(b)) => (b, None),
            Some(Err(why)) => (Builder::default(), Some(why)),
            None => (Builder::default(), None),
        };
        let mut page = BuilderPage {
            shell,
            edit: edit.map(|t| t.id.clone()),
            action,
            form: Builder::default(),
            errors: Errors::none(),
            preview: Preview::default(),
            issues: Vec::new(),
            phone_name,
            oob: false,
            unsupported,
            kinds: &BUTTON_KINDS,
            header_formats: &HEADER_FORMATS,
        };
        page.set_form(form);
        page
    }

    fn set_form(&mut self, form: Builder) {
        self.preview = form.preview();
        self.issues = form.issues();
        self.form = form;
    }

    /// The language choices, with the form's own value kept when it is not one of ours.
    pub fn languages(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            LANGUAGES.iter().map(|(c, n)| ((*c).to_owned(), format!("{n} ({c})"))).collect();
        if !self.form.language.is_empty() && !LANGUAGES.iter().any(|(c, _)| *c == self.form.language) {
            out.push((self.form.language.clone(), self.form.language.clone()));
        }
        out
    }

    pub fn categories(&self) -> Vec<(&'static str, &'static str)> {
        CATEGORIES.to_vec()
    }

    pub fn phone_initial(&self) -> String {
        page::initials(&self.phone_name, 1)
    }

    pub fn example_rows(&self) -> Vec<ExampleRow> {
        example_rows(&self.form, &self.errors)
    }

    pub fn accept(&self) -> String {
        super::media::accept(self.form.media_kind())
    }

    pub fn button_rows(&self) -> Vec<ButtonRow> {
        self.form
            .buttons
            .iter()
            .enumerate()
            .map(|(i, b)| ButtonRow {
                n: i + 1,
                kind: b.kind.clone(),
                text: b.text.clone(),
                value: b.value.clone(),
                type_field: format!("button_{}_type", i + 1),
                text_field: format!("button_{}_text", i + 1),
                value_field: format!("button_{}_value", i + 1),
            })
            .collect()
    }
}

/// The example fields, an empty one marked while the examples are refused.
fn example_rows(form: &Builder, errors: &Errors) -> Vec<ExampleRow> {
    let refused = errors.get("examples").is_some();
    let fields = form.example_fields();
    let any_empty = fields.iter().any(|f| f.value.trim().is_empty());
    fields
        .into_iter()
        .map(|f| ExampleRow { invalid: refused && (!any_empty || f.value.trim().is_empty()), n: f.n, value: f.value })
        .collect()
}

/// The header's own fields alone (the preview's out-of-band answer when the header type changed):
/// the text and its example's place, or the sample's file input.
#[derive(Template)]
#[template(path = "templates_header.html")]
pub struct HeaderFragment<'a> {
    pub form: &'a Builder,
    pub errors: &'a Errors,
    pub oob: bool,
}

impl HeaderFragment<'_> {
    pub fn accept(&self) -> String {
        super::media::accept(self.form.media_kind())
    }
}

/// The example fields alone (the preview's out-of-band answer when the variables changed).
#[derive(Template)]
#[template(path = "templates_examples.html")]
pub struct ExamplesFragment<'a> {
    pub form: &'a Builder,
    pub errors: &'a Errors,
    pub oob: bool,
}

impl ExamplesFragment<'_> {
    pub fn example_rows(&self) -> Vec<ExampleRow> {
        example_rows(self.form, self.errors)
    }
}

pub struct ExampleRow {
    pub n: usize,
    pub value: String,
    pub invalid: bool,
}

pub struct ButtonRow {
    pub n: usize,
    pub kind: String,
    pub text: String,
    pub value: String,
    pub type_field: String,
    pub text_field: String,
    pub value_field: String,
}

/// `GET /app/templates/new`
async fn new_form(State(state): State<AppState>, TenantAdmin(viewer, _): TenantAdmin, headers: HeaderMap) -> Response {
    page::html(StatusCode::OK, &BuilderPage::load(&state, &viewer, &headers, None).await)
}

/// `GET /app/templates/{id}/edit`
async fn edit_form(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match templates::get(&state.ports, &tenant_id, &id).await {
        Ok(t) => page::html(StatusCode::OK, &BuilderPage::load(&state, &viewer, &headers, Some(&t)).await),
        Err(e) if e.kind == Kind::NotFound => page::not_found_page(),
        Err(e) => page::failed("templates page", e),
    }
}

/// The builder again after a refusal: the form as typed, the errors next to their fields.
async fn refused(
    state: &AppState,
    viewer: &crate::session::Viewer,
    headers: &HeaderMap,
    hx: Hx,
    edit: Option<&Tpl>,
    form: Builder,
    (e, parts): (Error, Vec<Part>),
) -> Response {
    let status = match status_of(&e) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut page = BuilderPage::load(state, viewer, headers, edit).await;
    page.set_form(form);
    page.errors = builder::errors(&e, &parts);
    page::page_or_fragment(hx, status, &page, page.as_form())
}

/// A media header's sample, when a file was chosen: stored as `POST /media` stores it, then sent
/// to Meta's Resumable Upload API (`sample::upload_for`, which refuses a file of another kind);
/// the handle goes into the form, so the HEADER component carries it and a refusal elsewhere
/// keeps it. Without a media header the file input is not there and a file is ignored.
async fn attach_sample(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
    form: &mut Builder,
    file: Option<Result<Upload, Error>>,
) -> Result<(), Error> {
    let (Some(kind), Some(file)) = (form.media_kind(), file) else { return Ok(()) };
    let item = super::media::store(state, tenant_id, user_id, file, "sample").await?;
    form.header_handle = templates::sample::upload_for(&state.ports, tenant_id, &item.id, kind, "sample").await?;
    form.sample_name = item.filename.unwrap_or_default();
    Ok(())
}

/// `POST /app/templates`: submitted for Meta's review.
async fn create(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    CsrfUpload { form: pairs, file }: CsrfUpload<Vec<(String, String)>>,
) -> Response {
    let mut form = Builder::from_pairs(&pairs);
    if let Err(e) = attach_sample(&state, &tenant_id, &viewer.user().id, &mut form, file).await {
        let parts = form.input().1;
        return refused(&state, &viewer, &headers, hx, None, form, (e, parts)).await;
    }
    let (input, parts) = form.input();
    match audit::create_template(&state.ports, &audit, &tenant_id, input).await {
        Ok(_) => hx.done(LIST, "Template submitted for review"),
        Err(e) => refused(&state, &viewer, &headers, hx, None, form, (e, parts)).await,
    }
}

/// `POST /app/templates/{id}/edit`: the API's PATCH (resubmits for review).
async fn edit(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfUpload { form: pairs, file }: CsrfUpload<Vec<(String, String)>>,
) -> Response {
    let t = match templates::get(&state.ports, &tenant_id, &id).await {
        Ok(t) => t,
        Err(e) if e.kind == Kind::NotFound => return page::not_found_page(),
        Err(e) => return page::failed("templates page", e),
    };
    let mut form = Builder::from_pairs(&pairs);
    // The name and language are the template's own: shown, never changed.
    form.name = t.name.clone();
    form.language = t.language.clone();
    if let Err(e) = attach_sample(&state, &tenant_id, &viewer.user().id, &mut form, file).await {
        let parts = form.edit_input().1;
        return refused(&state, &viewer, &headers, hx, Some(&t), form, (e, parts)).await;
    }
    let (input, parts) = form.edit_input();
    match audit::edit_template(&state.ports, &audit, &tenant_id, &id, input).await {
        Ok(_) => hx.done(LIST, "Template resubmitted for review"),
        Err(e) => refused(&state, &viewer, &headers, hx, Some(&t), form, (e, parts)).await,
    }
}

/// `POST /app/templates/preview`: the live preview as the person types (console.js: the preview
/// fragment, plus the example fields or the header's fields out of band when the variables or
/// the header type changed), or without JavaScript the whole builder with the preview updated.
/// A chosen sample file is not uploaded for a preview (the submit does that).
async fn preview(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    CsrfUpload { form: pairs, .. }: CsrfUpload<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let edited = match field("id").filter(|id| !id.is_empty()) {
        Some(id) => match templates::get(&state.ports, &tenant_id, id).await {
            Ok(t) => Some(t),
            Err(e) if e.kind == Kind::NotFound => return page::not_found_page(),
            Err(e) => return page::failed("templates page", e),
        },
        None => None,
    };
    let mut form = Builder::from_pairs(&pairs);
    if let Some(t) = &edited {
        form.name = t.name.clone();
        form.language = t.language.clone();
    }
    let changed = field("shown_vars") != Some(form.variables_signature().as_str());
    let header_changed = field("shown_header").is_some_and(|shown| shown != form.header_signature());
    let mut page = BuilderPage::load(&state, &viewer, &headers, edited.as_ref()).await;
    page.set_form(form);
    if !hx.0 {
        return page::html(StatusCode::OK, &page);
    }
    page.oob = true;
    let mut body = match page.as_preview().render() {
        Ok(b) => b,
        Err(e) => return page::failed("templates page", Error::internal(e)),
    };
    if changed {
        match (ExamplesFragment { form: &page.form, errors: &page.errors, oob: true }).render() {
            Ok(b) => body.push_str(&b),
            Err(e) => return page::failed("templates page", Error::internal(e)),
        }
    }
    if header_changed {
        match (HeaderFragment { form: &page.form, errors: &page.errors, oob: true }).render() {
            Ok(b) => body.push_str(&b),
            Err(e) => return page::failed("templates page", Error::internal(e)),
        }
    }
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}
