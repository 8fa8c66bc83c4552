//! The campaigns pages (under /app/campaigns): the list, the wizard (one form that works without
//! JavaScript; console.js refreshes its live part — recipients, variables, preview, cost — as the
//! person chooses), the live progress page and the cancel.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::future::join_all;
use miping::app::AppState;
use miping::domain::audit;
use miping::domain::campaigns::create::{AudienceInput, CreateInput, TemplateInput};
use miping::domain::campaigns::estimate::{self, AudienceEstimate, Budget};
use miping::domain::campaigns::mapping::Mapping;
use miping::domain::campaigns::test_send::{self, TestSendInput};
use miping::domain::campaigns::{Audience, Campaign, CampaignStatus, StatusCounts, counters, report};
use miping::domain::contacts::Contact;
use miping::domain::media::MediaKind;
use miping::domain::messages::header::{self, HeaderInput};
use miping::domain::templates::model::{ParameterFormat, Template as WaTemplate};
use miping::domain::templates::schema::{ParamSchema, Slot};
use miping::domain::{Error, FieldError};
use miping::http::audit::Audit;
use miping::http::routes::media::UPLOAD_BODY_LIMIT;
use miping::store::campaigns::Campaigns;
use miping::store::contacts::{Contacts, ListFilter as ContactFilter};
use miping::store::templates::Templates;
use serde_json::Value;

use crate::forms::{CsrfForm, CsrfUpload, Errors, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell};
use crate::session::TenantAdmin;
use crate::view::{When, campaign_badge, number, when};
use miping::domain::zone::Zone;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        // The wizard is multipart (a media header's file): up to WhatsApp's largest.
        .route("/new", get(new_form).post(create).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/new/estimate", post(estimate).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/{id}", get(show))
        .route("/{id}/progress", get(progress))
        .route("/{id}/cancel", post(cancel_campaign))
        .route("/{id}/retry-failed", post(retry_failed))
        .route("/{id}/recipients.csv", get(export))
}

const PAGE_SIZE: usize = 25;

// --- list ------------------------------------------------------------------------------------

/// One campaign as a row or a card.
pub struct Row {
    pub id: String,
    pub name: String,
    pub template: String,
    pub badge: (&'static str, &'static str),
    /// Recipients whose message left (sent, delivered, read or failed), of the audience.
    pub done: u64,
    pub total: u64,
    pub progress_text: String,
    pub created: When,
}

impl Row {
    pub fn of(c: &Campaign, n: &StatusCounts, tz: &Zone) -> Self {
        let total = u64::try_from(c.total).unwrap_or(0);
        let done =
            u64::try_from(n.sent + n.delivered + n.read + n.failed + c.skipped_opted_out + c.skipped_missing_data)
                .unwrap_or(0)
                .min(total);
        Row {
            id: c.id.clone(),
            name: c.name.clone(),
            template: c.template.name.clone(),
            badge: campaign_badge(c.status),
            done,
            total,
            progress_text: format!("{} of {}", number(done), number(total)),
            created: when(c.created_at, tz),
        }
    }
}

/// A tenant's campaigns with their live counts, one page, newest first.
pub async fn rows(
    state: &AppState,
    tenant_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<(Campaign, StatusCounts)>, Option<String>), miping::domain::Error> {
    let (items, next) = Campaigns::new(&*state.ports.table).page(tenant_id, limit, cursor).await?;
    let counts = join_all(items.iter().map(|c| counters::read(&state.ports, tenant_id, &c.id))).await;
    let mut out = Vec::with_capacity(items.len());
    for (c, n) in items.into_iter().zip(counts) {
        out.push((c, n?));
    }
    Ok((out, next))
}

#[derive(Template)]
#[template(path = "campaigns_list.html", blocks = ["rows"])]
pub struct ListPage {
    pub shell: Shell,
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

/// `GET /app/campaigns`
async fn list(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(q): Query<crate::paging::CursorQuery>,
) -> Response {
    let cursor = match crate::paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let more = cursor.is_some();
    let (items, next) = match rows(&state, &tenant_id, PAGE_SIZE, cursor).await {
        Ok(v) => v,
        Err(e) => return page::failed("campaigns page", &e),
    };
    let shell = Shell::load(&state, &viewer, &headers, "Campaigns", "/app/campaigns").await;
    let page = ListPage {
        rows: items.iter().map(|(c, n)| Row::of(c, n, &shell.tz)).collect(),
        shell,
        next: next.as_deref().map(crate::paging::seal),
    };
    // "Load more" asks for the next rows only.
    page::page_or_fragment(Hx(hx.0 && more), StatusCode::OK, &page, page.as_rows())
}

// --- the wizard ------------------------------------------------------------------------------

/// One `{{n}}` of the template: how the person filled it.
#[derive(Clone, Debug, Default)]
pub struct VarChoice {
    /// 1-based, as the field names (`var_kind_1`).
    pub n: usize,
    pub label: String,
    /// `name` | `phone` | `attribute` | `literal`
    pub kind: String,
    pub value: String,
}

/// What the form holds (posted, or a new form's defaults).
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub name: String,
    /// `name|language` of an approved template.
    pub template: String,
    /// `all` | `tags` | `contacts`
    pub audience: String,
    pub tags: Vec<String>,
    pub contact_ids: Vec<String>,
    pub vars: Vec<VarChoice>,
    /// `now` | `later`
    pub when: String,
    /// `datetime-local`, in the tenant's time zone.
    pub schedule_at: String,
    /// A media-header template's header: `file` (one file for everyone) or `link`.
    pub header_source: String,
    /// The file stored for it (`POST /media`'s id), kept across the form's re-renders.
    pub header_media_id: String,
    pub header_filename: String,
    /// An `https://` link, or `{{contact.attributes.<key>}}` (each recipient's own).
    pub header_link: String,
    /// "Send a test" to this number.
    pub test_to: String,
}

impl Draft {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let many = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        let mut vars = Vec::new();
        for n in 1.. {
            let kind = pairs.iter().find(|(k, _)| *k == format!("var_kind_{n}"));
            let Some((_, kind)) = kind else { break };
            vars.push(VarChoice { n, label: String::new(), kind: kind.clone(), value: one(&format!("var_value_{n}")) });
        }
        Draft {
            name: one("name"),
            template: one("template"),
            audience: one("audience"),
            tags: many("tags"),
            contact_ids: many("contact_ids"),
            vars,
            when: one("when"),
            schedule_at: one("schedule_at"),
            header_source: one("header_source"),
            header_media_id: one("header_media_id"),
            header_filename: one("header_filename"),
            header_link: one("header_link"),
            test_to: one("test_to"),
        }
    }

    fn header_by_link(&self) -> bool {
        self.header_source == "link"
    }

    /// The API's `header` for a template whose header is a `kind`: the stored file or the link,
    /// whichever the person chose (neither: the domain says one is required).
    fn header(&self, kind: MediaKind) -> HeaderInput {
        let given = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        HeaderInput {
            kind: Some(kind.as_str().to_owned()),
            media_id: if self.header_by_link() { None } else { given(&self.header_media_id) },
            link: if self.header_by_link() { given(&self.header_link) } else { None },
            filename: None,
        }
    }

    fn template_ref(&self) -> Option<(&str, &str)> {
        self.template.split_once('|')
    }

    /// The audience when the choice is complete enough to count.
    fn audience(&self) -> Option<Audience> {
        match self.audience.as_str() {
            "all" => Some(Audience { all: true, ..Audience::default() }),
            "tags" if !self.tags.is_empty() => Some(Audience { tags: self.tags.clone(), ..Audience::default() }),
            "contacts" if !self.contact_ids.is_empty() => {
                Some(Audience { contact_ids: self.contact_ids.clone(), ..Audience::default() })
            }
            _ => None,
        }
    }

    /// The API's `variables`: `{{contact.name}}`, `{{contact.attributes.city}}`, or the literal.
    fn variables(&self) -> Vec<Value> {
        self.vars
            .iter()
            .map(|v| match v.kind.as_str() {
                "name" => "{{contact.name}}".to_owned(),
                "phone" => "{{contact.phone}}".to_owned(),
                "attribute" => format!("{{{{contact.attributes.{}}}}}", v.value.trim()),
                _ => v.value.clone(),
            })
            .map(Value::String)
            .collect()
    }

    fn template_input(&self) -> TemplateInput {
        match self.template_ref() {
            Some((n, l)) => TemplateInput { name: Some(n.to_owned()), language: Some(l.to_owned()) },
            None => TemplateInput { name: None, language: None },
        }
    }

    /// The body of `POST /campaigns/test-send` ("Send a test"), filled from `first` (the first
    /// recipient) as the campaign would fill it.
    fn test_input(&self, header: Option<MediaKind>, first: Option<String>) -> TestSendInput {
        TestSendInput {
            to: Some(self.test_to.trim().to_owned()),
            template: Some(self.template_input()),
            variables: Some(self.variables()),
            header: header.map(|k| self.header(k)),
            contact_id: first,
        }
    }

    /// The body of `POST /campaigns`, so the domain's own checks (and their `details`) apply.
    /// `header`: the chosen template's media header, if it has one.
    fn input(&self, tz: &Zone, header: Option<MediaKind>) -> CreateInput {
        let audience = match self.audience.as_str() {
            "all" => Some(AudienceInput { all: Some(true), ..AudienceInput::default() }),
            "tags" => Some(AudienceInput { tags: Some(self.tags.clone()), ..AudienceInput::default() }),
            "contacts" => {
                Some(AudienceInput { contact_ids: Some(self.contact_ids.clone()), ..AudienceInput::default() })
            }
            _ => None,
        };
        // `datetime-local` has no zone: it is the tenant's (the label says which). A value that
        // is no such time goes to the domain as typed, which names the field.
        let schedule_at = (self.when == "later").then(|| {
            let t = self.schedule_at.trim();
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
                .ok()
                .and_then(|local| tz.earliest(local))
                .map_or_else(|| t.to_owned(), |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        });
        CreateInput {
            name: Some(self.name.clone()),
            template: Some(self.template_input()),
            audience,
            variables: Some(self.variables()),
            header: header.map(|k| self.header(k)),
            schedule_at,
        }
    }
}

/// The form's fields that a use case's `details` can name (`template.name` marks `template`,
/// `variables[1]` marks `variables`, `audience.tags` marks `audience`).
const FIELDS: &[&str] = &["name", "template", "audience", "variables", "header", "schedule_at", "test_to"];

/// The header picker (a media-header template's file or link), outside the live part so a chosen
/// file survives its updates; console.js swaps it (out of band) when the template's header kind
/// changes.
pub struct Picker {
    pub kind: Option<MediaKind>,
    pub draft_source: String,
    pub media_id: String,
    pub filename: String,
    pub link: String,
    pub error: Option<String>,
}

impl Picker {
    fn of(kind: Option<MediaKind>, draft: &Draft, errors: &Errors) -> Self {
        Picker {
            kind,
            draft_source: if draft.header_by_link() { "link".into() } else { "file".into() },
            media_id: draft.header_media_id.clone(),
            filename: draft.header_filename.clone(),
            link: draft.header_link.clone(),
            error: errors.get("header").map(str::to_owned),
        }
    }

    /// `shown_header`: the kind the picker was rendered for.
    pub fn signature(&self) -> &'static str {
        self.kind.map_or("", MediaKind::as_str)
    }

    pub fn accept(&self) -> String {
        super::media::accept(self.kind)
    }

    pub fn label(&self) -> &'static str {
        self.kind.map_or("", crate::view::media_label)
    }
}

#[derive(Template)]
#[template(path = "campaigns_header.html")]
pub struct PickerFragment<'a> {
    pub picker: &'a Picker,
    pub oob: bool,
}

/// A choice in a list of checkboxes or options.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// The live part of the wizard: recomputed on every change.
pub struct Live {
    pub vars: Vec<VarChoice>,
    pub estimate: Option<AudienceEstimate>,
    pub budget: Option<Budget>,
    /// The first recipient's message: text pieces, `(text, is_variable, missing)`.
    pub preview: Vec<(String, bool, bool)>,
    /// Its media header: what it carries for the first recipient.
    pub preview_header: Option<String>,
    pub first_name: String,
}

impl Live {
    pub fn recipients(&self) -> String {
        self.estimate.as_ref().map(|e| number(e.recipients())).unwrap_or_default()
    }
    pub fn opted_out(&self) -> String {
        self.estimate.as_ref().map(|e| number(e.opted_out)).unwrap_or_default()
    }
    pub fn exact(&self) -> bool {
        self.estimate.as_ref().is_none_or(|e| e.exact)
    }
    pub fn quota_left(&self) -> Option<String> {
        self.budget.as_ref().and_then(|b| b.quota_left).map(number)
    }
    pub fn over_quota(&self) -> bool {
        match (&self.estimate, self.budget.as_ref().and_then(|b| b.quota_left)) {
            (Some(e), Some(left)) => e.total > left,
            _ => false,
        }
    }
    pub fn cost(&self) -> Option<(String, String)> {
        self.budget.as_ref().and_then(|b| b.credits).map(|(cost, balance)| (cost.to_string(), balance.to_string()))
    }
}

#[derive(Template)]
#[template(path = "campaigns_new.html", blocks = ["form", "live"])]
pub struct NewPage {
    pub shell: Shell,
    pub draft: Draft,
    pub templates: Vec<Choice>,
    pub tags: Vec<Choice>,
    pub contacts: Vec<Choice>,
    pub live: Live,
    pub picker: Picker,
    pub errors: Errors,
    /// Rendering for the page (not an out-of-band swap).
    pub oob: bool,
    /// What "Send a test" did ("Test sent to …").
    pub notice: Option<String>,
}

/// Contacts offered for a hand-picked audience (larger ones are tags or everyone).
const PICKABLE_CONTACTS: usize = 50;

impl NewPage {
    async fn load(
        state: &AppState,
        shell: Shell,
        tenant_id: &str,
        mut draft: Draft,
        errors: Errors,
    ) -> Result<Self, miping::domain::Error> {
        let approved = Templates::new(&*state.ports.table).page(tenant_id, Some("APPROVED"), 100, None).await?.0;
        let chosen =
            draft.template_ref().and_then(|(n, l)| approved.iter().find(|t| t.name == n && t.language == l)).cloned();
        if chosen.is_none() && draft.template.is_empty() && approved.len() == 1 {
            draft.template = format!("{}|{}", approved[0].name, approved[0].language);
            return Box::pin(Self::load(state, shell, tenant_id, draft, errors)).await;
        }
        let contacts = Contacts::new(&*state.ports.table);
        let filter = ContactFilter::default();
        let (recent, _) = contacts.list(tenant_id, &filter, PICKABLE_CONTACTS, None).await?;
        let tags = miping::domain::contacts::service::tags_in_use(&state.ports, tenant_id).await?;
        let live = live(state, tenant_id, &mut draft, chosen.as_ref()).await?;
        let kind = chosen.as_ref().and_then(|t| header::media_header(&t.parameters));
        Ok(NewPage {
            picker: Picker::of(kind, &draft, &errors),
            oob: false,
            notice: None,
            templates: approved
                .iter()
                .map(|t| {
                    let value = format!("{}|{}", t.name, t.language);
                    Choice { checked: value == draft.template, label: format!("{} ({})", t.name, t.language), value }
                })
                .collect(),
            tags: tags
                .into_iter()
                .map(|t| Choice { checked: draft.tags.contains(&t), label: t.clone(), value: t })
                .collect(),
            contacts: recent
                .iter()
                .map(|c| Choice {
                    checked: draft.contact_ids.contains(&c.id),
                    label: contact_label(c),
                    value: c.id.clone(),
                })
                .collect(),
            shell,
            draft,
            live,
            errors,
        })
    }
}

fn contact_label(c: &Contact) -> String {
    match (c.name.as_deref(), c.phone.as_deref()) {
        (Some(n), Some(p)) => format!("{n} ({p})"),
        (Some(n), None) => n.to_owned(),
        (None, Some(p)) => p.to_owned(),
        (None, None) => c.id.clone(),
    }
}

/// The variables the template takes (labelled as the person sees them), the audience's count,
/// what it would use, and the first recipient's message.
async fn live(
    state: &AppState,
    tenant_id: &str,
    draft: &mut Draft,
    template: Option<&WaTemplate>,
) -> Result<Live, miping::domain::Error> {
    let Some(template) = template else {
        draft.vars.clear();
        let estimate = match draft.audience() {
            Some(a) => Some(estimate::audience(&state.ports, tenant_id, &a).await?),
            None => None,
        };
        return Ok(Live {
            vars: Vec::new(),
            estimate,
            budget: None,
            preview: Vec::new(),
            preview_header: None,
            first_name: String::new(),
        });
    };
    // A media header is the picker's, not a variable.
    let schema = &header::without_header(&template.parameters);
    let mut body_n = 0;
    let mut vars = Vec::with_capacity(schema.count);
    for (i, v) in schema.variables.iter().take(schema.count).enumerate() {
        let label = match (v.component, &v.name) {
            (_, Some(name)) => format!("{{{{{name}}}}}"),
            (Slot::Body, None) => {
                body_n += 1;
                format!("{{{{{body_n}}}}}")
            }
            (Slot::Header, None) => "Header variable".to_owned(),
            (Slot::Button, None) => format!("Button {} variable", v.index.unwrap_or(0) + 1),
        };
        let previous = draft.vars.get(i).cloned().unwrap_or_default();
        let kind = if previous.kind.is_empty() { "literal".to_owned() } else { previous.kind };
        vars.push(VarChoice { n: i + 1, label, kind, value: previous.value });
    }
    draft.vars = vars.clone();
    let estimate = match draft.audience() {
        Some(a) => Some(estimate::audience(&state.ports, tenant_id, &a).await?),
        None => None,
    };
    let budget = match &estimate {
        Some(e) => Some(
            estimate::budget(
                &state.ports,
                &state.prices,
                tenant_id,
                &template.category.to_ascii_lowercase(),
                e.recipients(),
            )
            .await?,
        ),
        None => None,
    };
    let first = estimate.as_ref().and_then(|e| e.first.as_ref());
    let values: Vec<Option<String>> = draft
        .variables()
        .iter()
        .map(|v| match (Mapping::parse(v), first) {
            (Ok(Mapping::Literal(Value::String(s))), _) => Some(s),
            (Ok(m), Some(c)) => m.render(c).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())),
            _ => None,
        })
        .collect();
    let preview_header = header::media_header(&template.parameters).map(|kind| {
        let label = crate::view::media_label(kind);
        match (draft.header_by_link(), draft.header_link.trim(), draft.header_media_id.is_empty()) {
            (true, "", _) | (false, _, true) => format!("{label}: not chosen yet"),
            (true, link, _) => {
                let rendered = match (Mapping::parse(&Value::String(link.to_owned())), first) {
                    (Ok(Mapping::Literal(_)), _) => Some(link.to_owned()),
                    (Ok(m), Some(c)) => m.render(c).and_then(|v| v.as_str().map(str::to_owned)),
                    _ => None,
                };
                match rendered {
                    Some(url) => format!("{label} from {url}"),
                    None => format!("{label} from {link} (no value for this recipient)"),
                }
            }
            (false, _, false) => format!("{label}: {}", draft.header_filename),
        }
    });
    Ok(Live {
        preview: render_body(template, schema, &values),
        preview_header,
        first_name: first.map(contact_label).unwrap_or_default(),
        vars,
        estimate,
        budget,
    })
}

/// The template's body with its body variables filled (a missing one shows its placeholder);
/// `schema`: the template's variables as `values` has them (without a media header).
fn render_body(template: &WaTemplate, schema: &ParamSchema, values: &[Option<String>]) -> Vec<(String, bool, bool)> {
    let body = template
        .components
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("BODY"))))
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default();
    let positions: Vec<usize> =
        schema.variables.iter().filter(|v| v.component == Slot::Body).map(|v| v.position - 1).collect();
    let mut out = Vec::new();
    let mut from = 0;
    for (k, ph) in miping::domain::templates::validate::placeholders(body).iter().enumerate() {
        out.push((body[from..ph.start].to_owned(), false, false));
        let index = match template.parameter_format {
            ParameterFormat::Positional => {
                ph.token.parse::<usize>().ok().and_then(|n| positions.get(n.wrapping_sub(1)))
            }
            ParameterFormat::Named => positions.get(k),
        };
        match index.and_then(|i| values.get(*i)).cloned().flatten() {
            Some(v) => out.push((v, true, false)),
            None => out.push((body[ph.start..ph.end].to_owned(), true, true)),
        }
        from = ph.end;
    }
    out.push((body[from..].to_owned(), false, false));
    out
}

/// `GET /app/campaigns/new`
async fn new_form(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "New campaign", "/app/campaigns").await;
    let draft = Draft { audience: "all".into(), when: "now".into(), ..Draft::default() };
    match NewPage::load(&state, shell, &tenant_id, draft, Errors::none()).await {
        Ok(page) => page::html(StatusCode::OK, &page),
        Err(e) => page::failed("campaigns page", &e),
    }
}

/// `POST /app/campaigns/new/estimate`: the live part for console.js, and the header picker out
/// of band when the template's header kind changed (console.js never sends a file with it).
async fn estimate(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    CsrfUpload { form: pairs, .. }: CsrfUpload<Vec<(String, String)>>,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "New campaign", "/app/campaigns").await;
    let page = match NewPage::load(&state, shell, &tenant_id, Draft::from_pairs(&pairs), Errors::none()).await {
        Ok(page) => page,
        Err(e) => return page::failed("campaigns page", &e),
    };
    let shown = pairs.iter().find(|(k, _)| k == "shown_header").map(|(_, v)| v.as_str());
    let rendered = match page.as_live().render() {
        Ok(live) if shown.is_some_and(|s| s != page.picker.signature()) => {
            PickerFragment { picker: &page.picker, oob: true }.render().map(|picker| live + &picker)
        }
        other => other,
    };
    match rendered {
        Ok(body) => ([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => page::failed("campaigns page", Error::internal(e)),
    }
}

/// The chosen template's media header kind, if it has one (a template that is not there: none,
/// and the domain says why).
async fn header_kind(state: &AppState, tenant_id: &str, draft: &Draft) -> Result<Option<MediaKind>, Error> {
    let Some((name, language)) = draft.template_ref() else { return Ok(None) };
    let found = Templates::new(&*state.ports.table).find_by_name(tenant_id, name, language).await?;
    Ok(found.and_then(|t| header::media_header(&t.parameters)))
}

/// A file chosen for a media header: stored (`POST /media`'s use case) and kept in the draft, so
/// the next render (the preview, a refusal) carries its id instead of asking for it again.
async fn store_header_file(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
    draft: &mut Draft,
    file: Option<Result<miping::domain::media::service::Upload, Error>>,
) -> Result<(), Error> {
    let Some(file) = file.filter(|_| !draft.header_by_link()) else { return Ok(()) };
    let item = super::media::store(state, tenant_id, user_id, file, "header").await?;
    draft.header_media_id = item.id;
    draft.header_filename = item.filename.unwrap_or_else(|| item.kind.as_str().to_owned());
    Ok(())
}

/// The first recipient's contact id (what "Send a test" fills the variables from).
async fn first_recipient(state: &AppState, tenant_id: &str, draft: &Draft) -> Result<Option<String>, Error> {
    let Some(audience) = draft.audience() else { return Ok(None) };
    Ok(estimate::audience(&state.ports, tenant_id, &audience).await?.first.map(|c| c.id))
}

/// A test-send's refusal on the form's fields: `to` is the test number's, the first recipient's
/// data (`contact_id`) too; `template.header…` the picker's.
fn test_errors(e: &Error) -> Errors {
    let mut placed = e.clone();
    for d in &mut placed.details {
        if d.field == "to" || d.field == "contact_id" {
            d.field = "test_to".into();
        } else if let Some(rest) = d.field.strip_prefix("template.").filter(|r| r.starts_with("header")) {
            d.field = rest.to_owned();
        } else if d.field.starts_with("template.variables") {
            d.field = "variables".into();
        }
    }
    form_errors(&placed)
}

/// A header refusal in the form's words: "required" names the API's JSON otherwise.
fn form_errors(e: &Error) -> Errors {
    let mut placed = e.clone();
    for d in placed.details.iter_mut().filter(|d| d.field.starts_with("header") && d.code == "required") {
        *d = FieldError::new("header", "required", "upload a file or give a link for the header");
    }
    Errors::from_error(&placed, FIELDS)
}

/// `POST /app/campaigns/new`: `step=preview` (the no-JS "Update" button) shows the form again
/// with the count and preview; `step=test` sends the first recipient's message to the test number
/// (`POST /campaigns/test-send`'s use case) and shows the form again; otherwise the same use case
/// as `POST /campaigns`.
async fn create(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    CsrfUpload { form: pairs, file }: CsrfUpload<Vec<(String, String)>>,
) -> Response {
    let mut draft = Draft::from_pairs(&pairs);
    let step = pairs.iter().find(|(k, _)| k == "step").map_or("", |(_, v)| v.as_str());
    let render_with = |status: StatusCode, draft: Draft, errors: Errors, notice: Option<String>| {
        let state = state.clone();
        let viewer = viewer.clone();
        let headers = headers.clone();
        let tenant_id = tenant_id.clone();
        async move {
            let shell = Shell::load(&state, &viewer, &headers, "New campaign", "/app/campaigns").await;
            match NewPage::load(&state, shell, &tenant_id, draft, errors).await {
                Ok(mut page) => {
                    page.notice = notice;
                    let r = page::page_or_fragment(hx, status, &page, page.as_form());
                    match &page.notice {
                        Some(n) if hx.0 => hx.updated(r, "/app/campaigns/new", n),
                        _ => r,
                    }
                }
                Err(e) => page::failed("campaigns page", &e),
            }
        }
    };
    let render = |status: StatusCode, draft: Draft, errors: Errors| render_with(status, draft, errors, None);
    let kind = match header_kind(&state, &tenant_id, &draft).await {
        Ok(kind) => kind,
        Err(e) => return page::failed("campaigns page", &e),
    };
    // The file is stored for the preview too: without JavaScript a file input cannot be refilled.
    if kind.is_some()
        && let Err(e) = store_header_file(&state, &tenant_id, &viewer.user().id, &mut draft, file).await
    {
        return match status_of(&e) {
            Ok(status) => render(status, draft, form_errors(&e)).await,
            Err(r) => r,
        };
    }
    if step == "preview" {
        return render(StatusCode::OK, draft, Errors::none()).await;
    }
    if step == "test" {
        let first = match first_recipient(&state, &tenant_id, &draft).await {
            Ok(first) => first,
            Err(e) => return page::failed("campaigns page", &e),
        };
        let input = draft.test_input(kind, first);
        return match test_send::test_send(&state.ports, &tenant_id, input).await {
            Ok(_) => {
                let notice = format!("Test sent to {}", draft.test_to.trim());
                render_with(StatusCode::OK, draft, Errors::none(), Some(notice)).await
            }
            Err(e) => match status_of(&e) {
                Ok(status) => render(status, draft, test_errors(&e)).await,
                Err(r) => r,
            },
        };
    }
    let tz = page::time_zone(&state, &tenant_id).await;
    match audit::create_campaign(&state.ports, &audit, &state.prices, &tenant_id, draft.input(&tz, kind)).await {
        Ok(c) => {
            let toast = if c.status == CampaignStatus::Scheduled { "Campaign scheduled" } else { "Campaign started" };
            hx.done(&format!("/app/campaigns/{}", c.id), toast)
        }
        Err(e) => match status_of(&e) {
            Ok(status) => render(status, draft, form_errors(&e)).await,
            Err(r) => r,
        },
    }
}

// --- progress --------------------------------------------------------------------------------

/// One step of the funnel.
pub struct Stage {
    pub label: &'static str,
    pub value: u64,
    pub text: String,
}

/// Meta's reason for some of the failures, and how many.
pub struct Failure {
    pub code: String,
    pub reason: String,
    pub count: String,
    pub retryable: bool,
}

#[derive(Template)]
#[template(path = "campaigns_show.html", blocks = ["progress"])]
pub struct ShowPage {
    pub shell: Shell,
    pub row: Row,
    pub status: CampaignStatus,
    pub audience: String,
    pub when: Option<When>,
    pub stages: Vec<Stage>,
    pub max: u64,
    pub failures: Vec<Failure>,
    /// Still changing: the fragment polls itself.
    pub live: bool,
    pub cancellable: bool,
    /// Some failures a retry can fix.
    pub retryable: bool,
}
/// After it completes (or is cancelled), statuses still arrive for a while: keep polling.
const SETTLING_MINUTES: i64 = 15;

async fn load_show(
    state: &AppState,
    shell: Shell,
    tenant_id: &str,
    id: &str,
) -> Result<Option<ShowPage>, miping::domain::Error> {
    let Some(c) = Campaigns::new(&*state.ports.table).get(tenant_id, id).await? else { return Ok(None) };
    // Grouped by Meta's error code in the counter shards, exact whatever the campaign's size.
    let (n, groups) = counters::read_with_failures(&state.ports, tenant_id, id).await?;
    let retryable = groups.iter().any(|g| g.retryable);
    let failures = groups
        .into_iter()
        .map(|g| Failure {
            code: if g.code == 0 { "—".to_owned() } else { g.code.to_string() },
            reason: g.title.unwrap_or_else(|| "No reason given".to_owned()),
            count: number(u64::try_from(g.count).unwrap_or(0)),
            retryable: g.retryable,
        })
        .collect();
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    let total = u(c.total);
    let stage = |label, value: u64| Stage { label, value, text: number(value) };
    // Cumulative: a read message was also sent and delivered.
    let stages = vec![
        stage("Queued", u(n.queued)),
        stage("Sent", u(n.sent + n.delivered + n.read)),
        stage("Delivered", u(n.delivered + n.read)),
        stage("Read", u(n.read)),
        stage("Failed", u(n.failed)),
        stage("Skipped (opted out)", u(c.skipped_opted_out)),
    ];
    let now = state.ports.clock.now();
    let ended = c.completed_at.or(c.cancelled_at);
    let in_flight = n.queued + n.sent + n.delivered > 0;
    let live = match c.status {
        CampaignStatus::Scheduled | CampaignStatus::Running => true,
        _ => in_flight && ended.is_some_and(|t| now - t < chrono::Duration::minutes(SETTLING_MINUTES)),
    };
    let audience = if c.audience.all {
        "Every contact".to_owned()
    } else if !c.audience.tags.is_empty() {
        format!("Contacts tagged {}", c.audience.tags.join(", "))
    } else {
        format!("{} chosen contacts", number(c.audience.contact_ids.len() as u64))
    };
    let tz = &shell.tz.clone();
    Ok(Some(ShowPage {
        shell,
        row: Row::of(&c, &n, tz),
        status: c.status,
        audience,
        when: c.schedule_at.filter(|_| c.status == CampaignStatus::Scheduled).map(|at| when(at, tz)),
        stages,
        max: total.max(1),
        failures,
        live,
        cancellable: matches!(c.status, CampaignStatus::Scheduled | CampaignStatus::Running),
        retryable,
    }))
}

/// `GET /app/campaigns/{id}`
async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "Campaign", "/app/campaigns").await;
    match load_show(&state, shell, &tenant_id, &id).await {
        Ok(Some(mut page)) => {
            page.shell.title = page.row.name.clone();
            page::html(StatusCode::OK, &page)
        }
        Ok(None) => page::not_found_page(),
        Err(e) => page::failed("campaigns page", &e),
    }
}

/// `GET /app/campaigns/{id}/progress`: the polled fragment (without its trigger once nothing
/// changes any more, which stops the polling).
async fn progress(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "Campaign", "/app/campaigns").await;
    match load_show(&state, shell, &tenant_id, &id).await {
        Ok(Some(page)) => page::html(StatusCode::OK, &page.as_progress()),
        Ok(None) => page::not_found_page(),
        Err(e) => page::failed("campaigns page", &e),
    }
}

/// The tenant's campaign, or the 404 page (another tenant's id included).
async fn campaign_or_404(state: &AppState, tenant_id: &str, id: &str) -> Result<Campaign, Response> {
    match Campaigns::new(&*state.ports.table).get(tenant_id, id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(page::not_found_page()),
        Err(e) => Err(page::failed("campaigns page", miping::domain::Error::from(e))),
    }
}

/// A campaign action the use case refused: back to the campaign with the reason as an error toast.
fn refused(back: &str, e: &miping::domain::Error) -> Response {
    match status_of(e) {
        Ok(_) => page::redirect_with_flash(back, &format!("!{}", crate::forms::sentence(&e.message))),
        Err(r) => r,
    }
}

/// `POST /app/campaigns/{id}/cancel` (confirmed by console.js's dialog, or by the confirmation
/// page without JavaScript).
async fn cancel_campaign(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let campaign = match campaign_or_404(&state, &tenant_id, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let back = format!("/app/campaigns/{id}");
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Cancel campaign", "/app/campaigns").await;
        let question = format!("Cancel the campaign “{}”? Messages not sent yet will not be sent.", campaign.name);
        return page::confirm_page(shell, &question, &format!("{back}/cancel"), "Cancel campaign", &back, &[]);
    }
    match audit::cancel_campaign(&state.ports, &audit, &tenant_id, &id).await {
        Ok(_) => hx.done(&back, &format!("Campaign “{}” cancelled", campaign.name)),
        Err(e) => refused(&back, &e),
    }
}

/// `POST /app/campaigns/{id}/retry-failed` (confirmed like the cancel): a new campaign to the
/// recipients whose failure a retry can fix; the person lands on it.
async fn retry_failed(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let campaign = match campaign_or_404(&state, &tenant_id, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let back = format!("/app/campaigns/{id}");
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Retry failed messages", "/app/campaigns").await;
        let question = format!(
            "Send “{}” again to the recipients whose message failed for a reason a retry can fix? They are billed again.",
            campaign.name
        );
        return page::confirm_page(shell, &question, &format!("{back}/retry-failed"), "Retry failed", &back, &[]);
    }
    match audit::retry_failed_campaign(&state.ports, &audit, &state.prices, &tenant_id, &id).await {
        Ok(retry) => hx.done(&format!("/app/campaigns/{}", retry.id), &format!("Retrying as “{}”", retry.name)),
        Err(e) => refused(&back, &e),
    }
}

/// `GET /app/campaigns/{id}/recipients.csv`: the API's export, handed out the same way
/// (streamed locally, a redirect to the stored file's presigned download on AWS).
async fn export(
    State(state): State<AppState>,
    TenantAdmin(_, tenant_id): TenantAdmin,
    Path(id): Path<String>,
) -> Response {
    use futures_util::StreamExt;
    let walk = match report::export(&state.ports, &tenant_id, &id).await {
        Ok(report::Export::Stream(w)) => *w,
        Ok(report::Export::Download(url)) => {
            return axum::response::IntoResponse::into_response(axum::response::Redirect::to(&url.url));
        }
        Err(e) if e.kind == miping::domain::Kind::NotFound => return page::not_found_page(),
        Err(e) => return page::failed("campaign export", &e),
    };
    let body = axum::body::Body::from_stream(report::csv_stream(state.ports.clone(), walk).map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "campaign export failed");
            std::io::Error::other("export failed")
        })
    }));
    let disposition = format!("attachment; filename=\"{id}-recipients.csv\"");
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static(report::CSV_CONTENT_TYPE));
    if let Ok(v) = axum::http::HeaderValue::from_str(&disposition) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    r
}
