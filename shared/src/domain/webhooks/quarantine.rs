//! Webhook deliveries and events the processor cannot act on are kept, not dropped: malformed
//! bodies, events for numbers no tenant has, fields we do not handle. Each is an item on one
//! platform list (GSI1 `WEBHOOK#QUARANTINE`) that the super admin lists (newest first) and
//! inspects (`/admin/webhooks/quarantine`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::table::TableError;
use crate::store::quarantine::QuarantineStore;

pub mod model;
pub use model::{QuarantineDetail, QuarantineEntry, Quarantined, Reason};

/// Kept for 30 days.
const QUARANTINE_TTL_SECS: i64 = 30 * 24 * 3600;
/// Public ids are the processor's key, base64url: keys hold `:` and wamids, which do not belong
/// in a URL path as they are.
const ID_PREFIX: &str = "wq_";
/// Longer ids name no item (the key would pass DynamoDB's 2048-byte partition key limit, which
/// it answers with an error rather than nothing).
const MAX_ID_LEN: usize = 2048;

/// Keeps `payload` with why it was set aside. `id` makes repeated deliveries of the same thing
/// overwrite one item instead of piling up.
pub async fn keep(ports: &Ports, id: &str, reason: Reason, detail: &str, payload: Value) -> Result<(), TableError> {
    let q = Quarantined { key: id.to_owned(), reason, detail: detail.to_owned(), payload, at: ports.clock.now() };
    let expires_at = ports.clock.epoch_seconds() + QUARANTINE_TTL_SECS;
    QuarantineStore::new(&*ports.table).keep(&q, &ports.ids.new_id("q"), expires_at).await
}

fn public_id(key: &str) -> String {
    format!("{ID_PREFIX}{}", URL_SAFE_NO_PAD.encode(key))
}

fn entry(q: &Quarantined) -> QuarantineEntry {
    QuarantineEntry { id: public_id(&q.key), reason: q.reason, detail: q.detail.clone(), at: q.at }
}

/// A page of the quarantine, newest first.
pub async fn list(
    ports: &Ports,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<QuarantineEntry>, Option<String>), Error> {
    let (items, next) =
        QuarantineStore::new(&*ports.table).list(limit, cursor).await.map_err(crate::domain::error::list_error)?;
    Ok((items.iter().map(entry).collect(), next))
}

/// One entry with what was received; 404 for an id that is not one (or has expired).
pub async fn get(ports: &Ports, id: &str) -> Result<QuarantineDetail, Error> {
    let key = Some(id)
        .filter(|id| id.len() <= MAX_ID_LEN)
        .and_then(|id| id.strip_prefix(ID_PREFIX))
        .and_then(|k| URL_SAFE_NO_PAD.decode(k).ok())
        .and_then(|k| String::from_utf8(k).ok())
        .ok_or_else(|| Error::not_found("quarantined webhook"))?;
    let q =
        QuarantineStore::new(&*ports.table).get(&key).await?.ok_or_else(|| Error::not_found("quarantined webhook"))?;
    Ok(QuarantineDetail { entry: entry(&q), payload: q.payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_fit_a_path_and_round_trip() {
        let key = "status:wamid.HBgM+/=:failed";
        let id = public_id(key);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{id}");
        let decoded = URL_SAFE_NO_PAD.decode(id.strip_prefix(ID_PREFIX).unwrap()).unwrap();
        assert_eq!(decoded, key.as_bytes());
    }

    #[test]
    fn the_longest_id_fits_a_dynamodb_key() {
        let key_bytes = (MAX_ID_LEN - ID_PREFIX.len()) * 3 / 4;
        assert!(crate::store::keys::quarantined_webhook(&"k".repeat(key_bytes)).pk.len() <= 2048);
    }
}
