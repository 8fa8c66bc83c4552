//! `POST /campaigns/{id}/cancel`: the campaign stops creating messages, its unsent (`queued`)
//! messages become `cancelled`, and the quota it will not use is given back. Idempotent: a
//! cancelled campaign answers as it is.
//!
//! - A scheduled campaign has no messages: it leaves the due index and gives its whole
//!   reservation back, in one transaction, so the scheduler can never release it.
//! - A running or completed one is marked `cancelled` first. Every fan-out write is conditioned
//!   on the campaign running, so from that commit on no message is created, and the number
//!   created is final: [`settle`] gives back the reservation the fan-out did not use (once,
//!   guarded by `settled`). Then one sweep job per index shard walks the campaign's messages and
//!   compare-and-sets each `queued` one to `cancelled` (with its counter shard and a quota give
//!   back, in the same transaction). A message the send worker already claimed (`sending`) is
//!   in flight and not cancelled; a cancelled one is never sent (the worker's claim requires
//!   `queued`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::fanout::{self, FanoutJob, SWEEP_DELAY};
use super::{Campaign, CampaignStatus};
use crate::domain::callbacks::events as callbacks;
use crate::domain::messages::MessageStatus;
use crate::domain::messages::status::StatusReport;
use crate::domain::usage;
use crate::http::ApiError;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, TableError, TxOp, Update};
use crate::store::{campaigns, keys};

/// Messages read per sweep job.
const SWEEP_PAGE: usize = 200;

pub async fn cancel(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Campaign, ApiError> {
    for _ in 0..5 {
        let c = campaigns::get(ports, tenant_id, campaign_id).await?.ok_or_else(|| ApiError::not_found("campaign"))?;
        let now = Value::String(ports.clock.now().to_rfc3339());
        let key = campaigns::key(tenant_id, campaign_id);
        match c.status {
            CampaignStatus::Cancelled => return Ok(c),
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
                let update = Update::new().set("status", CampaignStatus::Cancelled.as_str()).set("cancelled_at", now);
                match ports.table.update(&key, update, Some(Cond::eq("status", c.status.as_str()))).await {
                    Ok(_) => {}
                    Err(TableError::ConditionFailed { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
                settle(ports, tenant_id, campaign_id).await?;
                for shard in 0..keys::CAMPAIGN_MESSAGE_SHARDS {
                    let job = FanoutJob::CancelSweep {
                        tenant_id: tenant_id.into(),
                        campaign_id: campaign_id.into(),
                        shard,
                        cursor: None,
                    };
                    // Cancelled already; a sweep job that cannot be queued is retried by the
                    // caller's retry of this (idempotent) request.
                    fanout::enqueue(ports, &job, SWEEP_DELAY).await?;
                }
                break;
            }
        }
    }
    campaigns::get(ports, tenant_id, campaign_id).await?.ok_or_else(|| ApiError::not_found("campaign"))
}

/// Gives back, once, the reservation a cancelled campaign's fan-out did not use, and fixes its
/// total to what was created or skipped. Safe to call any number of times, from the cancel and
/// from fan-out jobs that find the campaign cancelled.
pub async fn settle(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<(), ApiError> {
    let Some(c) = campaigns::get(ports, tenant_id, campaign_id).await? else { return Ok(()) };
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

/// One page of the cancel sweep over one index shard; queues the next page.
pub async fn sweep(
    ports: &Ports,
    tenant_id: &str,
    campaign_id: &str,
    shard: u64,
    cursor: Option<String>,
) -> Result<(), ApiError> {
    let c = campaigns::get(ports, tenant_id, campaign_id).await?;
    let Some(c) = c.filter(|c| c.status == CampaignStatus::Cancelled) else { return Ok(()) };
    let query = Query::index(keys::SECONDARY, keys::campaign_messages(tenant_id, campaign_id, shard))
        .limit(SWEEP_PAGE)
        .cursor(cursor)
        .filter(Cond::eq("status", MessageStatus::Queued.as_str()));
    let page = ports.table.query(query).await?;
    for batch in page.items.chunks(super::fanout::sweep_batch()) {
        cancel_batch(ports, &c, batch).await?;
    }
    if let Some(next) = page.next_cursor {
        let job = FanoutJob::CancelSweep {
            tenant_id: tenant_id.into(),
            campaign_id: campaign_id.into(),
            shard,
            cursor: Some(next),
        };
        fanout::enqueue(ports, &job, std::time::Duration::ZERO).await?;
    }
    Ok(())
}

/// Compare-and-sets each message `queued` → `cancelled`; messages that moved meanwhile (the index
/// lags, or the worker claimed them) are left out and the rest retried.
async fn cancel_batch(ports: &Ports, c: &Campaign, batch: &[Item]) -> Result<(), ApiError> {
    let mut pending: Vec<&Item> = batch.iter().collect();
    for _ in 0..8 {
        if pending.is_empty() {
            return Ok(());
        }
        let now_ms = ports.clock.now().timestamp_millis();
        let mut ops = Vec::with_capacity(pending.len() + 17);
        let mut per_shard: BTreeMap<u64, i64> = BTreeMap::new();
        for item in &pending {
            let key = item.key().ok_or_else(|| ApiError::internal("indexed message without a key"))?;
            let id = item.get_str("id").unwrap_or_default();
            *per_shard.entry(super::counters::shard_for(id)).or_default() += 1;
            let update = Update::new()
                .set("status", MessageStatus::Cancelled.as_str())
                .set("status_rank", MessageStatus::Cancelled.rank())
                .set_if_absent(MessageStatus::Cancelled.at_attr(), now_ms);
            ops.push(TxOp::Update { key, update, cond: Some(Cond::eq("status", MessageStatus::Queued.as_str())) });
        }
        for (shard, n) in &per_shard {
            ops.push(TxOp::Update {
                key: keys::campaign_counter(&c.tenant_id, &c.id, *shard),
                update: Update::new().add("queued", -n).add("cancelled", *n),
                cond: None,
            });
        }
        ops.push(usage::adjust_op(&c.tenant_id, &c.usage_period, -(pending.len() as i64)));
        match ports.table.transact(ops).await {
            Ok(()) => {
                // The tenant's system hears of each cancellation like any other status change.
                let report = StatusReport {
                    status: MessageStatus::Cancelled,
                    at: ports.clock.now(),
                    error: None,
                    pricing: None,
                };
                for item in pending {
                    callbacks::status_changed(ports, item, &report).await?;
                }
                return Ok(());
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
    Err(ApiError::unavailable("cancel sweep kept contending; retrying"))
}
