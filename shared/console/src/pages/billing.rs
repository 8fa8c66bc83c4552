//! Billing (`/app/billing`): the balance with its currency and the ledger (credits, debits,
//! refunds) newest first with the running balance, paged with "Load more" — the use cases of
//! `GET /billing/ledger`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use miping::app::AppState;
use miping::domain::billing::{self, EntryKind, LedgerEntry};
use miping::domain::{plans, tenants};

use crate::page::{self, Hx, Shell};
use crate::paging::{self, CursorQuery};
use crate::session::TenantAdmin;
use crate::view::{When, money, when};
use miping::domain::zone::Zone;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(show))
}

const PAGE: usize = 25;

pub struct EntryRow {
    pub at: When,
    pub kind: (&'static str, &'static str),
    pub description: String,
    /// Signed: "+100.00 INR", "-0.80 INR".
    pub amount: String,
    pub balance_after: String,
}

fn row(e: LedgerEntry, currency: &str, tz: &Zone) -> EntryRow {
    let kind = match e.kind {
        EntryKind::Credit => ("badge--success", "credit"),
        EntryKind::Debit => ("badge", "debit"),
        EntryKind::Refund => ("badge--info", "refund"),
        EntryKind::Adjustment => ("badge--warning", "correction"),
    };
    let signed = e.signed_amount();
    let sign = if signed.is_negative() { "" } else { "+" };
    let description = e.description.clone().or_else(|| e.reference.as_ref().map(|r| r.id.clone())).unwrap_or_default();
    EntryRow {
        at: when(e.at, tz),
        kind,
        description,
        amount: format!("{sign}{}", money(signed, currency)),
        balance_after: money(e.balance_after, currency),
    }
}

#[derive(Template)]
#[template(path = "billing.html")]
pub struct BillingPage {
    pub shell: Shell,
    pub balance: String,
    pub entries: Vec<EntryRow>,
    pub next: Option<String>,
}

/// The rows of one page and its "Load more" row (what the button's request swaps in). A template
/// of its own: askama renders a block nested in a condition as nothing.
#[derive(Template)]
#[template(path = "billing_rows.html")]
pub struct BillingRows<'a> {
    pub entries: &'a [EntryRow],
    pub next: &'a Option<String>,
}

/// `GET /app/billing[?cursor=]`: with a cursor and `HX-Request`, the next rows.
pub async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(q): Query<CursorQuery>,
) -> Response {
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let paging = cursor.is_some();
    let loaded = async {
        let tenant = tenants::get(&state.ports, &tenant_id).await?;
        let (plan, balance, ledger) = tokio::join!(
            plans::get(&state.ports, &tenant.plan_id),
            billing::balance(&state.ports, &tenant_id),
            billing::list(&state.ports, &tenant_id, PAGE, cursor),
        );
        Ok::<_, miping::domain::Error>((plan?.currency, balance?, ledger?))
    };
    let (shell, loaded) = tokio::join!(Shell::load(&state, &viewer, &headers, "Billing", "/app/billing"), loaded);
    let (currency, balance, (entries, next)) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return page::failed("billing", e);
        }
    };
    let page = BillingPage {
        balance: money(balance, &currency),
        entries: entries.into_iter().map(|e| row(e, &currency, &shell.tz)).collect(),
        shell,
        next: next.map(|c| paging::seal(&c)),
    };
    if paging {
        page::page_or_fragment(hx, StatusCode::OK, &page, BillingRows { entries: &page.entries, next: &page.next })
    } else {
        page::html(StatusCode::OK, &page)
    }
}
