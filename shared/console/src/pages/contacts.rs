//! The contacts pages (under /app/contacts): the list (search, tag chips, "Load more"), add and
//! edit (the domain's errors next to the fields), delete after a confirmation naming the contact,
//! and the CSV upload with its import report. Every page calls the same use cases as `/contacts`.

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::audit;
use miping::domain::contacts::import::{Format, ImportReport, InvalidRow};
use miping::domain::contacts::service::{self, CreateInput, PatchInput};
use miping::domain::contacts::{Contact, ContactView};
use miping::domain::{Error, Kind};
use miping::http::audit::Audit;
use miping::http::routes::contacts::IMPORT_BODY_LIMIT;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::forms::{self, CsrfForm, Errors, sentence};
use crate::page::{self, ConfirmForm, Hx, Shell};
use crate::paging;
use crate::session::{TenantAdmin, TenantMember};
use crate::view::{When, number, when};
use miping::domain::zone::Zone;

const PAGE_SIZE: usize = 50;
/// The form's fields, named as the API's so `details[].field` marks them.
const FIELDS: &[&str] = &["phone", "name", "tags", "attributes", "opted_out"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/new", get(new_form))
        .route("/import", get(import_form).post(upload).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)))
        .route("/{id}", get(edit_form).post(update))
        .route("/{id}/delete", post(delete))
}

// --- the list -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    cursor: Option<String>,
}

impl ListQuery {
    /// This list's URL with `tag` (and the search kept).
    fn with_tag(&self, tag: &str) -> String {
        paging::href("/app/contacts", &[("q", self.q.trim()), ("tag", tag)])
    }
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub tags: Vec<String>,
    pub opted_out: bool,
    pub created: When,
}

impl Row {
    fn of(c: ContactView, tz: &Zone) -> Self {
        Row {
            phone: c.phone.or(c.username).or(c.wa_user_id).unwrap_or_default(),
            name: c.name.unwrap_or_default(),
            id: c.id,
            tags: c.tags,
            opted_out: c.opted_out,
            created: when(c.created_at, tz),
        }
    }
}

pub struct Chip {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// The rows after a "Load more" (the table's body, without the page around it).
#[derive(Template)]
#[template(path = "contacts_rows.html")]
pub struct Rows<'a> {
    pub rows: &'a [Row],
    pub more: &'a Option<String>,
}

#[derive(Template)]
#[template(path = "contacts_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub q: String,
    pub tag: String,
    pub chips: Vec<Chip>,
    pub rows: Vec<Row>,
    /// The next page's URL.
    pub more: Option<String>,
    pub errors: Errors,
    /// The table shows a continuation page (no empty state there).
    pub continued: bool,
    /// An admin (imports are theirs; an agent adds and edits only: SPEC → Roles).
    pub admin: bool,
}

impl ListPage {
    fn filtered(&self) -> bool {
        !self.q.trim().is_empty() || !self.tag.trim().is_empty()
    }
}

async fn list(
    State(state): State<AppState>,
    TenantMember(viewer, tenant_id): TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Query(query): Query<ListQuery>,
) -> Response {
    let cursor = match paging::open(query.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let continued = cursor.is_some();
    let (shell, tags) = tokio::join!(
        Shell::load(&state, &viewer, &headers, "Contacts", "/app/contacts"),
        tags_in_use(&state, &tenant_id)
    );
    let mut chips = vec![Chip { label: "All".into(), href: query.with_tag(""), current: query.tag.trim().is_empty() }];
    let active = query.tag.trim().to_lowercase();
    let mut shown: BTreeSet<String> = tags;
    if !active.is_empty() {
        shown.insert(active.clone());
    }
    chips.extend(shown.into_iter().map(|t| Chip { href: query.with_tag(&t), current: t == active, label: t }));

    let mut page = ListPage {
        shell,
        q: query.q.clone(),
        tag: query.tag.clone(),
        chips,
        rows: Vec::new(),
        more: None,
        errors: Errors::none(),
        continued,
        admin: viewer.role() == miping::domain::user::Role::TenantAdmin,
    };
    let filter = match service::list_filter(Some(&query.tag), Some(&query.q)) {
        Ok(f) => f,
        Err(e) => {
            page.errors = Errors::from_error(&e, &["q", "tag"]);
            return page::page_or_fragment(
                hx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &page,
                Rows { rows: &page.rows, more: &page.more },
            );
        }
    };
    match service::list(&state.ports, &tenant_id, &filter, PAGE_SIZE, cursor).await {
        Ok((items, next)) => {
            let tz = &page.shell.tz;
            page.rows = items.into_iter().map(|c| Row::of(c, tz)).collect();
            page.more = next.map(|c| {
                paging::href(
                    "/app/contacts",
                    &[("q", query.q.trim()), ("tag", query.tag.trim()), ("cursor", &paging::seal(&c))],
                )
            });
            page::page_or_fragment(hx, StatusCode::OK, &page, Rows { rows: &page.rows, more: &page.more })
        }
        Err(e) => paging::list_failed(&e),
    }
}

/// The tags in use, for the filter chips.
async fn tags_in_use(state: &AppState, tenant_id: &str) -> BTreeSet<String> {
    match service::tags_in_use(&state.ports, tenant_id).await {
        Ok(tags) => tags.into_iter().collect(),
        Err(e) => {
            tracing::error!(error = %e.message, "contact tags failed to load");
            BTreeSet::new()
        }
    }
}

// --- add and edit ---------------------------------------------------------------------------

/// The contact form as posted (and as shown again after a refusal).
#[derive(Deserialize, Default, Clone)]
pub struct ContactForm {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub name: String,
    /// "parents, batch-2026" (commas or semicolons).
    #[serde(default)]
    pub tags: String,
    /// `key=value` lines.
    #[serde(default)]
    pub attributes: String,
    #[serde(default)]
    pub opted_out: Option<String>,
}

impl ContactForm {
    fn of(c: &Contact) -> Self {
        let attributes = c
            .attributes
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join("\n");
        ContactForm {
            phone: c.phone.clone().or_else(|| c.username.clone()).or_else(|| c.wa_user_id.clone()).unwrap_or_default(),
            name: c.name.clone().unwrap_or_default(),
            tags: c.tags.join(", "),
            attributes,
            opted_out: c.opted_out.then(|| "1".into()),
        }
    }

    fn opted_out(&self) -> bool {
        self.opted_out.is_some()
    }

    fn tag_list(&self) -> Vec<String> {
        self.tags.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
    }

    /// The `key=value` lines as attributes (the domain checks names and values); a line without
    /// `=` is the one thing the form itself refuses, since only the form has lines.
    fn attribute_map(&self) -> Result<Map<String, Value>, Errors> {
        let mut out = Map::new();
        for (i, line) in self.attributes.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                let text = format!("line {}: write each attribute as name=value", i + 1);
                return Err(Errors::none().field("attributes", text));
            };
            out.insert(k.trim().to_owned(), Value::String(v.trim().to_owned()));
        }
        Ok(out)
    }
}

/// A contact as a person names it: "Asha Rao (+919876543210)".
fn label(c: &Contact) -> String {
    let id = c.phone.as_deref().or(c.username.as_deref()).or(c.wa_user_id.as_deref()).unwrap_or(&c.id);
    match &c.name {
        Some(name) => format!("{name} ({id})"),
        None => id.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "contacts_form.html", blocks = ["form"])]
pub struct FormPage {
    pub shell: Shell,
    /// Editing this contact: (id, how it is named); adding a new one otherwise.
    pub editing: Option<(String, String)>,
    pub form: ContactForm,
    pub errors: Errors,
    /// An admin (deleting is theirs: SPEC → Roles).
    pub admin: bool,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.editing {
            Some((id, _)) => format!("/app/contacts/{id}"),
            None => "/app/contacts".into(),
        }
    }
}

async fn form_page(
    state: &AppState,
    viewer: &crate::session::Viewer,
    headers: &HeaderMap,
    editing: Option<(String, String)>,
    form: ContactForm,
    errors: Errors,
) -> FormPage {
    let title = if editing.is_some() { "Edit contact" } else { "Add contact" };
    let shell = Shell::load(state, viewer, headers, title, "/app/contacts").await;
    FormPage { shell, editing, form, errors, admin: viewer.role() == miping::domain::user::Role::TenantAdmin }
}

async fn new_form(
    State(state): State<AppState>,
    TenantMember(viewer, _): TenantMember,
    headers: HeaderMap,
) -> Response {
    let page = form_page(&state, &viewer, &headers, None, ContactForm::default(), Errors::none()).await;
    page::html(StatusCode::OK, &page)
}

/// The form again with the refusal next to its fields (a 5xx is the error page).
async fn refused(
    state: &AppState,
    viewer: &crate::session::Viewer,
    headers: &HeaderMap,
    hx: Hx,
    editing: Option<(String, String)>,
    form: ContactForm,
    e: Result<Error, (StatusCode, Errors)>,
) -> Response {
    let (status, errors) = match e {
        Ok(e) if e.kind == Kind::NotFound => return page::not_found_page(),
        Ok(e) => match forms::status_of(&e) {
            Ok(status) => (status, Errors::from_error(&e, FIELDS)),
            Err(r) => return r,
        },
        Err(pair) => pair,
    };
    let page = form_page(state, viewer, headers, editing, form, errors).await;
    page::page_or_fragment(hx, status, &page, page.as_form())
}

async fn create(
    State(state): State<AppState>,
    TenantMember(viewer, tenant_id): TenantMember,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<ContactForm>,
) -> Response {
    let attributes = match form.attribute_map() {
        Ok(a) => a,
        Err(errors) => {
            let e = Err((StatusCode::UNPROCESSABLE_ENTITY, errors));
            return refused(&state, &viewer, &headers, hx, None, form, e).await;
        }
    };
    let input = CreateInput {
        phone: Some(form.phone.clone()),
        name: Some(form.name.clone()),
        attributes: Some(attributes),
        tags: Some(form.tag_list()),
    };
    let contact = match service::create(&state.ports, &tenant_id, input).await {
        Ok(c) => c,
        Err(e) => return refused(&state, &viewer, &headers, hx, None, form, Ok(e)).await,
    };
    // Creating takes no opt-out (a new contact has not opted out through us); a box ticked on
    // the form is recorded as the change right after.
    if form.opted_out() {
        let opt_out = PatchInput { opted_out: Some(true), ..PatchInput::default() };
        if let Err(e) = service::patch(&state.ports, &tenant_id, &contact.id, opt_out).await {
            return page::failed("a new contact's opt-out recording", e);
        }
    }
    hx.done("/app/contacts", &format!("Contact {} added", label(&contact)))
}

/// The contact, or the answer a page gives when it cannot be read (404 for another tenant's id).
async fn load(state: &AppState, tenant_id: &str, id: &str) -> Result<Contact, Response> {
    match service::get(&state.ports, tenant_id, id).await {
        Ok(c) => Ok(c),
        Err(e) if e.kind == Kind::NotFound => Err(page::not_found_page()),
        Err(e) => Err(page::failed("a contact", e)),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    TenantMember(viewer, tenant_id): TenantMember,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let contact = match load(&state, &tenant_id, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let editing = Some((contact.id.clone(), label(&contact)));
    let page = form_page(&state, &viewer, &headers, editing, ContactForm::of(&contact), Errors::none()).await;
    page::html(StatusCode::OK, &page)
}

async fn update(
    State(state): State<AppState>,
    TenantMember(viewer, tenant_id): TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(mut form): CsrfForm<ContactForm>,
) -> Response {
    let current = match load(&state, &tenant_id, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let editing = Some((current.id.clone(), label(&current)));
    // The phone is shown, not posted: a contact's identity does not change.
    form.phone = ContactForm::of(&current).phone;
    let mut attributes = match form.attribute_map() {
        Ok(a) => a,
        Err(errors) => {
            let e = Err((StatusCode::UNPROCESSABLE_ENTITY, errors));
            return refused(&state, &viewer, &headers, hx, editing, form, e).await;
        }
    };
    // A line removed from the form removes the attribute (PATCH merges; null deletes).
    for key in current.attributes.keys() {
        attributes.entry(key.clone()).or_insert(Value::Null);
    }
    let input = PatchInput {
        name: Some(Some(form.name.clone())),
        attributes: Some(attributes),
        tags: Some(form.tag_list()),
        opted_out: Some(form.opted_out()),
        opt_out_source: None,
        phone_given: false,
    };
    match service::patch(&state.ports, &tenant_id, &id, input).await {
        Ok(c) => hx.done("/app/contacts", &format!("Contact {} saved", label(&c))),
        Err(e) => refused(&state, &viewer, &headers, hx, editing, form, Ok(e)).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let contact = match load(&state, &tenant_id, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let name = label(&contact);
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Delete contact", "/app/contacts").await;
        let question = delete_question(&name);
        let back = format!("/app/contacts/{id}");
        return page::confirm_page(shell, &question, &format!("{back}/delete"), "Delete contact", &back, &[]);
    }
    match audit::delete_contact(&state.ports, &audit, &tenant_id, &id).await {
        Ok(()) => hx.done("/app/contacts", &format!("Contact {name} deleted")),
        Err(e) if e.kind == Kind::NotFound => page::not_found_page(),
        Err(e) => page::failed("a contact's deletion", e),
    }
}

/// The confirmation's question (the dialog's with JavaScript, the page's without).
pub fn delete_question(name: &str) -> String {
    format!("Delete the contact “{name}”? Their details and tags are removed; messages already sent stay in the log.")
}

// --- import ---------------------------------------------------------------------------------

/// An import's outcome as the page shows it.
pub struct Report {
    pub imported: String,
    pub updated: String,
    pub skipped: String,
    pub invalid_count: String,
    pub invalid: Vec<InvalidRow>,
    /// Invalid rows counted but not listed (the report lists the first ones).
    pub unlisted: String,
}

impl From<ImportReport> for Report {
    fn from(r: ImportReport) -> Self {
        let unlisted = r.invalid_count.saturating_sub(r.invalid.len() as u64);
        Report {
            imported: number(r.imported),
            updated: number(r.updated),
            skipped: number(r.skipped_duplicates),
            invalid_count: number(r.invalid_count),
            invalid: r.invalid,
            unlisted: if unlisted > 0 { number(unlisted) } else { String::new() },
        }
    }
}

#[derive(Template)]
#[template(path = "contacts_import.html")]
pub struct ImportPage {
    pub shell: Shell,
    pub errors: Errors,
    pub report: Option<Report>,
}

async fn import_page(
    state: &AppState,
    viewer: &crate::session::Viewer,
    headers: &HeaderMap,
    status: StatusCode,
    errors: Errors,
    report: Option<Report>,
) -> Response {
    let shell = Shell::load(state, viewer, headers, "Import contacts", "/app/contacts").await;
    page::html(status, &ImportPage { shell, errors, report })
}

async fn import_form(
    State(state): State<AppState>,
    TenantAdmin(viewer, _): TenantAdmin,
    headers: HeaderMap,
) -> Response {
    import_page(&state, &viewer, &headers, StatusCode::OK, Errors::none(), None).await
}

/// What a multipart upload carried: the `_csrf` field and the file.
struct Upload {
    csrf: Option<String>,
    file: Option<Bytes>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, Response> {
    let mut upload = Upload { csrf: None, file: None };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(upload),
            Err(e) => return Err(upload_refused(e.status())),
        };
        match field.name() {
            Some(crate::csrf::FIELD) => upload.csrf = field.text().await.ok(),
            Some("file") => upload.file = Some(field.bytes().await.map_err(|e| upload_refused(e.status()))?),
            _ => {}
        }
    }
}

fn upload_refused(status: StatusCode) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let text =
            format!("Files up to {} MB can be imported. Split the file and import the parts.", IMPORT_BODY_LIMIT >> 20);
        page::message_page(status, "The file is too large", &text)
    } else {
        page::message_page(
            StatusCode::BAD_REQUEST,
            "The upload could not be read",
            "Go back, choose the file again and retry.",
        )
    }
}

async fn upload(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let upload = match multipart {
        Ok(m) => match read_upload(m).await {
            Ok(u) => u,
            Err(r) => return r,
        },
        Err(_) => return upload_refused(StatusCode::BAD_REQUEST),
    };
    if let Err(r) = forms::check(&state, &headers, upload.csrf.as_deref()) {
        return r;
    }
    let Some(file) = upload.file.filter(|f| !f.is_empty()) else {
        let errors = Errors::none().field("file", "Choose a CSV file to import.");
        return import_page(&state, &viewer, &headers, StatusCode::UNPROCESSABLE_ENTITY, errors, None).await;
    };
    match audit::import_contacts(&state.ports, &audit, &tenant_id, Format::Csv, file).await {
        Ok(report) => import_page(&state, &viewer, &headers, StatusCode::OK, Errors::none(), Some(report.into())).await,
        Err(e) => {
            let status = match forms::status_of(&e) {
                Ok(s) => s,
                Err(r) => return r,
            };
            // The file is the only field: what is wrong with it is said next to it.
            let errors = Errors::none().field("file", sentence(&e.message));
            import_page(&state, &viewer, &headers, status, errors, None).await
        }
    }
}
