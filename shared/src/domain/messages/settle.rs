//! What a failure costs: a message that ended `failed` gets its credits back, exactly once.
//!
//! Called after a `failed` report was applied, by whoever applied it (the webhook processor for
//! Meta's reports, the send worker for its own give-ups). Refunds are idempotent per message,
//! and the stored status decides: a failure recorded on a message that was delivered meanwhile
//! (the report lost the race) refunds nothing. Checking the stored status also heals a crash
//! between the status write and the refund: the retried event finds the message failed.

use crate::domain::billing;
use crate::http::ApiError;
use crate::ports::Ports;
use crate::store::messages;

use super::MessageStatus;

pub async fn refund_if_failed(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    reason: String,
) -> Result<(), ApiError> {
    let failed = messages::get(ports, tenant_id, message_id)
        .await?
        .is_some_and(|m| m.get_str("status") == Some(MessageStatus::Failed.as_str()));
    if failed {
        billing::refund(ports, tenant_id, message_id, Some(reason)).await?;
    }
    Ok(())
}
