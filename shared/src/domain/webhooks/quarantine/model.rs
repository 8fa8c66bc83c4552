//! A quarantined webhook delivery or event, as stored and as the super admin sees it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The envelope or body could not be parsed at all.
    Malformed,
    /// No tenant owns the phone number / WABA.
    Unrouted,
    /// A field or event kind the platform does not act on.
    Unhandled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Unrouted => "unrouted",
            Reason::Unhandled => "unhandled",
        }
    }
}

/// As stored. `key` is the processor's own name for the delivery or event (repeated deliveries
/// of one thing share it and overwrite one item).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quarantined {
    /// Items written before the key was stored carry it only in their table key.
    #[serde(default)]
    pub key: String,
    pub reason: Reason,
    pub detail: String,
    /// What Meta sent (the body, or the one event of it), never a header: no signature, no secret.
    pub payload: Value,
    pub at: DateTime<Utc>,
}

/// One row of `GET /admin/webhooks/quarantine`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "wq_dW5oYW5kbGVkOmV4YW1wbGU", "reason": "unrouted",
    "detail": "no tenant for phone number Some(\"1234567890\") / WABA 9876543210", "at": "2026-12-06T09:00:00Z"}))]
pub struct QuarantineEntry {
    pub id: String,
    pub reason: Reason,
    /// Why it was set aside, for people.
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// `GET /admin/webhooks/quarantine/{id}`: the entry and what was received.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuarantineDetail {
    #[serde(flatten)]
    pub entry: QuarantineEntry,
    /// The stored body (a string when it was not JSON) or the one event that was set aside.
    pub payload: Value,
}
