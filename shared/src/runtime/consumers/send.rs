//! `send` queue: one message to Meta per job (`domain::sending::worker`).

use async_trait::async_trait;

use super::retry;
use crate::domain::messages::dispatch::SendJob;
use crate::domain::sending::worker::{Attempt, SendWorker};
use crate::ports::queue::Delivery;
use crate::runtime::consumer::{ConsumeError, Consumer};

#[async_trait]
impl Consumer for SendWorker {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError> {
        let Ok(job) = serde_json::from_str::<SendJob>(&delivery.body) else {
            tracing::error!(body_len = delivery.body.len(), "send job is not a SendJob; dropped");
            return Ok(());
        };
        match self.attempt(&job, delivery.receive_count).await {
            Ok(Attempt::Later { after, reason }) => Err(ConsumeError::retry_in(after, reason)),
            Ok(_) => Ok(()),
            Err(e) => Err(retry(e)),
        }
    }
}
