//! The platform template library (under /app/library): the list and a simple form to add a
//! template (`POST /admin/templates`'s use case). The form has a body with its examples; the
//! tenants' template builder is the place for headers, footers and buttons.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use miping::app::AppState;
use miping::domain::Error;
use miping::domain::templates::library;
use miping::domain::templates::model::TemplateInput;
use miping::domain::zone::Zone;
use serde::Deserialize;
use serde_json::json;

use crate::forms::{CsrfForm, Errors, status_of};
use crate::page::{self, Hx, Shell};
use crate::paging::{self, CursorQuery};
use crate::session::{SuperAdmin, Viewer};
use crate::view::{When, when};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(list).post(create)).route("/new", get(new_form))
}

pub struct Row {
    pub name: String,
    pub language: String,
    pub category: String,
    pub body: String,
    pub created: When,
}

#[derive(Template)]
#[template(path = "library_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

/// `GET /app/library`
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
    let (items, next) = match library::page(&state.ports, 50, cursor).await {
        Ok(v) => v,
        Err(e) => return page::failed("library", e),
    };
    let rows = items
        .into_iter()
        .map(|t| Row {
            body: body_text(&t.components),
            // The platform's pages are in UTC.
            created: when(t.created_at, &Zone::UTC),
            name: t.name,
            language: t.language,
            category: t.category,
        })
        .collect();
    let shell = Shell::load(&state, &viewer, &headers, "Library templates", "/app/library").await;
    page::html(StatusCode::OK, &ListPage { shell, rows, next: next.map(|c| paging::seal(&c)) })
}

fn body_text(components: &serde_json::Value) -> String {
    components
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "BODY")
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

#[derive(Deserialize, Default, Clone)]
pub struct LibraryForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub body: String,
    /// One example per line, for {{1}}, {{2}}, …
    #[serde(default)]
    pub examples: String,
}

impl LibraryForm {
    fn input(&self) -> TemplateInput {
        let examples: Vec<&str> = self.examples.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let mut body = json!({"type": "BODY", "text": self.body});
        if !examples.is_empty() {
            body["example"] = json!({"body_text": [examples]});
        }
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        TemplateInput {
            name: some(&self.name),
            language: some(&self.language),
            category: some(&self.category),
            components: Some(json!([body])),
            parameter_format: None,
        }
    }
}

const CATEGORIES: &[&str] = &["MARKETING", "UTILITY", "AUTHENTICATION"];

/// The API's field names (`components[0].text`) as the form's (`body`, `examples`).
fn form_errors(e: &Error) -> Errors {
    let mut e = e.clone();
    for d in &mut e.details {
        if d.field.starts_with("components[0].example") {
            d.field = "examples".into();
        } else if d.field.starts_with("components") {
            d.field = "body".into();
        }
    }
    Errors::from_error(&e, &["name", "language", "category", "body", "examples"])
}

#[derive(Template)]
#[template(path = "library_new.html", blocks = ["form"])]
pub struct NewPage {
    pub shell: Shell,
    pub form: LibraryForm,
    pub categories: &'static [&'static str],
    pub errors: Errors,
}

async fn new_page(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    form: LibraryForm,
    errors: Errors,
) -> NewPage {
    let shell = Shell::load(state, viewer, headers, "New library template", "/app/library").await;
    NewPage { shell, form, categories: CATEGORIES, errors }
}

/// `GET /app/library/new`
async fn new_form(State(state): State<AppState>, SuperAdmin(viewer): SuperAdmin, headers: HeaderMap) -> Response {
    let form = LibraryForm { language: "en_US".into(), category: "UTILITY".into(), ..LibraryForm::default() };
    page::html(StatusCode::OK, &new_page(&state, &viewer, &headers, form, Errors::none()).await)
}

/// `POST /app/library`
async fn create(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<LibraryForm>,
) -> Response {
    match library::create(&state.ports, form.input()).await {
        Ok(t) => hx.done("/app/library", &format!("Library template {} added", t.name)),
        Err(e) => match status_of(&e) {
            Err(r) => r,
            Ok(status) => {
                let p = new_page(&state, &viewer, &headers, form, form_errors(&e)).await;
                page::page_or_fragment(hx, status, &p, p.as_form())
            }
        },
    }
}
