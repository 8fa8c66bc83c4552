//! The scheduler: releases scheduled messages and campaigns that are due. Runs every tick
//! (an EventBridge-scheduled Lambda on AWS, an in-process timer locally), so a release is late by
//! at most one tick.
//!
//! Due items sit in the due index (GSI2, `keys::DUE`): `DUE#<shard>` / `<due ms>#<PK>`, sharded
//! so no index partition is hot. A tick queries every shard for sort keys up to now. Releasing is
//! a conditional write on the item itself (`status = scheduled` → `queued` / `running`, leaving
//! the index in the same write), so two ticks running at once release each item once, and a
//! cancelled message or campaign (no longer `scheduled`) is never released. The same write moves
//! the item from the due index into the hand-off index (`keys::HANDOFF`, same GSI2 attributes):
//! the job is queued after the write; if that fails the write is undone, so the next tick tries
//! again, and if the process dies in between, the reconciler finds the item in the hand-off
//! index and queues its job (`domain::reconciler`).

use futures_util::future::join_all;
use serde_json::Value;

use crate::domain::Error;
use crate::domain::campaigns::CampaignStatus;
use crate::domain::campaigns::fanout;
use crate::domain::messages::MessageStatus;
use crate::domain::messages::dispatch::SendJob;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Key, Query, SkCond, TableError, Update};
use crate::store::keys;

/// Due items read per query page.
const PAGE: usize = 200;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    pub messages: usize,
    pub campaigns: usize,
}

/// Releases everything due now. Errors on single items are logged and left for the next tick.
pub async fn release_due(ports: &Ports) -> Result<Released, Error> {
    let now_ms = ports.clock.now().timestamp_millis();
    let shards = (0..keys::DUE_SHARDS).map(|s| release_shard(ports, s, now_ms));
    let mut total = Released::default();
    for r in join_all(shards).await {
        let r = r?;
        total.messages += r.messages;
        total.campaigns += r.campaigns;
    }
    Ok(total)
}

async fn release_shard(ports: &Ports, shard: u64, now_ms: i64) -> Result<Released, Error> {
    let mut released = Released::default();
    let mut cursor = None;
    loop {
        let query = Query::index(keys::DUE, keys::due_shard(shard))
            .sk(SkCond::Lt(keys::due_bound(now_ms)))
            .limit(PAGE)
            .cursor(cursor);
        let page = ports.table.query(query).await?;
        for item in &page.items {
            match release(ports, item).await {
                Ok(Some(Kind::Message)) => released.messages += 1,
                Ok(Some(Kind::Campaign)) => released.campaigns += 1,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, pk = item.get_str("PK"), "due item not released; next tick"),
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(released),
        }
    }
}

enum Kind {
    Message,
    Campaign,
}

/// `Ok(None)`: not ours to release (someone else did, or it was cancelled).
async fn release(ports: &Ports, item: &Item) -> Result<Option<Kind>, Error> {
    let key = item.key().ok_or_else(|| Error::internal("due item without a key"))?;
    let (Some(tenant_id), Some(id)) = (item.get_str("tenant_id"), item.get_str("id")) else {
        return Err(Error::internal("due item without tenant or id"));
    };
    let now = ports.clock.now();
    match key.sk.as_str() {
        "MSG" => {
            let update = Update::new()
                .set("status", MessageStatus::Queued.as_str())
                .set("status_rank", MessageStatus::Queued.rank())
                .set_if_absent(MessageStatus::Queued.at_attr(), now.timestamp_millis());
            if !leave_index(ports, &key, update, MessageStatus::Scheduled.as_str()).await? {
                return Ok(None);
            }
            let job = SendJob { tenant_id: tenant_id.into(), message_id: id.into() };
            if let Err(e) = ports.queue.send(crate::queues::SEND, job.to_message()).await {
                let back = Update::new()
                    .set("status", MessageStatus::Scheduled.as_str())
                    .set("status_rank", MessageStatus::Scheduled.rank())
                    .remove(MessageStatus::Queued.at_attr());
                undo(ports, &key, item, back, MessageStatus::Queued.as_str()).await;
                return Err(e.into());
            }
            Ok(Some(Kind::Message))
        }
        "CAMPAIGN" => {
            let update = Update::new()
                .set("status", CampaignStatus::Running.as_str())
                .set("started_at", Value::String(now.to_rfc3339()));
            if !leave_index(ports, &key, update, CampaignStatus::Scheduled.as_str()).await? {
                return Ok(None);
            }
            if let Err(e) = fanout::enqueue_page(ports, tenant_id, id, 0).await {
                let back = Update::new().set("status", CampaignStatus::Scheduled.as_str()).remove("started_at");
                undo(ports, &key, item, back, CampaignStatus::Running.as_str()).await;
                return Err(e.into());
            }
            Ok(Some(Kind::Campaign))
        }
        other => Err(Error::internal(format!("unexpected item in the due index: {other}"))),
    }
}

/// Applies `update` and moves the item from the due index to the hand-off index, if it is still
/// `scheduled`.
async fn leave_index(ports: &Ports, key: &Key, update: Update, from: &str) -> Result<bool, Error> {
    let (gsi_pk, gsi_sk) = keys::handoff(&key.pk, ports.clock.now().timestamp_millis());
    let update = update.set(keys::HANDOFF.pk_attr(), gsi_pk).set(keys::HANDOFF.sk_attr(), gsi_sk);
    match ports.table.update(key, update, Some(Cond::eq("status", from))).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Puts a released item back in the due index (its job could not be queued).
async fn undo(ports: &Ports, key: &Key, due: &Item, back: Update, from: &str) {
    let mut back = back;
    for attr in [keys::DUE.pk_attr(), keys::DUE.sk_attr()] {
        if let Some(v) = due.get(attr) {
            back = back.set(attr, v.clone());
        }
    }
    if let Err(e) = ports.table.update(key, back, Some(Cond::eq("status", from))).await {
        tracing::error!(error = %e, pk = %key.pk, "released item could not be put back; it has no job");
    }
}
