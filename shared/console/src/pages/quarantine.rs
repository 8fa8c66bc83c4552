//! Webhook quarantine (under /app/quarantine): the deliveries and events the webhook processor
//! set aside (`domain::webhooks::quarantine::keep`).
//!
//! PENDING: the list and inspect store functions are being added on branch `api16`
//! (`GET /admin/webhooks/quarantine`); until they are on main this page is only its shell with
//! the empty state. Then: the list (newest first, reason, when, "Load more") and an inspect page
//! (`/app/quarantine/{id}`: the stored body and the reason).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use miping::app::AppState;

use crate::page::{self, Shell};
use crate::session::SuperAdmin;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(list))
}

#[derive(Template)]
#[template(path = "quarantine_list.html")]
pub struct ListPage {
    pub shell: Shell,
}

/// `GET /app/quarantine`
async fn list(State(state): State<AppState>, SuperAdmin(viewer): SuperAdmin, headers: HeaderMap) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "Webhook quarantine", "/app/quarantine").await;
    page::html(StatusCode::OK, &ListPage { shell })
}
