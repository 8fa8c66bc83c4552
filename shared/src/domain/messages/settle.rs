//! What a failure costs: a message that ended `failed` (or `cancelled` after it was debited)
//! gets its credits back, exactly once.
//!
//! Two paths:
//! - Meta's reports: the webhook processor applies a `failed` status, then calls
//!   [`refund_if_failed`]. The webhook job is redelivered until that succeeds, and the stored
//!   status decides: a failure recorded on a message delivered meanwhile refunds nothing.
//! - Our own decisions (the send worker giving up, a cancel of a message that was debited by an
//!   earlier attempt): the write that ends the message also marks it `refund_pending` and puts it
//!   in the pending-refund index ([`pending`]); [`resolve`] refunds and takes the mark off. The
//!   mark is durable, so a refund that fails, or a crash after the status write, is retried by the
//!   job's redelivery (the send worker resolves a marked message before anything else) and, as a
//!   safety net, by the reconciler, which finds marked messages through the index.
//!
//! Refunds are idempotent per message (the ledger's refund marker), so resolving twice, or
//! concurrently, gives back once. They are committed in groups per tenant (`billing::group`):
//! a burst of failures writes the balance item once per gate interval, not once per message.

use serde_json::Value;

use crate::domain::Error;
use crate::domain::billing;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, TableError, Update};
use crate::store::{keys, messages};

use super::MessageStatus;

/// The attribute marking a message whose refund is owed and not confirmed.
pub const REFUND_PENDING: &str = "refund_pending";

pub async fn refund_if_failed(ports: &Ports, tenant_id: &str, message_id: &str, reason: String) -> Result<(), Error> {
    let failed = messages::Messages::new(&*ports.table)
        .get(tenant_id, message_id)
        .await?
        .is_some_and(|m| m.get_str("status") == Some(MessageStatus::Failed.as_str()));
    if failed {
        billing::group::refund(ports, tenant_id, message_id, Some(reason)).await?;
    }
    Ok(())
}

/// The changes that mark the message with primary key `pk` as owing a refund (written with the
/// status change that ends it), `reason` going into the ledger entry.
pub fn pending(pk: &str, now_ms: i64, reason: &str) -> Update {
    let (gsi_pk, gsi_sk) = keys::refund_pending(pk, now_ms);
    Update::new()
        .set(REFUND_PENDING, reason)
        .set(keys::REFUND.pk_attr(), gsi_pk)
        .set(keys::REFUND.sk_attr(), gsi_sk)
        .remove(crate::domain::sending::hold::HELD_ATTR)
}

/// Whether a stored message owes a refund.
pub fn is_pending(item: &Item) -> bool {
    item.get_str(REFUND_PENDING).is_some()
}

/// Gives back what the message was debited, if it still ends `failed` or `cancelled`, and
/// takes the mark off. Safe to call any number of times, concurrently.
pub async fn resolve(ports: &Ports, item: &Item) -> Result<(), Error> {
    let (Some(key), Some(tenant_id), Some(message_id)) = (item.key(), item.get_str("tenant_id"), item.get_str("id"))
    else {
        return Err(Error::internal("message without key, tenant or id"));
    };
    let Some(reason) = item.get_str(REFUND_PENDING) else { return Ok(()) };
    let ends_unsent = matches!(
        item.get_str("status").and_then(MessageStatus::parse),
        Some(MessageStatus::Failed | MessageStatus::Cancelled)
    );
    if ends_unsent {
        billing::group::refund(ports, tenant_id, message_id, Some(reason.to_owned())).await?;
    }
    // Off the index, only if it is still this mark (never an index entry written since).
    let clear = Update::new().remove(REFUND_PENDING).remove(keys::REFUND.pk_attr()).remove(keys::REFUND.sk_attr());
    let same = Cond::And(vec![
        Cond::AttrExists(REFUND_PENDING.into()),
        Cond::Eq(keys::REFUND.pk_attr().into(), item.get(keys::REFUND.pk_attr()).cloned().unwrap_or(Value::Null)),
    ]);
    match ports.table.update(&key, clear, Some(same)).await {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
