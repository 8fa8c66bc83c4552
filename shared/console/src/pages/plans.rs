//! The plans (under /app/plans): list, create, edit, delete. Every rule is the domain's
//! (`plans::validate`), shown next to its field.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::audit;
use miping::domain::plans::{self, Plan, PlanInput};
use miping::domain::{Error, FieldError, Kind};
use miping::http::audit::Audit;
use miping::store::plans::Plans;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors, sentence, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell, confirm_page, confirmed, not_found_page};
use crate::paging::{self, CursorQuery};
use crate::session::{SuperAdmin, Viewer};
use crate::view::number;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/new", get(new_form))
        .route("/{id}", get(edit_form).post(update))
        .route("/{id}/delete", post(delete))
}

pub struct PlanRow {
    pub id: String,
    pub name: String,
    pub price: String,
    pub messages: String,
    pub contacts: String,
    pub templates: String,
    pub api_keys: String,
    pub mps: String,
}

#[derive(Template)]
#[template(path = "plans_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub rows: Vec<PlanRow>,
    pub next: Option<String>,
}

/// `GET /app/plans`
async fn list(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    Query(q): Query<CursorQuery>,
) -> Response {
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (plans, next) = match Plans::new(&*state.ports.table).list(50, cursor).await {
        Ok(v) => v,
        Err(e) => return page::failed("plans", e),
    };
    let rows = plans
        .into_iter()
        .map(|p| PlanRow {
            price: format!("{} {}", p.price, p.currency),
            messages: number(p.monthly_message_limit),
            contacts: number(p.contact_limit),
            templates: number(p.template_limit),
            api_keys: number(p.api_key_limit),
            mps: number(u64::from(p.messages_per_second)),
            id: p.id,
            name: p.name,
        })
        .collect();
    let shell = Shell::load(&state, &viewer, &headers, "Plans", "/app/plans").await;
    page::html(StatusCode::OK, &ListPage { shell, rows, next: next.map(|c| paging::seal(&c)) })
}

/// The plan form as typed; the names are `POST /plans`'s fields.
#[derive(Deserialize, Default, Clone)]
pub struct PlanForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub monthly_message_limit: String,
    #[serde(default)]
    pub contact_limit: String,
    #[serde(default)]
    pub template_limit: String,
    #[serde(default)]
    pub api_key_limit: String,
    #[serde(default)]
    pub messages_per_second: String,
    /// Empty: no seat limit.
    #[serde(default)]
    pub seat_limit: String,
}

const FIELDS: &[&str] = &[
    "name",
    "price",
    "currency",
    "monthly_message_limit",
    "contact_limit",
    "template_limit",
    "api_key_limit",
    "messages_per_second",
    "seat_limit",
];

impl PlanForm {
    fn of(p: &Plan) -> Self {
        PlanForm {
            name: p.name.clone(),
            price: p.price.to_string(),
            currency: p.currency.clone(),
            monthly_message_limit: p.monthly_message_limit.to_string(),
            contact_limit: p.contact_limit.to_string(),
            template_limit: p.template_limit.to_string(),
            api_key_limit: p.api_key_limit.to_string(),
            messages_per_second: p.messages_per_second.to_string(),
            seat_limit: p.seat_limit.map(|n| n.to_string()).unwrap_or_default(),
        }
    }

    /// The use case's input. An empty field is absent (the domain says whether it is required);
    /// a count that is no whole number is refused here, as the API's JSON reader refuses a string.
    fn input(&self) -> Result<PlanInput, Error> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let mut bad = Vec::new();
        let mut count = |field: &str, s: &str| match text(s) {
            None => None,
            Some(s) => s
                .parse::<i64>()
                .map_err(|_| bad.push(FieldError::new(field, "not_a_number", "must be a whole number")))
                .ok(),
        };
        let input = PlanInput {
            monthly_message_limit: count("monthly_message_limit", &self.monthly_message_limit),
            contact_limit: count("contact_limit", &self.contact_limit),
            template_limit: count("template_limit", &self.template_limit),
            api_key_limit: count("api_key_limit", &self.api_key_limit),
            messages_per_second: count("messages_per_second", &self.messages_per_second),
            seat_limit: count("seat_limit", &self.seat_limit),
            media_retention_days: None,
            name: Some(self.name.clone()).filter(|n| !n.is_empty()),
            price: text(&self.price).map(serde_json::Value::String),
            currency: text(&self.currency),
        };
        if bad.is_empty() { Ok(input) } else { Err(Error::validation(bad)) }
    }
}

#[derive(Template)]
#[template(path = "plans_form.html", blocks = ["form"])]
pub struct FormPage {
    pub shell: Shell,
    /// None: a new plan.
    pub id: Option<String>,
    pub form: PlanForm,
    pub errors: Errors,
    /// The delete refusal (409 `plan_in_use`).
    pub delete_alert: Option<String>,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/app/plans/{id}"),
            None => "/app/plans".into(),
        }
    }
}

async fn form_page(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    id: Option<String>,
    form: PlanForm,
    errors: Errors,
) -> FormPage {
    let (title, path) = match &id {
        Some(_) => (format!("Plan {}", form.name), "/app/plans"),
        None => ("New plan".to_owned(), "/app/plans/new"),
    };
    let shell = Shell::load(state, viewer, headers, &title, path).await;
    FormPage { shell, id, form, errors, delete_alert: None }
}

/// `GET /app/plans/new`
async fn new_form(State(state): State<AppState>, SuperAdmin(viewer): SuperAdmin, headers: HeaderMap) -> Response {
    let p = form_page(&state, &viewer, &headers, None, PlanForm::default(), Errors::none()).await;
    page::html(StatusCode::OK, &p)
}

async fn plan_or_404(state: &AppState, id: &str) -> Result<Plan, Response> {
    match plans::get(&state.ports, id).await {
        Ok(p) => Ok(p),
        Err(e) if e.kind == Kind::NotFound => Err(not_found_page()),
        Err(e) => Err(page::failed("plan", e.message)),
    }
}

/// `GET /app/plans/{id}`: the edit form.
async fn edit_form(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let plan = match plan_or_404(&state, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let p = form_page(&state, &viewer, &headers, Some(id), PlanForm::of(&plan), Errors::none()).await;
    page::html(StatusCode::OK, &p)
}

/// A refused save: the form again, as typed, errors next to the fields.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    hx: Hx,
    id: Option<String>,
    form: PlanForm,
    e: &Error,
) -> Response {
    match status_of(e) {
        Err(r) => r,
        Ok(status) => {
            let p = form_page(state, viewer, headers, id, form, Errors::from_error(e, FIELDS)).await;
            page::page_or_fragment(hx, status, &p, p.as_form())
        }
    }
}

/// `POST /app/plans`
async fn create(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Response {
    let result = match form.input() {
        Ok(input) => audit::create_plan(&state.ports, &audit, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(plan) => hx.done("/app/plans", &format!("Plan {} created", plan.name)),
        Err(e) => refused(&state, &viewer, &headers, hx, None, form, &e).await,
    }
}

/// `POST /app/plans/{id}`: the fields of the edit form (`PATCH /plans/{id}`).
async fn update(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Response {
    if let Err(r) = plan_or_404(&state, &id).await {
        return r;
    }
    let result = match form.input() {
        Ok(input) => audit::update_plan(&state.ports, &audit, &id, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(plan) => hx.done("/app/plans", &format!("Plan {} saved", plan.name)),
        Err(e) if e.kind == Kind::NotFound => not_found_page(),
        Err(e) => refused(&state, &viewer, &headers, hx, Some(id), form, &e).await,
    }
}

pub fn delete_question(name: &str) -> String {
    format!("Delete the plan “{name}”? This cannot be undone.")
}

/// `POST /app/plans/{id}/delete`: confirmed first; refused (409 `plan_in_use`) while a tenant
/// has the plan.
async fn delete(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let plan = match plan_or_404(&state, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Delete plan", "/app/plans").await;
        let action = format!("/app/plans/{id}/delete");
        return confirm_page(
            shell,
            &delete_question(&plan.name),
            &action,
            "Delete plan",
            &format!("/app/plans/{id}"),
            &[],
        );
    }
    match audit::delete_plan(&state.ports, &audit, &id).await {
        Ok(()) => hx.done("/app/plans", &format!("Plan {} deleted", plan.name)),
        Err(e) if e.kind == Kind::NotFound => not_found_page(),
        Err(e) => match status_of(&e) {
            Err(r) => r,
            Ok(status) => {
                let mut p = form_page(&state, &viewer, &headers, Some(id), PlanForm::of(&plan), Errors::none()).await;
                p.delete_alert = Some(sentence(&e.message));
                if hx.0 {
                    page::html(status, &DeleteAlert { text: p.delete_alert.unwrap_or_default() })
                } else {
                    page::html(status, &p)
                }
            }
        },
    }
}

/// The delete refusal, swapped into the edit page's `#delete-result`.
#[derive(Template)]
#[template(source = r#"<div class="alert alert--danger" role="alert"><p>{{ text }}</p></div>"#, ext = "html")]
struct DeleteAlert {
    text: String,
}
