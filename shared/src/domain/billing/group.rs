//! Group commit of one kind of balance change (the send worker's debits, the refunds of failed
//! messages), per tenant, in this process.
//!
//! A balance transaction may start only when the tenant's gate opens (`gate`: at most once per
//! interval per process), so changes that arrive one by one — a Lambda handles its SQS batch's
//! records concurrently, the local poller several jobs at once — wait for the next opening
//! together and are committed by one call (one balance write per ≤ 45 messages). The first to
//! arrive leads: it waits [`GATHER`] and then for the gate, and takes everything that arrived
//! meanwhile. The busier the tenant, the larger the groups: the write rate stays under the
//! gate's bound at any message rate.
//!
//! Nothing about the money changes: the commit function keeps its per-message outcomes (in
//! arrival order), its idempotency markers and its never-negative rule. If the shared commit
//! fails, each waiter commits alone and gets its own exact error.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;

use super::{BillingError, RefundOutcome, RefundRequest, gate};
use crate::ports::Ports;

/// How long the first change of a group waits for others to join it (when the gate is open).
pub const GATHER: Duration = Duration::from_millis(2);

type Waiters<R, O> = BTreeMap<String, Vec<(R, oneshot::Sender<O>)>>;

/// The changes of one kind waiting for their tenant's next commit.
pub struct Group<R, O> {
    pending: Mutex<Waiters<R, O>>,
    /// Commits made (each one balance transaction per ≤ 45 changes): an operational figure,
    /// also what the tests compare with the number of changes.
    commits: AtomicU64,
}

impl<R, O> Default for Group<R, O>
where
    R: Clone + Send + 'static,
    O: Send + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<R, O> Group<R, O>
where
    R: Clone + Send + 'static,
    O: Send + 'static,
{
    pub const fn new() -> Self {
        Self { pending: Mutex::new(BTreeMap::new()), commits: AtomicU64::new(0) }
    }

    /// Group commits made so far in this process.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits `request` with the tenant's other requests of the moment: `commit` gets them in
    /// arrival order and answers one outcome per request, in order.
    pub async fn join<C, F>(
        &'static self,
        ports: &Ports,
        tenant_id: &str,
        request: R,
        commit: C,
    ) -> Result<O, BillingError>
    where
        C: Fn(Ports, String, Vec<R>) -> F + Clone + Send + 'static,
        F: Future<Output = Result<Vec<O>, BillingError>> + Send,
    {
        let (reply, outcome) = oneshot::channel();
        let leads = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let group = pending.entry(tenant_id.to_owned()).or_default();
            group.push((request.clone(), reply));
            group.len() == 1
        };
        if leads {
            // The commit runs on its own task: if this caller is cancelled (a Lambda timeout, a
            // dropped future), the others in the group still get their answer.
            let (ports, tenant_id, commit) = (ports.clone(), tenant_id.to_owned(), commit.clone());
            tokio::spawn(async move {
                tokio::time::sleep(GATHER).await;
                gate::opened(&tenant_id).await;
                let group =
                    self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&tenant_id).unwrap_or_default();
                let (requests, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                self.commits.fetch_add(1, Ordering::Relaxed);
                if let Ok(outcomes) = commit(ports, tenant_id, requests).await {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(outcome);
                    }
                }
                // On an error the replies are dropped: each waiter commits alone (below).
            });
        }
        match outcome.await {
            Ok(outcome) => Ok(outcome),
            Err(_) => {
                let mut outcomes = commit(ports.clone(), tenant_id.to_owned(), vec![request]).await?;
                Ok(outcomes.pop().expect("one outcome per request"))
            }
        }
    }
}

static REFUNDS: Group<RefundRequest, RefundOutcome> = Group::new();

/// Gives back what the message was debited, once, committed together with the tenant's other
/// refunds of the moment (a webhook batch of failures, the send worker's and the reconciler's
/// owed refunds).
pub async fn refund(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    description: Option<String>,
) -> Result<RefundOutcome, BillingError> {
    let request = RefundRequest { message_id: message_id.to_owned(), description };
    REFUNDS
        .join(ports, tenant_id, request, |ports, tenant, requests| async move {
            super::refund_batch(&ports, &tenant, &requests).await
        })
        .await
}

/// Refund group commits made so far in this process.
pub fn refund_commits() -> u64 {
    REFUNDS.commits()
}
