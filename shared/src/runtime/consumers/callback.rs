//! `callback` queue: signed POSTs to the tenant's own system (`domain::callbacks::worker`).

use async_trait::async_trait;

use crate::domain::callbacks::events::CallbackJob;
use crate::domain::callbacks::worker::CallbackWorker;
use crate::ports::queue::Delivery;
use crate::runtime::consumer::{ConsumeError, Consumer};

#[async_trait]
impl Consumer for CallbackWorker {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError> {
        let job: CallbackJob = match serde_json::from_str(&delivery.body) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error = %e, id = %delivery.id, "malformed callback job dropped");
                return Ok(());
            }
        };
        self.attempt(&job).await.map_err(|e| ConsumeError::retry(e.to_string()))
    }
}
