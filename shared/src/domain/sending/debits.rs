//! Group commit of the send worker's debits, per tenant.
//!
//! Every debit rewrites the tenant's balance item (docs/billing.md). Debiting each message on
//! its own would write that one item once per message — 1,000 times a second for a prepaid
//! tenant sending at 1,000 msg/s, twice the SPEC's ceiling of 500 writes/s per item. Instead,
//! the debits that arrive in this process for one tenant within a short window ([`GATHER`]) are
//! committed together by one `billing::debit` call (one balance write per ≤ 45 messages). A
//! Lambda handles its SQS batch's records concurrently, and the local poller handles several at
//! once, so concurrent sends share commits; a lone send waits only the window.
//!
//! Nothing about the money changes: `billing::debit` keeps its per-message outcomes (in arrival
//! order, so a cheaper later message never overtakes an earlier one), its idempotency markers
//! and its never-negative rule. If the shared commit fails, each waiter debits alone and gets
//! its own exact error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::domain::billing::{self, BillingError, DebitOutcome, DebitRequest};
use crate::ports::Ports;

/// How long the first debit of a group waits for others to join it.
pub const GATHER: Duration = Duration::from_millis(2);

type Waiter = (DebitRequest, oneshot::Sender<DebitOutcome>);

/// Per tenant, the debits waiting for the group's commit.
static PENDING: LazyLock<Mutex<HashMap<String, Vec<Waiter>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
/// Commits made by this process (each one balance write): an operational figure, also what
/// the tests compare with the number of debits.
static COMMITS: AtomicU64 = AtomicU64::new(0);

/// Group commits this process has made so far.
pub fn commits() -> u64 {
    COMMITS.load(Ordering::Relaxed)
}

/// Debits one message, committed together with the tenant's other debits of the moment.
pub async fn debit(ports: &Ports, tenant_id: &str, request: DebitRequest) -> Result<DebitOutcome, BillingError> {
    let (reply, outcome) = oneshot::channel();
    let leads = {
        let mut pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let group = pending.entry(tenant_id.to_owned()).or_default();
        group.push((request.clone(), reply));
        group.len() == 1
    };
    if leads {
        // The commit runs on its own task: if this caller is cancelled (a Lambda timeout, a
        // dropped future), the others in the group still get their answer.
        let (ports, tenant_id) = (ports.clone(), tenant_id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(GATHER).await;
            let group =
                PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&tenant_id).unwrap_or_default();
            let (requests, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
            COMMITS.fetch_add(1, Ordering::Relaxed);
            if let Ok(outcomes) = billing::debit(&ports, &tenant_id, &requests).await {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            // On an error the replies are dropped: each waiter retries alone (below).
        });
    }
    match outcome.await {
        Ok(outcome) => Ok(outcome),
        Err(_) => {
            let mut outcomes = billing::debit(ports, tenant_id, std::slice::from_ref(&request)).await?;
            Ok(outcomes.pop().expect("one outcome per request"))
        }
    }
}
