//! The reconciler: the safety net for work that a crash, a failed queue send or a lost job left
//! stranded between a table commit and its queue hand-off. It runs on a schedule (an
//! EventBridge-scheduled Lambda on AWS, an in-process timer locally) and finds that work
//! **through sparse indexes only** — never a scan — so an idle run costs a fixed handful of
//! index queries however large the table:
//!
//! - the **hand-off index** (`keys::HANDOFF`): a one-off message `queued` but never claimed by
//!   the send worker (its job was not queued: `dispatch`, or the scheduler's release), a campaign
//!   `running` with no fan-out checkpoint for the grace (its page job was never queued, or was
//!   lost), a `cancelled` campaign with sweep shards left. Its job is queued again (the send
//!   worker's claim, the fan-out's page checkpoint and the sweep's `queued` filter make a
//!   duplicate job harmless) and its time in the index moves to now, so it is looked at again
//!   only after another grace;
//! - the **pending-refund index** (`keys::REFUND`): a failure or cancellation whose refund did
//!   not complete (`messages::settle`);
//! - the **held index** (`keys::HELD`): the tenants with parked messages, one query per tenant
//!   (`sending::hold::tenants_in_shard`); those that may send again (a release job was not
//!   queued, or a start date simply came) get their release queued.
//!
//! Everything waits out a grace first, so the reconciler never races the live path it backs up.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::domain::Error;
use crate::domain::campaigns::{cancel, fanout};
use crate::domain::messages::{MessageStatus, dispatch, settle};
use crate::domain::sending::hold;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, SkCond, TableError, Update};
use crate::store::keys;

/// How long an item stays in an index before the reconciler acts on it (`MIPING_RECONCILE_GRACE_SECONDS`).
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10 * 60);
/// Items handled per index shard and run; what is left waits for the next run.
const MAX_PER_SHARD: usize = 500;
const PAGE: usize = 100;
/// Tenants with parked messages looked at per run.
const MAX_HELD_TENANTS: usize = 1000;

/// How often the local process runs it (`MIPING_RECONCILE_INTERVAL_SECONDS`; on AWS the
/// EventBridge schedule in template.yaml, every 5 minutes).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconcileOptions {
    pub grace: Duration,
    pub interval: Duration,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self { grace: DEFAULT_GRACE, interval: DEFAULT_INTERVAL }
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Stranded one-off messages whose send job was queued again.
    pub messages_requeued: usize,
    /// Running campaigns whose fan-out page was queued again.
    pub campaigns_resumed: usize,
    /// Sweep jobs of cancelled campaigns queued again.
    pub sweeps_requeued: usize,
    /// Index entries of items that had moved on, taken out.
    pub cleared: usize,
    /// Pending refunds settled.
    pub refunds_settled: usize,
    /// Tenants whose parked messages were released.
    pub held_tenants_released: usize,
}

pub async fn run(ports: &Ports, options: ReconcileOptions) -> Result<Reconciled, Error> {
    let cutoff_ms = ports.clock.now().timestamp_millis() - options.grace.as_millis() as i64;
    let mut done = Reconciled::default();
    for shard in 0..keys::HANDOFF_SHARDS {
        handoffs(ports, shard, cutoff_ms, &mut done).await?;
    }
    for shard in 0..keys::REFUND_SHARDS {
        refunds(ports, shard, cutoff_ms, &mut done).await?;
    }
    let mut tenants = BTreeSet::new();
    for shard in 0..keys::HELD_SHARDS {
        tenants.extend(hold::tenants_in_shard(ports, shard, MAX_HELD_TENANTS).await?);
    }
    for tenant_id in tenants {
        if hold::may_release(ports, &tenant_id).await? {
            fanout::enqueue_release(ports, &tenant_id).await?;
            done.held_tenants_released += 1;
        }
    }
    if done != Reconciled::default() {
        tracing::warn!(?done, "reconciler found stranded work");
    }
    Ok(done)
}

/// Pages of one index shard's entries that entered before `cutoff_ms`.
async fn stale(
    ports: &Ports,
    index_pk: String,
    cutoff_ms: i64,
    cursor: Option<String>,
) -> Result<(Vec<Item>, Option<String>), TableError> {
    let query = Query::index(keys::HANDOFF, index_pk)
        .sk(SkCond::Lt(keys::entered_before(cutoff_ms)))
        .limit(PAGE)
        .cursor(cursor);
    let page = ports.table.query(query).await?;
    Ok((page.items, page.next_cursor))
}

async fn handoffs(ports: &Ports, shard: u64, cutoff_ms: i64, done: &mut Reconciled) -> Result<(), Error> {
    let (mut seen, mut cursor) = (0, None);
    while seen < MAX_PER_SHARD {
        let (items, next) = stale(ports, keys::handoff_shard(shard), cutoff_ms, cursor).await?;
        seen += items.len();
        for item in &items {
            handoff(ports, item, done).await?;
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(())
}

async fn handoff(ports: &Ports, item: &Item, done: &mut Reconciled) -> Result<(), Error> {
    let Some(key) = item.key() else { return Ok(()) };
    let status = item.get_str("status").unwrap_or_default();
    let (tenant_id, id) = (item.get_str("tenant_id").unwrap_or_default(), item.get_str("id").unwrap_or_default());
    let requeued = match key.sk.as_str() {
        "MSG" if status == MessageStatus::Queued.as_str() => {
            dispatch::requeue(ports, &[item]).await?;
            done.messages_requeued += 1;
            true
        }
        "CAMPAIGN" if status == "running" => {
            let page = item.get_i64("fanout_page").unwrap_or(0);
            let job =
                fanout::FanoutJob::Page { tenant_id: tenant_id.into(), campaign_id: id.into(), page, resume: true };
            fanout::enqueue(ports, &job, Duration::ZERO).await?;
            done.campaigns_resumed += 1;
            true
        }
        "CAMPAIGN" if status == "cancelled" => {
            let queued = cancel::queue_sweeps(ports, tenant_id, id).await?;
            done.sweeps_requeued += queued;
            queued > 0
        }
        _ => false,
    };
    tracing::info!(pk = %key.pk, status, requeued, "stranded hand-off");
    // Only the entry as read (a claim or a checkpoint since wins).
    let same =
        Cond::Eq(keys::HANDOFF.sk_attr().into(), item.get(keys::HANDOFF.sk_attr()).cloned().unwrap_or(Value::Null));
    let update = if requeued {
        let (gsi_pk, gsi_sk) = keys::handoff(&key.pk, ports.clock.now().timestamp_millis());
        Update::new().set(keys::HANDOFF.pk_attr(), gsi_pk).set(keys::HANDOFF.sk_attr(), gsi_sk)
    } else {
        done.cleared += 1;
        Update::new().remove(keys::HANDOFF.pk_attr()).remove(keys::HANDOFF.sk_attr())
    };
    match ports.table.update(&key, update, Some(same)).await {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn refunds(ports: &Ports, shard: u64, cutoff_ms: i64, done: &mut Reconciled) -> Result<(), Error> {
    let (mut seen, mut cursor) = (0, None);
    while seen < MAX_PER_SHARD {
        let (items, next) = stale(ports, keys::refund_shard(shard), cutoff_ms, cursor).await?;
        seen += items.len();
        for item in &items {
            settle::resolve(ports, item).await?;
            done.refunds_settled += 1;
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(())
}
