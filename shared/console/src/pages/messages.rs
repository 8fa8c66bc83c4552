//! The messages log (under /app/messages): newest first, filtered by status and campaign (chips in
//! the URL), "Load more"; and one message with its status history and Meta's error. The same
//! store reads as `GET /messages` and `GET /messages/{id}`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use miping::app::AppState;
use miping::domain::media::retention;
use miping::domain::messages::{Direction, MessageError, MessageStatus, MessageView};
use miping::store::campaigns::Campaigns;
use miping::store::messages::{ListFilter, Messages};
use serde::Deserialize;

use crate::page::{self, Hx, Shell};
use crate::paging;
use crate::session::TenantAdmin;
use crate::view::{When, message_status, when};
use miping::domain::zone::Zone;

const PAGE_SIZE: usize = 50;
/// Longest text shown in a row of the log.
const PREVIEW_CHARS: usize = 80;
/// The status chips, in the order a message moves through them.
const CHIPS: [MessageStatus; 9] = [
    MessageStatus::Scheduled,
    MessageStatus::Queued,
    MessageStatus::Sending,
    MessageStatus::Sent,
    MessageStatus::Delivered,
    MessageStatus::Read,
    MessageStatus::Failed,
    MessageStatus::Cancelled,
    MessageStatus::Received,
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(list)).route("/{id}", get(show))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    campaign_id: String,
    #[serde(default)]
    cursor: Option<String>,
}

/// The status as shown: the badge, and Meta's reason when it failed.
pub struct Status {
    pub badge: (&'static str, &'static str),
    pub reason: Option<String>,
}

impl Status {
    fn of(status: MessageStatus, error: Option<&MessageError>) -> Self {
        Status { badge: message_status(status), reason: error.map(reason) }
    }
}

/// "131026 · Message undeliverable"
fn reason(e: &MessageError) -> String {
    match e.title.as_deref().or(e.detail.as_deref()) {
        Some(t) => format!("{} · {t}", e.code),
        None => e.code.to_string(),
    }
}

/// What a message said, in a line: the template's name, the text, or the kind of media.
fn preview(m: &MessageView) -> String {
    if let Some(name) = m.template.as_ref().and_then(|t| t.get("name")).and_then(|n| n.as_str()) {
        return format!("Template {name}");
    }
    if let Some(text) = m.text.as_deref() {
        let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.chars().count() > PREVIEW_CHARS {
            line = line.chars().take(PREVIEW_CHARS - 1).collect::<String>() + "…";
        }
        return line;
    }
    m.kind.clone()
}

/// Who the message went to (or came from).
fn party(m: &MessageView) -> String {
    match m.direction {
        Direction::Outbound => m.to.clone().unwrap_or_default(),
        Direction::Inbound => format!("from {}", m.from.clone().unwrap_or_default()),
        // Notes and system entries are not in the messages log; named for completeness.
        Direction::Internal => m.author.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
    }
}

pub struct Row {
    pub id: String,
    pub party: String,
    pub preview: String,
    pub status: Status,
    pub at: When,
}

impl Row {
    fn of(m: MessageView, tz: &Zone) -> Self {
        Row {
            party: party(&m),
            preview: preview(&m),
            status: Status::of(m.status, m.error.as_ref()),
            at: when(m.created_at, tz),
            id: m.id,
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
#[template(path = "messages_rows.html")]
pub struct Rows<'a> {
    pub rows: &'a [Row],
    pub more: &'a Option<String>,
}

#[derive(Template)]
#[template(path = "messages_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub chips: Vec<Chip>,
    /// The campaign filter: (its name, the URL without it).
    pub campaign: Option<(String, String)>,
    pub status: String,
    pub rows: Vec<Row>,
    pub more: Option<String>,
    pub continued: bool,
}

async fn list(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(query): Query<ListQuery>,
) -> Response {
    let cursor = match paging::open(query.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut filter = ListFilter::default();
    if !query.status.is_empty() {
        match MessageStatus::parse(&query.status) {
            Some(s) => filter.status = Some(s),
            None => return page::not_found_page(),
        }
    }
    filter.campaign_id = Some(query.campaign_id.clone()).filter(|c| !c.is_empty());
    let campaign_id = query.campaign_id.as_str();
    let (shell, campaign) = tokio::join!(
        Shell::load(&state, &viewer, &headers, "Messages", "/app/messages"),
        campaign_name(&state, &tenant_id, campaign_id)
    );
    let chip = |label: &str, status: &str| Chip {
        label: label.to_owned(),
        href: paging::href("/app/messages", &[("status", status), ("campaign_id", campaign_id)]),
        current: query.status == status,
    };
    let mut chips = vec![chip("All", "")];
    chips.extend(CHIPS.iter().map(|s| chip(message_status(*s).1, s.as_str())));
    let campaign = campaign.map(|name| (name, paging::href("/app/messages", &[("status", query.status.as_str())])));
    let (items, next) =
        match Messages::new(&*state.ports.table).list(&tenant_id, &filter, PAGE_SIZE, cursor.clone()).await {
            Ok(v) => v,
            Err(e) => return paging::list_failed(&miping::domain::error::list_error(e)),
        };
    let more = next.map(|c| {
        paging::href(
            "/app/messages",
            &[("status", query.status.as_str()), ("campaign_id", campaign_id), ("cursor", &paging::seal(&c))],
        )
    });
    let page = ListPage {
        chips,
        campaign,
        status: query.status.clone(),
        rows: items.into_iter().map(|m| Row::of(m, &shell.tz)).collect(),
        more,
        continued: cursor.is_some(),
        shell,
    };
    page::page_or_fragment(hx, StatusCode::OK, &page, Rows { rows: &page.rows, more: &page.more })
}

/// The filtered campaign's name (its id when it is not this tenant's or is gone).
async fn campaign_name(state: &AppState, tenant_id: &str, campaign_id: &str) -> Option<String> {
    if campaign_id.is_empty() {
        return None;
    }
    match Campaigns::new(&*state.ports.table).get(tenant_id, campaign_id).await {
        Ok(Some(c)) => Some(c.name),
        _ => Some(campaign_id.to_owned()),
    }
}

pub struct HistoryEntry {
    pub badge: (&'static str, &'static str),
    pub failed: bool,
    pub at: When,
}

#[derive(Template)]
#[template(path = "messages_show.html")]
pub struct ShowPage {
    pub shell: Shell,
    pub m: MessageView,
    pub party: String,
    pub preview: String,
    pub status: Status,
    pub created: When,
    pub scheduled: Option<When>,
    pub history: Vec<HistoryEntry>,
    pub template_language: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    // Read under the viewer's tenant: another tenant's id is simply not found.
    let mut m = match Messages::new(&*state.ports.table).view(&tenant_id, &id).await {
        Ok(Some(m)) => m,
        Ok(None) => return page::not_found_page(),
        Err(e) => return page::failed("a message", e),
    };
    if let Err(e) = retention::messages_as_seen(&state.ports, &tenant_id, std::slice::from_mut(&mut m)).await {
        tracing::warn!(error = %e, "a message's file's retention failed to load");
    }
    let shell = Shell::load(&state, &viewer, &headers, "Message", "/app/messages").await;
    let history = m
        .status_history
        .iter()
        .map(|e| HistoryEntry {
            badge: message_status(e.status),
            failed: e.status == MessageStatus::Failed,
            // Exact to the second, not relative: statuses often follow each other within seconds.
            at: when(e.at, &shell.tz).to_the_second(),
        })
        .collect();
    // Meta's shape (`{"code": "en_US"}`) as stored for sending, or a plain code.
    let template_language = m
        .template
        .as_ref()
        .and_then(|t| t.get("language"))
        .and_then(|l| l.get("code").unwrap_or(l).as_str())
        .map(str::to_owned);
    let page = ShowPage {
        party: party(&m),
        preview: preview(&m),
        status: Status::of(m.status, m.error.as_ref()),
        created: when(m.created_at, &shell.tz),
        scheduled: m.schedule_at.map(|at| when(at, &shell.tz)),
        history,
        template_language,
        m,
        shell,
    };
    page::html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_its_code_and_title() {
        let e = MessageError { code: 131026, title: Some("Message undeliverable".into()), detail: None };
        assert_eq!(reason(&e), "131026 · Message undeliverable");
        let bare = MessageError { code: 131000, title: None, detail: None };
        assert_eq!(reason(&bare), "131000");
    }
}
