//! `POST /campaigns/{id}/cancel`: the campaign stops creating messages, its unsent (`queued`)
//! messages become `cancelled`, and the quota it will not use is given back. Idempotent: a
//! cancelled campaign answers as it is, and its sweep is queued again for every shard not swept
//! yet (so a retry after a failed or interrupted cancel finishes the job).
//!
//! - A scheduled campaign has no messages: it leaves the due index and gives its whole
//!   reservation back, in one transaction, so the scheduler can never release it.
//! - A running or completed one is marked `cancelled` first, in one transaction with a small
//!   "cancelled" item ([`keys::campaign_cancelled`]) that the send worker reads before every
//!   campaign message it would send: from that commit on, **nothing more is sent**, whatever
//!   happens to the sweep (its jobs not queued, the process dying, a job dead-lettered) — a
//!   message whose job comes is cancelled by the worker itself. Every fan-out write is
//!   conditioned on the campaign running, so no message is created either, and the number
//!   created is final: [`settle`] gives back the reservation the fan-out did not use (once,
//!   guarded by `settled`). Then one sweep job per index shard walks the campaign's messages and
//!   compare-and-sets each `queued` one to `cancelled` (with its counter shard and a quota give
//!   back, in the same transaction). A message the send worker already claimed (`sending`) is in
//!   flight and not cancelled; a cancelled one is never sent (the worker's claim requires
//!   `queued`).
//! - A cancelled message that was debited by an earlier attempt (a definite Meta error put it
//!   back to `queued` after the debit) is marked refund-pending in the same write and refunded
//!   (`messages::settle`).
//! - Until every shard is swept, the campaign sits in the hand-off index: the reconciler queues
//!   the missing sweeps again for a campaign that stayed there past its grace.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fanout::{self, FanoutJob, SWEEP_DELAY};
use super::{Campaign, CampaignStatus};
use crate::domain::Error;
use crate::domain::callbacks::events as callbacks;
use crate::domain::messages::status::StatusReport;
use crate::domain::messages::{MessageStatus, settle};
use crate::domain::sending::hold::HELD_ATTR;
use crate::domain::usage;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, TableError, TxOp, Update};
use crate::store::{campaigns, keys};

/// Messages read per sweep job.
const SWEEP_PAGE: usize = 200;

/// The attribute of the campaign item recording that sweep shard `n` finished.
fn swept_attr(shard: u64) -> String {
    format!("swept_{shard}")
}

pub async fn cancel(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Campaign, Error> {
    for _ in 0..5 {
        let c = campaigns::Campaigns::new(&*ports.table)
            .get(tenant_id, campaign_id)
            .await?
            .ok_or_else(|| Error::not_found("campaign"))?;
        let now = Value::String(ports.clock.now().to_rfc3339());
        let key = campaigns::key(tenant_id, campaign_id);
        match c.status {
            CampaignStatus::Cancelled => {
                // Idempotent, and a retry finishes what an interrupted cancel left.
                queue_sweeps(ports, tenant_id, campaign_id).await?;
                return Ok(c);
            }
            CampaignStatus::Scheduled => {
                let update = Update::new()
                    .set("status", CampaignStatus::Cancelled.as_str())
                    .set("cancelled_at", now)
                    .set("settled", true)
                    .set("total", 0)
                    .remove(keys::DUE.pk_attr())
                    .remove(keys::DUE.sk_attr());
                let mut ops = vec![TxOp::Update {
                    key,
                    update,
                    cond: Some(Cond::eq("status", CampaignStatus::Scheduled.as_str())),
                }];
                if c.reserved != 0 {
                    ops.push(usage::adjust_op(tenant_id, &c.usage_period, -c.reserved));
                }
                match ports.table.transact(ops).await {
                    Ok(()) => break,
                    Err(TableError::TransactionCanceled { .. }) => continue, // released meanwhile
                    Err(e) => return Err(e.into()),
                }
            }
            CampaignStatus::Running | CampaignStatus::Completed => {
                let (gsi_pk, gsi_sk) = keys::handoff(&key.pk, ports.clock.now().timestamp_millis());
                let update = Update::new()
                    .set("status", CampaignStatus::Cancelled.as_str())
                    .set("cancelled_at", now)
                    .set(keys::HANDOFF.pk_attr(), gsi_pk)
                    .set(keys::HANDOFF.sk_attr(), gsi_sk);
                let marker = Item::new(keys::campaign_cancelled(tenant_id, campaign_id))
                    .with("tenant_id", tenant_id)
                    .with("campaign_id", campaign_id)
                    .with("usage_period", c.usage_period.clone());
                let ops = vec![
                    TxOp::Update { key, update, cond: Some(Cond::eq("status", c.status.as_str())) },
                    TxOp::Put { item: marker, cond: None },
                ];
                match ports.table.transact(ops).await {
                    Ok(()) => {}
                    Err(TableError::TransactionCanceled { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
                settle(ports, tenant_id, campaign_id).await?;
                // Cancelled already, and nothing more is sent; sweep jobs that cannot be queued
                // are queued again by a retry of this request or by the reconciler.
                queue_sweeps(ports, tenant_id, campaign_id).await?;
                break;
            }
        }
    }
    campaigns::Campaigns::new(&*ports.table)
        .get(tenant_id, campaign_id)
        .await?
        .ok_or_else(|| Error::not_found("campaign"))
}

/// Queues the sweep of every shard of a cancelled campaign not swept yet. Returns how many.
pub async fn queue_sweeps(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<usize, Error> {
    let Some(item) = ports.table.get(&campaigns::key(tenant_id, campaign_id)).await? else { return Ok(0) };
    let mut queued = 0;
    for shard in (0..keys::CAMPAIGN_MESSAGE_SHARDS).filter(|s| item.get(&swept_attr(*s)).is_none()) {
        let job = FanoutJob::CancelSweep {
            tenant_id: tenant_id.into(),
            campaign_id: campaign_id.into(),
            shard,
            cursor: None,
        };
        fanout::enqueue(ports, &job, SWEEP_DELAY).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Gives back, once, the reservation a cancelled campaign's fan-out did not use, and fixes its
/// total to what was created or skipped. Safe to call any number of times, from the cancel and
/// from fan-out jobs that find the campaign cancelled.
pub async fn settle(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<(), Error> {
    let Some(c) = campaigns::Campaigns::new(&*ports.table).get(tenant_id, campaign_id).await? else { return Ok(()) };
    if c.settled || c.status != CampaignStatus::Cancelled {
        return Ok(());
    }
    let total = c.created + c.skipped_opted_out + c.skipped_missing_data;
    let update = Update::new().set("settled", true).set("total", total);
    let cond = Cond::And(vec![
        Cond::eq("status", CampaignStatus::Cancelled.as_str()),
        Cond::eq("settled", false),
        Cond::eq("created", c.created),
    ]);
    let mut ops = vec![TxOp::Update { key: campaigns::key(tenant_id, campaign_id), update, cond: Some(cond) }];
    let unused = c.reserved - c.created;
    if unused != 0 {
        ops.push(usage::adjust_op(tenant_id, &c.usage_period, -unused));
    }
    match ports.table.transact(ops).await {
        Ok(()) => Ok(()),
        // Settled by someone else meanwhile.
        Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// One page of the cancel sweep over one index shard; queues the next page, or records the
/// shard as swept (and, once every shard is, takes the campaign out of the hand-off index).
pub async fn sweep(
    ports: &Ports,
    tenant_id: &str,
    campaign_id: &str,
    shard: u64,
    cursor: Option<String>,
) -> Result<(), Error> {
    let c = campaigns::Campaigns::new(&*ports.table).get(tenant_id, campaign_id).await?;
    let Some(c) = c.filter(|c| c.status == CampaignStatus::Cancelled) else { return Ok(()) };
    let query = Query::index(keys::SECONDARY, keys::campaign_messages(tenant_id, campaign_id, shard))
        .limit(SWEEP_PAGE)
        .cursor(cursor)
        .filter(Cond::eq("status", MessageStatus::Queued.as_str()));
    let page = ports.table.query(query).await?;
    let target = Target { tenant_id: &c.tenant_id, campaign_id: &c.id, usage_period: &c.usage_period };
    for batch in page.items.chunks(super::fanout::sweep_batch()) {
        cancel_batch(ports, &target, batch).await?;
    }
    match page.next_cursor {
        Some(next) => {
            let job = FanoutJob::CancelSweep {
                tenant_id: tenant_id.into(),
                campaign_id: campaign_id.into(),
                shard,
                cursor: Some(next),
            };
            fanout::enqueue(ports, &job, std::time::Duration::ZERO).await?;
        }
        None => swept(ports, tenant_id, campaign_id, shard).await?,
    }
    Ok(())
}

/// Records that `shard` is swept; when every shard is, the cancel is complete and the campaign
/// leaves the hand-off index.
async fn swept(ports: &Ports, tenant_id: &str, campaign_id: &str, shard: u64) -> Result<(), Error> {
    let key = campaigns::key(tenant_id, campaign_id);
    let item = ports.table.update(&key, Update::new().set(swept_attr(shard), true), Some(Cond::Exists)).await?;
    if (0..keys::CAMPAIGN_MESSAGE_SHARDS).all(|s| item.get(&swept_attr(s)).is_some()) {
        let done = Update::new().remove(keys::HANDOFF.pk_attr()).remove(keys::HANDOFF.sk_attr());
        ports.table.update(&key, done, Some(Cond::Exists)).await?;
    }
    Ok(())
}

/// What a cancellation of a campaign's messages needs to know about the campaign.
pub struct Target<'a> {
    pub tenant_id: &'a str,
    pub campaign_id: &'a str,
    /// Where its quota was counted (given back per cancelled message).
    pub usage_period: &'a str,
}

/// Compare-and-sets each message from its status as read (`queued`, or `sending` for the send
/// worker's own check) to `cancelled`; messages that moved meanwhile (the index lags, or the
/// worker claimed them) are left out and the rest retried. Returns the messages cancelled.
pub async fn cancel_batch(ports: &Ports, c: &Target<'_>, batch: &[Item]) -> Result<usize, Error> {
    let mut pending: Vec<&Item> = batch.iter().collect();
    for _ in 0..8 {
        if pending.is_empty() {
            return Ok(0);
        }
        let now_ms = ports.clock.now().timestamp_millis();
        let mut ops = Vec::with_capacity(pending.len() + 17);
        let mut updates = Vec::with_capacity(pending.len());
        let mut per_shard: BTreeMap<u64, i64> = BTreeMap::new();
        for item in &pending {
            let key = item.key().ok_or_else(|| Error::internal("indexed message without a key"))?;
            let id = item.get_str("id").unwrap_or_default();
            let from = item.get_str("status").unwrap_or(MessageStatus::Queued.as_str());
            *per_shard.entry(super::counters::shard_for(id)).or_default() += 1;
            let mut update = Update::new()
                .set("status", MessageStatus::Cancelled.as_str())
                .set("status_rank", MessageStatus::Cancelled.rank())
                .set_if_absent(MessageStatus::Cancelled.at_attr(), now_ms);
            update = if item.get_i64("send_attempts").unwrap_or(0) > 0 {
                // An earlier attempt may have been debited: owed back (same write).
                let pending = settle::pending(&key.pk, now_ms, "not sent: campaign cancelled");
                update.set.extend(pending.set);
                update.remove.extend(pending.remove);
                update
            } else {
                // Out of whatever index waited for it (parked, or a hand-off).
                update.remove(HELD_ATTR).remove(keys::HELD.pk_attr()).remove(keys::HELD.sk_attr())
            };
            updates.push(update.clone());
            ops.push(TxOp::Update { key, update, cond: Some(Cond::eq("status", from)) });
        }
        for (shard, n) in &per_shard {
            ops.push(TxOp::Update {
                key: keys::campaign_counter(c.tenant_id, c.campaign_id, *shard),
                update: Update::new().add("queued", -n).add("cancelled", *n),
                cond: None,
            });
        }
        ops.push(usage::adjust_op(c.tenant_id, c.usage_period, -(pending.len() as i64)));
        match ports.table.transact(ops).await {
            Ok(()) => {
                // The tenant's system hears of each cancellation like any other status change.
                let report = StatusReport {
                    status: MessageStatus::Cancelled,
                    at: ports.clock.now(),
                    error: None,
                    pricing: None,
                };
                for (item, update) in pending.iter().zip(&updates) {
                    let mut after = (*item).clone();
                    for (name, value) in &update.set {
                        after.0.insert(name.clone(), value.clone());
                    }
                    callbacks::status_changed(ports, &after, &report).await?;
                    if settle::is_pending(&after) {
                        settle::resolve(ports, &after).await?;
                    }
                }
                return Ok(pending.len());
            }
            Err(TableError::TransactionCanceled { failed_conditions }) => {
                pending = pending
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !failed_conditions.contains(i))
                    .map(|(_, m)| m)
                    .collect();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::unavailable("cancel sweep kept contending; retrying"))
}

/// The send worker's check before it sends a campaign message: `Some(usage period)` when the
/// campaign was cancelled (see the module docs).
pub async fn cancelled(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Option<String>, TableError> {
    Ok(ports
        .table
        .get(&keys::campaign_cancelled(tenant_id, campaign_id))
        .await?
        .map(|i| i.get_str("usage_period").unwrap_or_default().to_owned()))
}
