//! Analytics (`/app/analytics?from=&to=`): the tenant's days (funnel, inbound, cost, credits) and
//! the funnel per template over a date range — the use cases of `GET /analytics/daily` and
//! `GET /analytics/templates`, with the range's errors next to its fields.

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
