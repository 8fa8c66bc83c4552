//! Webhook deliveries and events the processor cannot act on are kept, not dropped: malformed
//! bodies, events for numbers no tenant has, fields we do not handle. Each is an item on one
//! platform list (GSI1 `WEBHOOK#QUARANTINE`, newest last) for an operator to inspect or replay.

use serde_json::Value;

use crate::ports::Ports;
use crate::ports::table::{Item, TableError};
use crate::store::keys;

/// Kept for 30 days.
const QUARANTINE_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Keeps `payload` with why it was set aside. `id` makes repeated deliveries of the same thing
/// overwrite one item instead of piling up.
pub async fn keep(ports: &Ports, id: &str, reason: Reason, detail: &str, payload: Value) -> Result<(), TableError> {
    let item = Item::new(keys::quarantined_webhook(id))
        .with("reason", reason.as_str())
        .with("detail", detail)
        .with("payload", payload)
        .with("at", ports.clock.now().to_rfc3339())
        .with_index(keys::LISTS, keys::QUARANTINE_LIST, format!("{}#{id}", ports.ids.new_id("q")))
        .with_ttl(ports.clock.epoch_seconds() + QUARANTINE_TTL_SECS);
    ports.table.put(item, None).await
}
