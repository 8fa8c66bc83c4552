//! `media` queue: fetch a customer's file from Meta into storage (`domain::media::inbound`).

use async_trait::async_trait;

use super::retry;
use crate::domain::media::inbound::{self, FetchJob};
use crate::ports::Ports;
use crate::ports::queue::Delivery;
use crate::runtime::consumer::{ConsumeError, Consumer};

pub struct MediaConsumer {
    pub ports: Ports,
}

#[async_trait]
impl Consumer for MediaConsumer {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError> {
        let job: FetchJob = match serde_json::from_str(&delivery.body) {
            Ok(j) => j,
            Err(e) => {
                // Retrying cannot fix it; keep it out of the way (and out of the DLQ's alarms).
                tracing::error!(error = %e, id = %delivery.id, "malformed media job dropped");
                return Ok(());
            }
        };
        inbound::fetch(&self.ports, &job, delivery.receive_count).await.map(|_| ()).map_err(retry)
    }
}
