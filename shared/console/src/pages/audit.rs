//! The audit log (`/app/audit`): a tenant admin sees the tenant's entries (the super admin's
//! actions on it included), the super admin every entry with a tenant filter. Newest first, the
//! filters (action, actor, dates, tenant) in the URL, "Load more". The same use case as
//! `GET /audit-log` and `GET /admin/audit-log`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use miping::app::AppState;
use miping::domain::audit::{self, ActorType, Entry, Filter, Scope};
use miping::domain::user::Role;
use miping::domain::zone::Zone;
use miping::domain::{Kind, tenants};
use serde::Deserialize;
use serde_json::Value;

use crate::forms::Errors;
use crate::page::{self, Hx, Shell};
use crate::paging;
use crate::session::Viewer;
use crate::view::{When, when};

const PAGE_SIZE: usize = 50;
const FIELDS: &[&str] = &["action", "actor_id", "from", "to", "tenant_id"];

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(list))
}

#[derive(Deserialize, Default)]
pub struct LogQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor_id: String,
    /// A day (`YYYY-MM-DD`) in the page's time zone.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The super admin's tenant filter.
    #[serde(default)]
    tenant_id: String,
    #[serde(default)]
    cursor: Option<String>,
}

impl LogQuery {
    fn params(&self) -> [(&'static str, &str); 5] {
        [
            ("action", self.action.as_str()),
            ("actor_id", self.actor_id.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("tenant_id", self.tenant_id.as_str()),
        ]
    }
}

pub struct Row {
    pub at: When,
    pub actor_badge: (&'static str, &'static str),
    pub actor: String,
    /// The log filtered to this actor (empty without an actor id), action and tenant.
    pub actor_href: String,
    pub action_href: String,
    pub action: String,
    pub target: String,
    pub tenant_id: String,
    pub tenant_href: String,
    /// "role: TENANT_AGENT → TENANT_ADMIN"
    pub changes: Vec<String>,
    pub ip: String,
}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Row {
    fn of(e: Entry, tz: &Zone) -> Self {
        let actor_badge = match e.actor.kind {
            ActorType::User => ("", "user"),
            ActorType::SuperAdmin => ("badge--warning", "super admin"),
            ActorType::ApiKey => ("badge--info", "API key"),
            ActorType::System => ("badge--draft", "system"),
        };
        let who = e.actor.name.clone().filter(|n| !n.is_empty());
        let detail = e.actor.email.clone().or_else(|| e.actor.key_prefix.clone().map(|p| format!("{p}…")));
        let actor = match (who, detail) {
            (Some(n), Some(d)) => format!("{n} ({d})"),
            (Some(n), None) => n,
            (None, Some(d)) => d,
            (None, None) => "unknown".into(),
        };
        let target = match &e.target.id {
            Some(id) => format!("{} {id}", e.target.kind),
            None => e.target.kind.clone(),
        };
        let changes = e.changes.0.iter().map(|(f, (b, a))| format!("{f}: {} → {}", shown(b), shown(a))).collect();
        let filter_by = |name: &str, value: &str| {
            if value.is_empty() { String::new() } else { paging::href("/app/audit", &[(name, value)]) }
        };
        let tenant_id = e.tenant_id.unwrap_or_default();
        Row {
            at: when(e.at, tz),
            actor_badge,
            actor,
            actor_href: filter_by("actor_id", e.actor.id.as_deref().unwrap_or_default()),
            action_href: filter_by("action", &e.action),
            action: e.action,
            target,
            tenant_href: filter_by("tenant_id", &tenant_id),
            tenant_id,
            changes,
            ip: e.ip.unwrap_or_default(),
        }
    }
}

/// The rows after a "Load more".
#[derive(Template)]
#[template(path = "audit_rows.html")]
pub struct Rows<'a> {
    pub rows: &'a [Row],
    pub more: &'a Option<String>,
    pub platform: bool,
}

#[derive(Template)]
#[template(path = "audit_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub platform: bool,
    pub actions: &'static [&'static str],
    pub q: LogQuery,
    pub errors: Errors,
    pub rows: Vec<Row>,
    pub more: Option<String>,
    pub continued: bool,
}

impl ListPage {
    pub fn filtered(&self) -> bool {
        self.q.params().iter().any(|(_, v)| !v.is_empty())
    }
}

/// The first (`end` false) or last instant of `day` in `tz`.
fn day_bound(day: &str, tz: &Zone, end: bool) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    let time = if end { date.and_hms_milli_opt(23, 59, 59, 999)? } else { date.and_hms_opt(0, 0, 0)? };
    tz.earliest(time)
}

/// `GET /app/audit[?action=&actor_id=&from=&to=&tenant_id=&cursor=]`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    hx: Hx,
    Query(q): Query<LogQuery>,
) -> Response {
    let platform = match viewer.role() {
        Role::SuperAdmin => true,
        Role::TenantAdmin if viewer.tenant_id().is_some() => false,
        _ => return page::forbidden_page(&viewer),
    };
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let shell = Shell::load(&state, &viewer, &headers, "Audit log", "/app/audit").await;
    let tz = &shell.tz;
    let mut errors = Errors::none();
    let mut day = |field: &str, value: &str, end: bool| {
        if value.trim().is_empty() {
            return None;
        }
        let bound = day_bound(value, tz, end);
        if bound.is_none() {
            errors = std::mem::take(&mut errors).field(field, "Enter a date (year-month-day).");
        }
        bound
    };
    let (from, to) = (day("from", &q.from, false), day("to", &q.to, true));
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = Filter { actor_id: non_empty(&q.actor_id), action: non_empty(&q.action), from, to };
    if errors.is_empty()
        && let Err(e) = audit::validate(&filter)
    {
        errors = Errors::from_error(&e, FIELDS);
    }
    let tenant = match (platform, non_empty(&q.tenant_id)) {
        (false, _) => viewer.tenant_id().map(str::to_owned),
        (true, None) => None,
        (true, Some(id)) => match tenants::get(&state.ports, &id).await {
            Ok(t) => Some(t.id),
            Err(e) if e.kind == Kind::NotFound => {
                errors = errors.field("tenant_id", "No tenant has this id.");
                None
            }
            Err(e) => return page::failed("audit log", e),
        },
    };
    let (rows, next) = if errors.is_empty() {
        let scope = tenant.as_deref().map_or(Scope::Platform, Scope::Tenant);
        match audit::list(&state.ports, scope, &filter, PAGE_SIZE, cursor.clone()).await {
            Ok(v) => v,
            Err(e) => return paging::list_failed(&e),
        }
    } else {
        (Vec::new(), None)
    };
    let more = next.map(|c| {
        let sealed = paging::seal(&c);
        let mut params = q.params().to_vec();
        params.push(("cursor", &sealed));
        paging::href("/app/audit", &params)
    });
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage {
        platform,
        actions: audit::ACTIONS,
        rows: rows.into_iter().map(|e| Row::of(e, tz)).collect(),
        more,
        continued: cursor.is_some(),
        errors,
        q,
        shell,
    };
    page::page_or_fragment(hx, status, &page, Rows { rows: &page.rows, more: &page.more, platform })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_bounded_in_the_time_zone() {
        let tz = &Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(day_bound("2026-12-06", tz, false).unwrap().to_rfc3339(), "2026-12-05T18:30:00+00:00");
        assert_eq!(day_bound("2026-12-06", tz, true).unwrap().to_rfc3339(), "2026-12-06T18:29:59.999+00:00");
        assert_eq!(day_bound("06/12/2026", tz, false), None);
    }
}
