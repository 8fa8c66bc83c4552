//! Handing an accepted outbound message to the send worker: a job on the send queue.
//! Accepted means durably queued: the message row is written first, then the job; if the job
//! cannot be queued the message is marked failed and the caller answers 503, so nothing sits
//! "queued" forever without a job.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ports::Ports;
use crate::ports::queue::{OutMessage, QueueError};
use crate::ports::table::{Cond, Update};
use crate::store::messages;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    pub tenant_id: String,
    pub message_id: String,
}

pub async fn enqueue(ports: &Ports, job: &SendJob) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).expect("job serializes");
    match ports.queue.send(crate::queues::SEND, OutMessage::new(body)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let update = Update::new()
                .set("status", "failed")
                .set("status_rank", crate::domain::messages::MessageStatus::Failed.rank())
                .set("error", json!({"code": 0, "title": "not queued", "detail": "the send queue was unavailable; nothing was sent"}));
            let _ =
                ports.table.update(&messages::key(&job.tenant_id, &job.message_id), update, Some(Cond::Exists)).await;
            Err(e)
        }
    }
}
