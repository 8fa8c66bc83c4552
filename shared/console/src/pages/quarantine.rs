//! Webhook quarantine (under /app/quarantine): the deliveries and events the webhook processor
//! set aside (`domain::webhooks::quarantine`), newest first with "Load more", and one entry's
//! page with why it was set aside and what was received — the use cases of
//! `GET /admin/webhooks/quarantine[/{id}]`. The platform's pages are in UTC.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use miping::app::AppState;
use miping::domain::Kind;
use miping::domain::webhooks::quarantine::{self, QuarantineEntry, Reason};
use miping::domain::zone::Zone;

use crate::page::{self, Hx, Shell};
use crate::paging::{self, CursorQuery};
use crate::session::SuperAdmin;
use crate::view::{When, when};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(list)).route("/{id}", get(show))
}

const PAGE_SIZE: usize = 25;
const LIST: &str = "/app/quarantine";

/// (badge modifier, word, what it means) for a reason.
fn reason(r: Reason) -> (&'static str, &'static str, &'static str) {
    match r {
        Reason::Malformed => ("badge--danger", "malformed", "The body could not be read as a webhook."),
        Reason::Unrouted => ("badge--warning", "unrouted", "No tenant has this phone number or WhatsApp account."),
        Reason::Unhandled => ("badge--info", "unhandled", "An event the platform does not act on."),
    }
}

pub struct Row {
    pub id: String,
    pub badge: (&'static str, &'static str, &'static str),
    pub detail: String,
    pub at: When,
}

impl Row {
    fn of(e: QuarantineEntry) -> Self {
        Row { badge: reason(e.reason), at: when(e.at, &Zone::UTC), id: e.id, detail: e.detail }
    }
}

#[derive(Template)]
#[template(path = "quarantine_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

/// The rows of one page and its "Load more" row.
#[derive(Template)]
#[template(path = "quarantine_rows.html")]
pub struct Rows<'a> {
    pub rows: &'a [Row],
    pub next: &'a Option<String>,
}

/// `GET /app/quarantine[?cursor=]`: with a cursor and `HX-Request`, the next rows.
async fn list(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(q): Query<CursorQuery>,
) -> Response {
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let more = cursor.is_some();
    let (shell, listed) = tokio::join!(
        Shell::load(&state, &viewer, &headers, "Webhook quarantine", LIST),
        quarantine::list(&state.ports, PAGE_SIZE, cursor)
    );
    let (items, next) = match listed {
        Ok(v) => v,
        Err(e) => return paging::list_failed(&e),
    };
    let page = ListPage {
        shell,
        rows: items.into_iter().map(Row::of).collect(),
        next: next.map(|c| paging::href(LIST, &[("cursor", &paging::seal(&c))])),
    };
    page::page_or_fragment(Hx(hx.0 && more), StatusCode::OK, &page, Rows { rows: &page.rows, next: &page.next })
}

#[derive(Template)]
#[template(path = "quarantine_show.html")]
pub struct ShowPage {
    pub shell: Shell,
    pub row: Row,
    /// What was received: indented JSON, or the body as it came when it was no JSON.
    pub payload: String,
}

/// `GET /app/quarantine/{id}`: why, when, and the body or event as received (never a header).
async fn show(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let detail = match quarantine::get(&state.ports, &id).await {
        Ok(d) => d,
        Err(e) if e.kind == Kind::NotFound => return page::not_found_page(),
        Err(e) => {
            return page::failed("a quarantined webhook", e);
        }
    };
    let payload = match &detail.payload {
        serde_json::Value::String(raw) => raw.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let shell = Shell::load(&state, &viewer, &headers, "Quarantined webhook", LIST).await;
    page::html(StatusCode::OK, &ShowPage { shell, row: Row::of(detail.entry), payload })
}
