//! Handing an accepted outbound message to the send worker: a job on the send queue.
//! Accepted means durably queued: the message row is written first, then the job; if the job
//! cannot be queued the message is marked failed and the caller answers 503, so nothing sits
//! "queued" forever without a job.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::inbox;
use crate::domain::messages::{Message, MessageStatus};
use crate::http::ApiError;
use crate::ports::Ports;
use crate::ports::queue::{OutMessage, QueueError};
use crate::ports::table::{Cond, TxOp, Update};
use crate::store::messages;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    pub tenant_id: String,
    pub message_id: String,
}

/// Accepts a new outbound message: the row and its conversation's update in one transaction,
/// then the send job unless it is scheduled (the scheduler queues those when due).
pub async fn accept(ports: &Ports, message: &Message, preview: &str) -> Result<(), ApiError> {
    let contact_id =
        message.contact_id.as_deref().ok_or_else(|| ApiError::internal("outbound message without a contact"))?;
    ports
        .table
        .transact(vec![
            TxOp::Put { item: messages::item(message)?, cond: Some(Cond::NotExists) },
            inbox::touch_outbound(&message.tenant_id, contact_id, message.created_at, Some(preview)),
        ])
        .await?;
    if message.status == MessageStatus::Queued {
        enqueue(ports, &SendJob { tenant_id: message.tenant_id.clone(), message_id: message.id.clone() }).await?;
    }
    Ok(())
}

impl SendJob {
    /// The job as a queue message, in its tenant's message group: tenants share each send lane
    /// fairly (see `queues::SEND_BULK`).
    pub fn to_message(&self) -> OutMessage {
        OutMessage::new(serde_json::to_string(self).expect("job serializes")).in_group(self.tenant_id.clone())
    }
}

/// Queues campaign messages on the bulk lane (`send_bulk`), so they never delay one-off
/// messages; the caller (fan-out) keeps the messages `queued` and may retry on error (the
/// worker skips a message that is no longer queued, so a job queued twice sends once).
pub async fn enqueue_bulk(ports: &Ports, jobs: &[SendJob]) -> Result<(), QueueError> {
    ports.queue.send_batch(crate::queues::SEND_BULK, jobs.iter().map(SendJob::to_message).collect()).await
}

/// Queues a one-off message on the fast lane (`send`).
pub async fn enqueue(ports: &Ports, job: &SendJob) -> Result<(), QueueError> {
    match ports.queue.send(crate::queues::SEND, job.to_message()).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let update = Update::new().set("status", "failed").set("status_rank", MessageStatus::Failed.rank()).set(
                "error",
                json!({"code": 0, "title": "not queued", "detail": "the send queue was unavailable; nothing was sent"}),
            );
            let _ =
                ports.table.update(&messages::key(&job.tenant_id, &job.message_id), update, Some(Cond::Exists)).await;
            Err(e)
        }
    }
}
