//! Canned replies (`/app/canned`, tenant admins): the team's saved answers that agents insert in
//! the inbox's reply box by typing `/shortcut`. A list with search and the form to add one, an
//! edit page, and removal after confirming. Each form calls the use case of its API route
//! (`domain::inbox::canned`: `POST /canned-replies`, `PATCH` and `DELETE /canned-replies/{id}`),
//! so the refusals (`shortcut_taken`, unknown placeholders) are the API's, next to the field.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::Error;
use miping::domain::inbox::canned::{self, CannedInput, CannedReply};
use miping::domain::zone::Zone;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell};
use crate::paging;
use crate::session::{TenantAdmin, Viewer};
use crate::view::{When, when};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(edit_form).post(update))
        .route("/{id}/delete", post(delete))
}

const PAGE_SIZE: usize = 50;
/// The form's fields, named as the API's so `details[].field` marks them.
const FIELDS: &[&str] = &["shortcut", "text"];

pub struct Row {
    pub id: String,
    pub shortcut: String,
    pub text: String,
    pub updated: When,
    /// The delete button's question.
    pub confirm: String,
}

impl Row {
    fn of(r: CannedReply, tz: &Zone) -> Self {
        Self {
            updated: when(r.updated_at, tz),
            confirm: question(&r.shortcut),
            id: r.id,
            shortcut: r.shortcut,
            text: r.text,
        }
    }
}

/// The add and edit form's values (kept after a refusal).
#[derive(Deserialize, Default, Clone)]
pub struct CannedForm {
    #[serde(default)]
    pub shortcut: String,
    #[serde(default)]
    pub text: String,
}

impl CannedForm {
    fn input(&self) -> CannedInput {
        CannedInput { shortcut: Some(self.shortcut.clone()), text: Some(self.text.clone()) }
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "canned_rows.html")]
pub struct Rows<'a> {
    pub csrf: &'a str,
    pub rows: &'a [Row],
    pub more: &'a Option<String>,
}

#[derive(Template)]
#[template(path = "canned_list.html", blocks = ["new_form"])]
pub struct ListPage {
    pub shell: Shell,
    pub q: String,
    pub rows: Vec<Row>,
    pub more: Option<String>,
    /// The table shows a continuation page (no empty state there).
    pub continued: bool,
    pub form: CannedForm,
    pub errors: Errors,
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    tenant_id: &str,
    query: &ListQuery,
) -> Result<ListPage, Response> {
    let cursor = paging::open(query.cursor.as_deref())?;
    let continued = cursor.is_some();
    let shell = Shell::load(state, viewer, headers, "Canned replies", "/app/canned").await;
    let q = query.q.trim();
    let (items, next) = canned::list(&state.ports, tenant_id, Some(q).filter(|q| !q.is_empty()), PAGE_SIZE, cursor)
        .await
        .map_err(|e| paging::list_failed(&e))?;
    let tz = &shell.tz.clone();
    Ok(ListPage {
        shell,
        q: query.q.clone(),
        rows: items.into_iter().map(|r| Row::of(r, tz)).collect(),
        more: next.map(|c| paging::href("/app/canned", &[("q", q), ("cursor", &paging::seal(&c))])),
        continued,
        form: CannedForm::default(),
        errors: Errors::none(),
    })
}

/// `GET /app/canned` (`?q=` searches shortcuts and texts; "Load more" answers the rows).
async fn list(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(query): Query<ListQuery>,
) -> Response {
    match list_page(&state, &viewer, &headers, &tenant_id, &query).await {
        Ok(p) => {
            page::page_or_fragment(hx, StatusCode::OK, &p, Rows { csrf: &p.shell.csrf, rows: &p.rows, more: &p.more })
        }
        Err(r) => r,
    }
}

/// The use case's refusal as a status, or the response for what is not the form's fault.
fn refusal(e: &Error) -> Result<(StatusCode, Errors), Response> {
    let status = status_of(e)?;
    Ok((status, Errors::from_error(e, FIELDS)))
}

/// `POST /app/canned`: adds one; a refusal re-renders the form with the errors next to the fields.
async fn create(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<CannedForm>,
) -> Response {
    let e = match canned::create(&state.ports, &tenant_id, form.input()).await {
        Ok(r) => return hx.done("/app/canned", &format!("Canned reply /{} saved", r.shortcut)),
        Err(e) => e,
    };
    let (status, errors) = match refusal(&e) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match list_page(&state, &viewer, &headers, &tenant_id, &ListQuery::default()).await {
        Ok(mut p) => {
            (p.form, p.errors) = (form, errors);
            page::page_or_fragment(hx, status, &p, p.as_new_form())
        }
        Err(r) => r,
    }
}

#[derive(Template)]
#[template(path = "canned_edit.html", blocks = ["form"])]
pub struct EditPage {
    pub shell: Shell,
    pub id: String,
    pub form: CannedForm,
    pub errors: Errors,
}

async fn edit_page(state: &AppState, viewer: &Viewer, headers: &HeaderMap, id: &str, form: CannedForm) -> EditPage {
    let shell = Shell::load(state, viewer, headers, &format!("Canned reply /{}", form.shortcut), "/app/canned").await;
    EditPage { shell, id: id.to_owned(), form, errors: Errors::none() }
}

/// The tenant's reply, or the 404 page (another tenant's id included).
async fn find(state: &AppState, tenant_id: &str, id: &str) -> Result<CannedReply, Response> {
    canned::get(&state.ports, tenant_id, id).await.map_err(|e| match status_of(&e) {
        Ok(StatusCode::NOT_FOUND) => page::not_found_page(),
        Ok(_) | Err(_) => page::failed("a canned reply", e),
    })
}

/// `GET /app/canned/{id}`.
async fn edit_form(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match find(&state, &tenant_id, &id).await {
        Ok(r) => {
            let form = CannedForm { shortcut: r.shortcut, text: r.text };
            page::html(StatusCode::OK, &edit_page(&state, &viewer, &headers, &id, form).await)
        }
        Err(r) => r,
    }
}

/// `POST /app/canned/{id}`.
async fn update(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CannedForm>,
) -> Response {
    let e = match canned::update(&state.ports, &tenant_id, &id, form.input()).await {
        Ok(r) => return hx.done("/app/canned", &format!("Canned reply /{} saved", r.shortcut)),
        Err(e) => e,
    };
    let (status, errors) = match refusal(&e) {
        Ok((StatusCode::NOT_FOUND, _)) => return page::not_found_page(),
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut p = edit_page(&state, &viewer, &headers, &id, form).await;
    p.errors = errors;
    page::page_or_fragment(hx, status, &p, p.as_form())
}

/// `POST /app/canned/{id}/delete` (confirmed, naming the shortcut).
async fn delete(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let reply = match find(&state, &tenant_id, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Delete canned reply", "/app/canned").await;
        let action = format!("/app/canned/{id}/delete");
        return page::confirm_page(
            shell,
            &question(&reply.shortcut),
            &action,
            "Delete canned reply",
            "/app/canned",
            &[],
        );
    }
    match canned::delete(&state.ports, &tenant_id, &id).await {
        Ok(()) => hx.done("/app/canned", &format!("Canned reply /{} deleted", reply.shortcut)),
        Err(e) => match status_of(&e) {
            Ok(StatusCode::NOT_FOUND) => page::not_found_page(),
            _ => page::failed("a canned reply", e),
        },
    }
}

/// The confirmation's question, with and without JavaScript.
fn question(shortcut: &str) -> String {
    format!("Delete the canned reply /{shortcut}? Agents can no longer insert it; messages already sent stay.")
}
