//! `webhook` queue: Meta's stored webhook envelopes (`domain::webhooks::process`).

use async_trait::async_trait;

use super::retry;
use crate::domain::webhooks::process::WebhookProcessor;
use crate::ports::queue::Delivery;
use crate::runtime::consumer::{ConsumeError, Consumer};

#[async_trait]
impl Consumer for WebhookProcessor {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError> {
        self.process(&delivery.body).await.map(|_| ()).map_err(retry)
    }
}
