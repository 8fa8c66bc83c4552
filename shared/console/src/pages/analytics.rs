//! Analytics (`/app/analytics?from=&to=`): the tenant's days (funnel, inbound, cost, credits) and
//! the funnel per template over a date range — the use cases of `GET /analytics/daily` and
//! `GET /analytics/templates`, with the range's errors next to its fields. The super admin's
//! platform page (`/app/platform`) is each tenant's totals over a range (`GET /admin/analytics/daily`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use miping::app::AppState;
use miping::domain::analytics::{self, DayCounts, RangeQuery, TemplateCounts};

use crate::forms::{Errors, status_of};
use crate::page::{self, Shell};
use crate::session::TenantAdmin;
use crate::view::number;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(show))
}

pub struct DayRow {
    pub date: String,
    pub sent: String,
    pub delivered: String,
    pub read: String,
    pub failed: String,
    pub inbound: String,
    pub cost: String,
    pub credits: String,
}

impl DayRow {
    fn of(d: &DayCounts) -> Self {
        let n = |v: i64| number(u64::try_from(v).unwrap_or(0));
        let c = &d.cost;
        let net = c.marketing.units() + c.utility.units() + c.authentication.units() + c.service.units();
        Self {
            date: d.date.clone(),
            sent: n(d.sent),
            delivered: n(d.delivered),
            read: n(d.read),
            failed: n(d.failed),
            inbound: n(d.inbound),
            cost: miping::domain::money::Money::from_units(net).to_string(),
            credits: format!("{} / {}", d.credits_debited, d.credits_refunded),
        }
    }
}

pub struct TemplateRow {
    pub name: String,
    pub language: String,
    pub sent: String,
    pub delivered: String,
    pub read: String,
    pub failed: String,
    /// Read of sent, as a percentage.
    pub read_rate: String,
}

impl TemplateRow {
    fn of(t: &TemplateCounts) -> Self {
        let n = |v: i64| number(u64::try_from(v).unwrap_or(0));
        let rate = if t.sent > 0 { format!("{}%", t.read * 100 / t.sent) } else { "—".to_owned() };
        Self {
            name: t.name.clone(),
            language: t.language.clone(),
            sent: n(t.sent),
            delivered: n(t.delivered),
            read: n(t.read),
            failed: n(t.failed),
            read_rate: rate,
        }
    }
}

#[derive(Template)]
#[template(path = "analytics.html")]
pub struct AnalyticsPage {
    pub shell: Shell,
    pub errors: Errors,
    pub from: String,
    pub to: String,
    pub total: DayRow,
    /// Newest day first.
    pub days: Vec<DayRow>,
    pub templates: Vec<TemplateRow>,
}

/// `GET /app/analytics?from=&to=` (a GET form: the range is in the URL).
async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    Query(query): Query<RangeQuery>,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "Analytics", "/app/analytics").await;
    let from = query.from.clone().unwrap_or_default();
    let to = query.to.clone().unwrap_or_default();
    let loaded = async {
        let daily = analytics::tenant_daily(&state.ports, &tenant_id, &query).await?;
        let templates = analytics::tenant_templates(&state.ports, &tenant_id, &query).await?;
        Ok::<_, miping::domain::Error>((daily, templates))
    }
    .await;
    let (status, errors, days, templates) = match loaded {
        Ok((daily, templates)) => (StatusCode::OK, Errors::none(), daily.items, templates.items),
        Err(e) => match status_of(&e) {
            Ok(status) => (status, Errors::from_error(&e, &["from", "to"]), Vec::new(), Vec::new()),
            Err(r) => return r,
        },
    };
    let mut total = DayCounts { date: "Total".to_owned(), ..DayCounts::default() };
    for d in &days {
        total.add(d);
    }
    let (from, to) = match (days.first(), days.last()) {
        (Some(f), Some(l)) => (f.date.clone(), l.date.clone()),
        _ => (from, to),
    };
    let page = AnalyticsPage {
        shell,
        errors,
        from,
        to,
        total: DayRow::of(&total),
        days: days.iter().rev().map(DayRow::of).collect(),
        templates: templates.iter().map(TemplateRow::of).collect(),
    };
    page::html(status, &page)
}

/// One tenant's totals over the range.
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub totals: DayRow,
}

#[derive(Template)]
#[template(path = "platform.html")]
pub struct PlatformPage {
    pub shell: Shell,
    pub errors: Errors,
    pub from: String,
    pub to: String,
    pub total: DayRow,
    pub tenants: Vec<TenantRow>,
}

pub fn platform_routes() -> Router<AppState> {
    Router::new().route("/", get(platform))
}

/// `GET /app/platform?from=&to=` (super admin): each tenant's totals over the range, and the
/// platform's — the use case of `GET /admin/analytics/daily`.
async fn platform(
    State(state): State<AppState>,
    crate::session::SuperAdmin(viewer): crate::session::SuperAdmin,
    headers: HeaderMap,
    Query(query): Query<RangeQuery>,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "Platform analytics", "/app/platform").await;
    let admin = analytics::AdminQuery { tenant_id: None, from: query.from.clone(), to: query.to.clone() };
    let (status, errors, report) = match analytics::platform_daily(&state.ports, &admin).await {
        Ok(r) => (StatusCode::OK, Errors::none(), Some(r)),
        Err(e) => match status_of(&e) {
            Ok(status) => (status, Errors::from_error(&e, &["from", "to"]), None),
            Err(r) => return r,
        },
    };
    let sum = |items: &[DayCounts]| {
        let mut t = DayCounts { date: "Total".to_owned(), ..DayCounts::default() };
        for d in items {
            t.add(d);
        }
        DayRow::of(&t)
    };
    let (from, to) = match report.as_ref().and_then(|r| Some((r.items.first()?, r.items.last()?))) {
        Some((f, l)) => (f.date.clone(), l.date.clone()),
        None => (query.from.unwrap_or_default(), query.to.unwrap_or_default()),
    };
    let page = PlatformPage {
        shell,
        errors,
        from,
        to,
        total: sum(report.as_ref().map(|r| r.items.as_slice()).unwrap_or_default()),
        tenants: report
            .map(|r| {
                r.tenants
                    .iter()
                    .map(|t| TenantRow { id: t.tenant_id.clone(), name: t.name.clone(), totals: sum(&t.items) })
                    .collect()
            })
            .unwrap_or_default(),
    };
    page::html(status, &page)
}
