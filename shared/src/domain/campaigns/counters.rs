//! A campaign's live counts per status: how many of its messages are in each status *now*.
//!
//! Every count is changed in the same transaction as the write that moves a message:
//! - the fan-out's message puts add to `queued` (so a page redone, whose puts fail their
//!   `attribute_not_exists`, adds nothing);
//! - a status transition (`messages::status::apply`, the cancel sweep) is a compare-and-set on
//!   the message's current status plus `-1` on the old bucket and `+1` on the new one, so a
//!   duplicate or late webhook, which moves nothing, counts nothing.
//!
//! `sending` counts as `queued` (the send worker's claim and its "back to queued" on a retry do
//! not go through here), so the counts always add up to the messages created.
//!
//! The counters are [`keys::CAMPAIGN_COUNTER_SHARDS`] items in separate partitions, the shard
//! chosen by the message id; reading sums them.

use futures_util::future::join_all;

use crate::domain::messages::MessageStatus;
use crate::ports::Ports;
use crate::ports::table::{TableError, TxOp, Update};
use crate::store::keys;

pub use super::model::StatusCounts;

/// The counted buckets, as stored attribute names.
pub const BUCKETS: [&str; 6] = ["queued", "sent", "delivered", "read", "failed", "cancelled"];

/// The bucket a status counts in (`None`: not a campaign message status).
pub fn bucket(status: MessageStatus) -> Option<&'static str> {
    match status {
        MessageStatus::Queued | MessageStatus::Sending => Some("queued"),
        MessageStatus::Sent => Some("sent"),
        MessageStatus::Delivered => Some("delivered"),
        MessageStatus::Read => Some("read"),
        MessageStatus::Failed => Some("failed"),
        MessageStatus::Cancelled => Some("cancelled"),
        MessageStatus::Scheduled | MessageStatus::Received => None,
    }
}

pub fn shard_for(message_id: &str) -> u64 {
    keys::shard_of(message_id, keys::CAMPAIGN_COUNTER_SHARDS)
}

/// The counter operation for a message of `campaign_id` moving `from` → `to`; `None` when both
/// count in the same bucket.
pub fn transition_op(
    tenant_id: &str,
    campaign_id: &str,
    message_id: &str,
    from: MessageStatus,
    to: MessageStatus,
) -> Option<TxOp> {
    let (from, to) = (bucket(from), bucket(to));
    if from == to {
        return None;
    }
    let mut update = Update::new();
    if let Some(f) = from {
        update = update.add(f, -1);
    }
    if let Some(t) = to {
        update = update.add(t, 1);
    }
    Some(TxOp::Update {
        key: keys::campaign_counter(tenant_id, campaign_id, shard_for(message_id)),
        update,
        cond: None,
    })
}

/// `n` new queued messages, on one shard (the caller picks it).
pub fn created_op(tenant_id: &str, campaign_id: &str, shard: u64, n: i64) -> TxOp {
    TxOp::Update {
        key: keys::campaign_counter(tenant_id, campaign_id, shard % keys::CAMPAIGN_COUNTER_SHARDS),
        update: Update::new().add("queued", n),
        cond: None,
    }
}

/// Sums the shards (strongly consistent reads of the base table).
pub async fn read(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<StatusCounts, TableError> {
    let gets = (0..keys::CAMPAIGN_COUNTER_SHARDS)
        .map(|s| async move { ports.table.get(&keys::campaign_counter(tenant_id, campaign_id, s)).await });
    let mut counts = StatusCounts::default();
    for item in join_all(gets).await {
        let Some(item) = item? else { continue };
        let n = |name: &str| item.get_i64(name).unwrap_or(0);
        counts.queued += n("queued");
        counts.sent += n("sent");
        counts.delivered += n("delivered");
        counts.read += n("read");
        counts.failed += n("failed");
        counts.cancelled += n("cancelled");
    }
    Ok(counts)
}
