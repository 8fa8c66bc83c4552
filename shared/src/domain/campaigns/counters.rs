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

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::domain::messages::{MessageError, MessageStatus};
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

/// Failures are also counted per error (`fail_<key>`, with its title in `title_<key>`), so the
/// report groups them without reading the messages: the key is Meta's error code, or for a
/// failure the platform decided (code 0) `0_<its code>` (`0_insufficient_credits`).
pub fn failure_key(error: &MessageError) -> String {
    if error.code != 0 {
        return error.code.to_string();
    }
    let reason: String = error
        .title
        .as_deref()
        .unwrap_or("unknown")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(60)
        .collect();
    format!("0_{reason}")
}

/// The counter operation for a message of `campaign_id` moving `from` → `to`; `None` when both
/// count in the same bucket. `error` is the message's failure (when either side is `failed`).
pub fn transition_op(
    tenant_id: &str,
    campaign_id: &str,
    message_id: &str,
    (from, to): (MessageStatus, MessageStatus),
    error: Option<&MessageError>,
) -> Option<TxOp> {
    let failure = error.map(|e| (failure_key(e), e.title.clone()));
    let (from_failed, to_failed) = (from == MessageStatus::Failed, to == MessageStatus::Failed);
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
    if let Some((key, title)) = failure {
        if to_failed {
            update = update.add(format!("{FAIL_PREFIX}{key}"), 1);
            if let Some(title) = title {
                update = update.set(format!("{TITLE_PREFIX}{key}"), title);
            }
        } else if from_failed {
            // A late `delivered` replaces a failure (statuses never move back otherwise).
            update = update.add(format!("{FAIL_PREFIX}{key}"), -1);
        }
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

const FAIL_PREFIX: &str = "fail_";
const TITLE_PREFIX: &str = "title_";

/// Sums the shards (strongly consistent reads of the base table).
pub async fn read(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<StatusCounts, TableError> {
    Ok(read_with_failures(ports, tenant_id, campaign_id).await?.0)
}

/// One group of a campaign's failures: Meta's error code (0 for a failure the platform decided,
/// `reason` saying which), its title, how many messages ended with it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FailureGroup {
    pub code: i64,
    pub title: Option<String>,
    pub count: i64,
    /// Whether `POST /campaigns/{id}/retry-failed` retries these.
    pub retryable: bool,
}

/// [`read`], plus the failures grouped by error, most frequent first.
pub async fn read_with_failures(
    ports: &Ports,
    tenant_id: &str,
    campaign_id: &str,
) -> Result<(StatusCounts, Vec<FailureGroup>), TableError> {
    let gets = (0..keys::CAMPAIGN_COUNTER_SHARDS)
        .map(|s| async move { ports.table.get(&keys::campaign_counter(tenant_id, campaign_id, s)).await });
    let mut counts = StatusCounts::default();
    let mut failures: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for item in join_all(gets).await {
        let Some(item) = item? else { continue };
        for (name, value) in &item.0 {
            if let Some(key) = name.strip_prefix(FAIL_PREFIX) {
                failures.entry(key.to_owned()).or_default().0 += value.as_i64().unwrap_or(0);
            } else if let (Some(key), Some(title)) = (name.strip_prefix(TITLE_PREFIX), value.as_str()) {
                failures.entry(key.to_owned()).or_default().1 = Some(title.to_owned());
            }
        }
        let n = |name: &str| item.get_i64(name).unwrap_or(0);
        counts.queued += n("queued");
        counts.sent += n("sent");
        counts.delivered += n("delivered");
        counts.read += n("read");
        counts.failed += n("failed");
        counts.cancelled += n("cancelled");
    }
    let mut groups: Vec<FailureGroup> = failures
        .into_iter()
        .filter(|(_, (count, _))| *count > 0)
        .map(|(key, (count, title))| {
            let code = key.parse().unwrap_or(0);
            FailureGroup { code, title, count, retryable: retryable(code) }
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    Ok((counts, groups))
}

/// Failures a retry cannot fix: 131026 (undeliverable: not on WhatsApp, old app, terms not
/// accepted), 131047 (outside the 24 h window: re-engagement), 131050 (the user stopped marketing
/// messages: an opt-out), 130472 (the user is in a Meta experiment). Opted-out contacts are
/// skipped by the retry's own fan-out anyway.
pub const NOT_RETRYABLE: [i64; 4] = [131026, 131047, 131050, 130472];

pub fn retryable(code: i64) -> bool {
    !NOT_RETRYABLE.contains(&code)
}
