//! Applying delivery statuses. Meta delivers status webhooks at least once and in any order;
//! these rules make the end state the same for every permutation with duplicates:
//! - each status's first report time is kept (`if_not_exists`): duplicates change nothing;
//! - the current status only moves forward by rank (`read` stays `read` when a late `sent`
//!   arrives; `failed` never replaces `delivered`/`read`);
//! - a status for a message we cannot find yet is parked under its wamid and applied when the
//!   send worker records that wamid (the webhook can beat the send's own write).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::analytics::counters as analytics;
use crate::domain::callbacks::events as callbacks;
use crate::domain::campaigns::counters;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Key, Query, TableError, TxOp, Update};
use crate::store::{keys, messages};

use super::model::{MessageError, MessageStatus};

/// One status report, independent of where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusReport {
    pub status: MessageStatus,
    pub at: DateTime<Utc>,
    pub error: Option<MessageError>,
    pub pricing: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The message's current status changed to this report's.
    Advanced,
    /// Recorded in the history; the current status stays (later, or terminal, already).
    Recorded,
    /// The very same report was applied before.
    Duplicate,
}

/// Parked statuses live this long waiting for their message.
const PARKED_TTL_SECS: i64 = 7 * 24 * 3600;

/// Applies `report` to the message at `key`. Returns `None` when there is no such message.
pub async fn apply(ports: &Ports, key: &Key, report: &StatusReport) -> Result<Option<Applied>, TableError> {
    apply_with(ports, key, report, Update::new()).await
}

/// [`apply`], with `extra` written in the same write that moves the current status (only when
/// it moves): what must hold exactly when the message is in the new status, e.g. the send
/// worker's "refund pending" on a failure it decided.
pub async fn apply_with(
    ports: &Ports,
    key: &Key,
    report: &StatusReport,
    extra: Update,
) -> Result<Option<Applied>, TableError> {
    let at_attr = report.status.at_attr();
    // 1. The history entry, once. Conditional on the message existing so no orphan is created,
    //    and on this status not being recorded yet (which tells a duplicate apart).
    let mut record = Update::new().set_if_absent(&at_attr, report.at.timestamp_millis());
    if let Some(pricing) = &report.pricing {
        record = record.set_if_absent("pricing", pricing.clone());
    }
    if let Some(error) = &report.error {
        record = record.set_if_absent("error", serde_json::to_value(error).expect("error serializes"));
    }
    let (first_time, item) = match ports
        .table
        .update(key, record, Some(Cond::And(vec![Cond::Exists, Cond::AttrNotExists(at_attr)])))
        .await
    {
        Ok(item) => (true, item),
        Err(TableError::ConditionFailed { current: None }) => return Ok(None),
        // Reported before. Still run step 2: a crash between the two steps must heal on redelivery.
        Err(TableError::ConditionFailed { current: Some(item) }) => (false, *item),
        Err(e) => return Err(e),
    };

    // 2. The current status, only forward. `failed` may only replace in-flight states.
    let ceiling =
        if report.status == MessageStatus::Failed { MessageStatus::Sent.rank() } else { report.status.rank() - 1 };
    if item.get_str("campaign_id").is_some() || item.get_str("direction") == Some("outbound") {
        return advance_counted(ports, key, item, report, ceiling, first_time, extra).await;
    }
    let advance =
        merged(Update::new().set("status", report.status.as_str()).set("status_rank", report.status.rank()), extra);
    let cond = Cond::And(vec![
        Cond::Exists,
        Cond::Le("status_rank".into(), Value::from(ceiling)),
        Cond::Ne("status".into(), Value::from(MessageStatus::Cancelled.as_str())),
    ]);
    // 3. The tenant's callback, for a change of the current status. A duplicate whose status is
    //    the current one re-enqueues it: a crash between steps 2 and 3 heals on redelivery, and
    //    the event id (derived from message and status) lets the callback worker deliver it once.
    match ports.table.update(key, advance, Some(cond)).await {
        Ok(item) => {
            callbacks::status_changed(ports, &item, report).await?;
            Ok(Some(Applied::Advanced))
        }
        Err(TableError::ConditionFailed { .. }) if first_time => Ok(Some(Applied::Recorded)),
        Err(TableError::ConditionFailed { current }) => {
            if let Some(item) = current.filter(|i| i.get_str("status") == Some(report.status.as_str())) {
                callbacks::status_changed(ports, &item, report).await?;
            }
            Ok(Some(Applied::Duplicate))
        }
        Err(e) => Err(e),
    }
}

/// How often a compare-and-set on a campaign message's status is retried when the status moved
/// under it (each retry reads the new status; a handful of concurrent reports at most).
const MAX_CAS_ATTEMPTS: usize = 8;

/// `base` with `extra`'s changes added.
fn merged(mut base: Update, extra: Update) -> Update {
    base.set.extend(extra.set);
    base.set_if_absent.extend(extra.set_if_absent);
    base.add.extend(extra.add);
    base.append.extend(extra.append);
    base.remove.extend(extra.remove);
    base
}

/// The message as stored after `update`'s plain `SET`s and `REMOVE`s (what a transaction does
/// not return), for the callback.
fn after(mut item: Item, update: &Update) -> Item {
    for (name, value) in &update.set {
        item.0.insert(name.clone(), value.clone());
    }
    for name in &update.remove {
        item.0.remove(name);
    }
    item
}

/// Step 2 for an outbound or campaign message: the campaign's live counters and the daily
/// analytics counters (`analytics::counters`) must move exactly once per transition, so the
/// status is a compare-and-set on the status read, in one transaction with the counter shards'
/// deltas. Step 3 (the tenant's callback) as for any message.
async fn advance_counted(
    ports: &Ports,
    key: &Key,
    mut item: Item,
    report: &StatusReport,
    ceiling: i64,
    first_time: bool,
    extra: Update,
) -> Result<Option<Applied>, TableError> {
    let to = report.status;
    let not_advanced = if first_time { Applied::Recorded } else { Applied::Duplicate };
    for attempt in 0..MAX_CAS_ATTEMPTS {
        let Some(from) = item.get_str("status").and_then(MessageStatus::parse) else { return Ok(Some(not_advanced)) };
        if from == to && !first_time {
            // A redelivered report of the current status: a crash may have come between the
            // transition and its callback (same event id, delivered once).
            callbacks::status_changed(ports, &item, report).await?;
            return Ok(Some(Applied::Duplicate));
        }
        if from.rank() > ceiling || from == MessageStatus::Cancelled || from == to {
            return Ok(Some(not_advanced));
        }
        let (Some(tenant_id), Some(message_id)) = (item.get_str("tenant_id"), item.get_str("id")) else {
            return Err(TableError::Corrupt("message without tenant or id".into()));
        };
        let mut update = Update::new().set("status", to.as_str()).set("status_rank", to.rank());
        let mut counted = Vec::new();
        if let Some(campaign_id) = item.get_str("campaign_id") {
            let error: Option<MessageError> =
                item.get("error").filter(|e| !e.is_null()).and_then(|e| serde_json::from_value(e.clone()).ok());
            let error = error.or_else(|| report.error.clone());
            counted.extend(counters::transition_op(tenant_id, campaign_id, message_id, (from, to), error.as_ref()));
        }
        if item.get_str("direction") == Some("outbound") {
            // The day is pinned by the first counted transition (analytics::counters).
            let day = analytics::message_day(ports, tenant_id, &item).await?;
            counted.extend(analytics::transition_ops(tenant_id, &item, &day, from, to));
            update = update.set(analytics::DAY_ATTR, day);
        }
        let update = merged(update, extra.clone());
        let mut ops = vec![TxOp::Update {
            key: key.clone(),
            update: update.clone(),
            cond: Some(Cond::eq("status", from.as_str())),
        }];
        ops.extend(counted);
        match ports.table.transact(ops).await {
            Ok(()) => {
                callbacks::status_changed(ports, &after(item, &update), report).await?;
                return Ok(Some(Applied::Advanced));
            }
            Err(e) if e.is_condition_failure() || matches!(e, TableError::TransactionCanceled { .. }) => {
                // The status moved meanwhile (or a concurrent transaction touched the shard).
                tokio::time::sleep(std::time::Duration::from_millis(2 << attempt.min(6))).await;
                match ports.table.get(key).await? {
                    Some(fresh) => item = fresh,
                    None => return Ok(None),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Unavailable("campaign message status kept changing; retry".into()))
}

/// Keeps a status whose message is not known yet, keyed by wamid.
pub async fn park(ports: &Ports, tenant_id: &str, wamid: &str, report: &StatusReport) -> Result<(), TableError> {
    let item = Item::new(keys::parked_status(tenant_id, wamid, report.status.as_str()))
        .with("status", report.status.as_str())
        .with("at_ms", report.at.timestamp_millis())
        .with(
            "error",
            report.error.as_ref().map(|e| serde_json::to_value(e).expect("serializes")).unwrap_or(Value::Null),
        )
        .with("pricing", report.pricing.clone().unwrap_or(Value::Null))
        .with_ttl(ports.clock.epoch_seconds() + PARKED_TTL_SECS);
    // Duplicates overwrite the same item with the same content.
    ports.table.put(item, None).await
}

/// Records the wamid Meta gave the message and applies the statuses that arrived before it.
pub async fn record_wamid(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    wamid: &str,
    cost: Option<crate::domain::money::Money>,
) -> Result<(), TableError> {
    messages::Messages::new(&*ports.table).set_wamid(tenant_id, message_id, wamid, cost).await?;
    release_parked(ports, tenant_id, wamid, &messages::key(tenant_id, message_id)).await?;
    Ok(())
}

/// Applies (and removes) the statuses parked for `wamid`, now that `message` carries it.
pub async fn release_parked(ports: &Ports, tenant_id: &str, wamid: &str, message: &Key) -> Result<usize, TableError> {
    let page = ports.table.query(Query::table(keys::parked_statuses(tenant_id, wamid)).limit(20)).await?;
    let mut applied = 0;
    for item in page.items {
        let Some(status) = item.get_str("status").and_then(MessageStatus::parse) else { continue };
        let at =
            item.get_i64("at_ms").and_then(DateTime::<Utc>::from_timestamp_millis).unwrap_or_else(|| ports.clock.now());
        let report = StatusReport {
            status,
            at,
            error: item.get("error").filter(|v| !v.is_null()).and_then(|v| serde_json::from_value(v.clone()).ok()),
            pricing: item.get("pricing").filter(|v| !v.is_null()).cloned(),
        };
        if apply(ports, message, &report).await?.is_some() {
            applied += 1;
        }
        if let Some(k) = item.key() {
            ports.table.delete(&k, None).await?;
        }
    }
    Ok(applied)
}
