//! Handing an accepted outbound message to the send worker: a job on the send queue.
//! Accepted means durably queued: the message row is written first, then the job; if the job
//! cannot be queued the message is marked failed and the caller answers 503. A crash between
//! the two (the row committed, the job never sent) is what the hand-off index is for: the row is
//! written into it (`keys::HANDOFF`), the send worker's claim takes it out, and the reconciler
//! queues the job again for a row that stayed there past its grace. So nothing sits `queued`
//! forever without a job.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::Error;
use crate::domain::inbox;
use crate::domain::messages::{Message, MessageStatus};
use crate::ports::Ports;
use crate::ports::queue::{OutMessage, QueueError};
use crate::ports::table::{Cond, Item, TxOp, Update};
use crate::store::{keys, messages};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    pub tenant_id: String,
    pub message_id: String,
}

/// Accepts a new outbound message: the row and its conversation's update in one transaction,
/// then the send job unless it is scheduled (the scheduler queues those when due).
pub async fn accept(ports: &Ports, message: &Message, preview: &str) -> Result<(), Error> {
    accept_with(ports, message, preview, None).await
}

/// [`accept`] with one more item put in the same transaction (the request's audit entry).
pub async fn accept_with(ports: &Ports, message: &Message, preview: &str, also: Option<Item>) -> Result<(), Error> {
    let contact_id =
        message.contact_id.as_deref().ok_or_else(|| Error::internal("outbound message without a contact"))?;
    let mut item = messages::item(message)?;
    if message.status == MessageStatus::Queued {
        item = in_handoff(item, ports.clock.now().timestamp_millis());
    }
    let mut ops = vec![
        TxOp::Put { item, cond: Some(Cond::NotExists) },
        inbox::touch_outbound(&message.tenant_id, contact_id, message.created_at, Some(preview), &message.kind),
    ];
    ops.extend(also.map(|item| TxOp::Put { item, cond: Some(Cond::NotExists) }));
    ports.table.transact(ops).await?;
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

/// Places a new message item in the hand-off index as of `now_ms` (see the module docs).
pub fn in_handoff(item: Item, now_ms: i64) -> Item {
    let Some(key) = item.key() else { return item };
    let (pk, sk) = keys::handoff(&key.pk, now_ms);
    item.with_index(keys::HANDOFF, pk, sk)
}

/// The update that places an existing message in the hand-off index as of `now_ms`.
pub fn into_handoff(pk: &str, now_ms: i64) -> Update {
    let (gsi_pk, gsi_sk) = keys::handoff(pk, now_ms);
    Update::new().set(keys::HANDOFF.pk_attr(), gsi_pk).set(keys::HANDOFF.sk_attr(), gsi_sk)
}

/// The lane a stored message's job goes to: campaign messages to the bulk lane.
fn is_bulk(item: &Item) -> bool {
    item.get_str("campaign_id").is_some()
}

/// Queues the send jobs of stored messages again (a release of parked messages, the
/// reconciler), each on its lane. The worker ignores a job whose message moved on, and its claim
/// lets one attempt through, so a job queued twice sends once.
pub async fn requeue(ports: &Ports, items: &[&Item]) -> Result<(), QueueError> {
    let job = |i: &&Item| -> Option<SendJob> {
        Some(SendJob { tenant_id: i.get_str("tenant_id")?.to_owned(), message_id: i.get_str("id")?.to_owned() })
    };
    let bulk: Vec<SendJob> = items.iter().filter(|i| is_bulk(i)).filter_map(job).collect();
    let fast: Vec<OutMessage> = items.iter().filter(|i| !is_bulk(i)).filter_map(job).map(|j| j.to_message()).collect();
    if !bulk.is_empty() {
        enqueue_bulk(ports, &bulk).await?;
    }
    if !fast.is_empty() {
        ports.queue.send_batch(crate::queues::SEND, fast).await?;
    }
    Ok(())
}

/// Queues a one-off message on the fast lane (`send`).
pub async fn enqueue(ports: &Ports, job: &SendJob) -> Result<(), QueueError> {
    match ports.queue.send(crate::queues::SEND, job.to_message()).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let update = Update::new()
                .set("status", "failed")
                .set("status_rank", MessageStatus::Failed.rank())
                .set(
                    "error",
                    json!({"code": 0, "title": "not queued", "detail": "the send queue was unavailable; nothing was sent"}),
                )
                .remove(keys::HANDOFF.pk_attr())
                .remove(keys::HANDOFF.sk_attr());
            let _ =
                ports.table.update(&messages::key(&job.tenant_id, &job.message_id), update, Some(Cond::Exists)).await;
            Err(e)
        }
    }
}
