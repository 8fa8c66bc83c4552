//! The tenant admin's start page (`GET /` signed in): WhatsApp health, this month's usage against
//! the plan, the balance, the running and scheduled campaigns, and 30-day charts of messages and
//! of credits spent (from the daily analytics counters).

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use miping::app::AppState;
use miping::domain::analytics;
use miping::domain::whatsapp::model::ConnectionView;
use miping::domain::{billing, plans, usage};

use crate::page::{self, Shell, TenantReads};
use crate::pages::campaigns::{Row, rows};
use crate::session::Viewer;
use crate::view::{number, percent_of, when};
use miping::domain::zone::Zone;

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub shell: Shell,
    pub connection: ConnectionView,
    pub connection_badge: (&'static str, &'static str),
    pub plan_name: String,
    pub messages_used: String,
    pub messages_limit: String,
    pub messages_value: u64,
    pub messages_max: u64,
    pub messages_percent: String,
    pub contacts_used: String,
    pub contacts_limit: String,
    pub contacts_value: u64,
    pub contacts_max: u64,
    pub balance: String,
    pub currency: String,
    pub period_start: String,
    pub campaigns: Vec<Row>,
    pub chart: Chart,
    pub cost: CostChart,
}

pub async fn show(state: &AppState, viewer: &Viewer, headers: &HeaderMap) -> Response {
    let Some(tenant_id) = viewer.tenant_id() else { return page::not_found_page() };
    // The chrome already read the tenant and its connection: the page uses those reads.
    let (shell, reads) = Shell::load_with_tenant(state, viewer, headers, "Dashboard", "/").await;
    let Some(TenantReads { tenant, connection }) = reads else { return page::not_found_page() };
    let loaded = async {
        let (tenant, connection) = (tenant?, connection?);
        let (plan, used, balance, campaigns, chart) = tokio::join!(
            plans::get(&state.ports, &tenant.plan_id),
            usage::current(&state.ports, tenant_id, tenant.starts_at),
            billing::balance(&state.ports, tenant_id),
            live_campaigns(state, tenant_id, &shell.tz),
            chart(state, tenant_id),
        );
        Ok::<_, miping::domain::Error>((plan?, used?, balance?, connection, campaigns?, chart?))
    }
    .await;
    let (plan, used, balance, connection, campaigns, (chart, cost)) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return page::failed("dashboard", e);
        }
    };
    let connection_badge = crate::view::connection_badge(connection.status);
    let page = DashboardPage {
        period_start: when(used.period_start, &shell.tz).date,
        shell,
        connection,
        connection_badge,
        plan_name: plan.name.clone(),
        messages_used: number(used.messages_sent),
        messages_limit: number(plan.monthly_message_limit),
        messages_value: used.messages_sent.min(plan.monthly_message_limit),
        messages_max: plan.monthly_message_limit.max(1),
        messages_percent: percent_of(used.messages_sent, plan.monthly_message_limit),
        contacts_used: number(used.contacts),
        contacts_limit: number(plan.contact_limit),
        contacts_value: used.contacts.min(plan.contact_limit),
        contacts_max: plan.contact_limit.max(1),
        balance: balance.to_string(),
        currency: plan.currency.clone(),
        campaigns,
        chart,
        cost,
    };
    page::html(StatusCode::OK, &page)
}

/// Campaigns read to find the live ones (the newest: older ones have long completed).
const CAMPAIGN_SCAN: usize = 50;
/// A campaign completed this recently is still shown (its last statuses arrive).
const RECENT_HOURS: i64 = 24;

/// Running and scheduled campaigns, then those completed in the last day.
async fn live_campaigns(state: &AppState, tenant_id: &str, tz: &Zone) -> Result<Vec<Row>, miping::domain::Error> {
    use miping::domain::campaigns::CampaignStatus::*;
    let (items, _) = rows(state, tenant_id, CAMPAIGN_SCAN, None).await?;
    let since = state.ports.clock.now() - chrono::Duration::hours(RECENT_HOURS);
    let mut shown: Vec<_> = items
        .iter()
        .filter(|(c, _)| match c.status {
            Running | Scheduled => true,
            Completed => c.completed_at.is_some_and(|t| t > since),
            Cancelled => false,
        })
        .collect();
    shown.sort_by_key(|(c, _)| c.status != Running);
    Ok(shown.into_iter().take(10).map(|(c, n)| Row::of(c, n, tz)).collect())
}

/// One day's bar: segments stacked from the bottom (read, delivered, sent, failed).
pub struct Bar {
    pub x: u32,
    pub label: String,
    /// (class, y, height)
    pub segments: Vec<(&'static str, u32, u32)>,
}

/// The 30-day chart of outbound messages by the status each is in now, per local day.
pub struct Chart {
    pub bars: Vec<Bar>,
    /// Cumulative: a read message was also sent and delivered.
    pub sent: String,
    pub delivered: String,
    pub read: String,
    pub failed: String,
    pub title: String,
}

const CHART_DAYS: i64 = 30;
const BAR_SLOT: u32 = 18;
const CHART_LEFT: u32 = 30;
const CHART_BASE: u32 = 150;
const CHART_HEIGHT: u32 = 130;

/// The last 30 local days from the daily analytics counters (`domain::analytics`): exact, one
/// query per counter shard whatever the tenant's volume.
async fn chart(state: &AppState, tenant_id: &str) -> Result<(Chart, CostChart), miping::domain::Error> {
    let today = analytics::today(&state.ports, tenant_id).await?;
    let from = today - chrono::Duration::days(CHART_DAYS - 1);
    let report = analytics::daily(&state.ports, tenant_id, analytics::Range { from, to: today }).await?;
    // Per day: read, delivered (not read), sent (not delivered), failed — each message once.
    let days: Vec<[u64; 4]> = report
        .items
        .iter()
        .map(|d| {
            let u = |v: i64| u64::try_from(v).unwrap_or(0);
            [u(d.read), u(d.delivered - d.read), u(d.sent - d.delivered), u(d.failed)]
        })
        .collect();
    let bars = stacked(&days, ["fill-read", "fill-delivered", "fill-sent", "fill-failed"], today);
    let sum = |k: usize| days.iter().map(|d| d[k]).sum::<u64>();
    let (read, delivered, sent, failed) = (sum(0), sum(1), sum(2), sum(3));
    let title = format!(
        "Messages per day over the last 30 days: {} sent, {} delivered, {} read, {} failed",
        number(sent + delivered + read),
        number(delivered + read),
        number(read),
        number(failed)
    );
    let chart = Chart {
        bars,
        sent: number(sent + delivered + read),
        delivered: number(delivered + read),
        read: number(read),
        failed: number(failed),
        title,
    };
    Ok((chart, cost_chart(&report.items, today)))
}

/// Stacked bars, one per day of `days` (ending `today`), segments bottom-up in `classes` order.
fn stacked(days: &[[u64; 4]], classes: [&'static str; 4], today: chrono::NaiveDate) -> Vec<Bar> {
    let peak = days.iter().map(|d| d.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let last = days.len() as i64 - 1;
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let mut top = CHART_BASE;
            let mut segments = Vec::new();
            for (k, n) in d.iter().enumerate() {
                let h = u32::try_from(n * u64::from(CHART_HEIGHT) / peak).unwrap_or(CHART_HEIGHT);
                let h = if *n > 0 { h.max(1) } else { 0 };
                if h > 0 {
                    top -= h.min(top);
                    segments.push((classes[k], top, h));
                }
            }
            let date = today - chrono::Duration::days(last - i as i64);
            Bar { x: CHART_LEFT + i as u32 * BAR_SLOT, label: date.format("%-d %b").to_string(), segments }
        })
        .collect()
}

/// What the last 30 days cost in credits, per day by Meta pricing category (net of refunds), and
/// the credits burnt (debited, refunded, net).
pub struct CostChart {
    pub bars: Vec<Bar>,
    /// (class, category, total over the 30 days)
    pub legend: Vec<(&'static str, &'static str, String)>,
    pub debited: String,
    pub refunded: String,
    pub net: String,
    pub title: String,
}

fn cost_chart(items: &[analytics::DayCounts], today: chrono::NaiveDate) -> CostChart {
    use miping::domain::money::Money;
    let units = |m: Money| u64::try_from(m.units()).unwrap_or(0);
    let days: Vec<[u64; 4]> = items
        .iter()
        .map(|d| [units(d.cost.marketing), units(d.cost.utility), units(d.cost.authentication), units(d.cost.service)])
        .collect();
    let total = |k: usize| Money::from_units(days.iter().map(|d| d[k]).sum::<u64>() as i64);
    let sum = |f: fn(&analytics::DayCounts) -> Money| Money::from_units(items.iter().map(|d| f(d).units()).sum());
    let (debited, refunded) = (sum(|d| d.credits_debited), sum(|d| d.credits_refunded));
    let net = Money::from_units(debited.units() - refunded.units());
    let classes = ["fill-cat-marketing", "fill-cat-utility", "fill-cat-authentication", "fill-cat-service"];
    let names = ["Marketing", "Utility", "Authentication", "Service"];
    let legend: Vec<_> = (0..4).map(|k| (classes[k], names[k], total(k).to_string())).collect();
    let title = format!(
        "Credits spent per day over the last 30 days, by category: {}; {net} net ({debited} debited, {refunded} refunded)",
        legend.iter().map(|(_, n, t)| format!("{n} {t}")).collect::<Vec<_>>().join(", ")
    );
    CostChart {
        bars: stacked(&days, classes, today),
        legend,
        debited: debited.to_string(),
        refunded: refunded.to_string(),
        net: net.to_string(),
        title,
    }
}
