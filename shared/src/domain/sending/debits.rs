//! Group commit of the send worker's debits, per tenant (`billing::group`).
//!
//! Every debit rewrites the tenant's balance item (docs/billing.md). Debiting each message on
//! its own would write that one item once per message — 1,000 times a second for a prepaid
//! tenant sending at 1,000 msg/s, twice the SPEC's ceiling of 500 writes/s per item. Instead,
//! the debits that arrive in this process for one tenant until its balance gate next opens
//! (`billing::gate`: at most one balance transaction per interval per process) are committed
//! together by one `billing::debit` call (one balance write per ≤ 45 messages).
//!
//! Nothing about the money changes: `billing::debit` keeps its per-message outcomes (in arrival
//! order, so a cheaper later message never overtakes an earlier one), its idempotency markers
//! and its never-negative rule. If the shared commit fails, each waiter debits alone and gets
//! its own exact error.

use crate::domain::billing::group::Group;
use crate::domain::billing::{self, BillingError, DebitOutcome, DebitRequest};
use crate::ports::Ports;

static DEBITS: Group<DebitRequest, DebitOutcome> = Group::new();

/// Group commits this process has made so far.
pub fn commits() -> u64 {
    DEBITS.commits()
}

/// Debits one message, committed together with the tenant's other debits of the moment.
pub async fn debit(ports: &Ports, tenant_id: &str, request: DebitRequest) -> Result<DebitOutcome, BillingError> {
    DEBITS
        .join(ports, tenant_id, request, |ports, tenant, requests| async move {
            billing::debit(&ports, &tenant, &requests).await
        })
        .await
}
