//! `mail` queue: welcome emails (`domain::welcome_mail`) and password reset emails
//! (`domain::password_reset`).

use async_trait::async_trait;
use serde::Deserialize;

use super::retry;
use crate::domain::{password_reset, welcome_mail};
use crate::ports::Ports;
use crate::ports::queue::Delivery;
use crate::runtime::consumer::{ConsumeError, Consumer};

pub struct MailConsumer {
    pub ports: Ports,
}

#[async_trait]
impl Consumer for MailConsumer {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError> {
        #[derive(Deserialize)]
        struct Kind {
            kind: String,
        }
        if serde_json::from_str::<Kind>(&delivery.body).is_ok_and(|k| k.kind == password_reset::KIND) {
            return match serde_json::from_str::<password_reset::ResetJob>(&delivery.body) {
                Ok(job) => password_reset::send(&self.ports, &job).await.map_err(retry),
                Err(e) => {
                    tracing::error!(error = %e, id = %delivery.id, "malformed password reset job dropped");
                    Ok(())
                }
            };
        }
        let job: welcome_mail::WelcomeJob = match serde_json::from_str(&delivery.body) {
            Ok(j) => j,
            Err(e) => {
                // Retrying cannot fix it; keep it out of the way (and out of the DLQ's alarms).
                tracing::error!(error = %e, id = %delivery.id, "malformed mail job dropped");
                return Ok(());
            }
        };
        if job.kind != welcome_mail::KIND {
            tracing::error!(kind = %job.kind, id = %delivery.id, "unknown mail job kind dropped");
            return Ok(());
        }
        welcome_mail::send(&self.ports, &job).await.map_err(retry)
    }
}
