//! The webhook processor: the consumer of the webhook queue (an SQS-triggered Lambda on AWS, an
//! in-process poller locally).
//!
//! For each delivery: read the envelope (and the claim-checked body), parse the events, and for
//! each event not processed before (dedup record keyed by the event's derived key): route it to
//! its tenant and apply it. Anything that cannot be acted on is quarantined, never dropped; a
//! failure to apply (store unavailable, ...) fails the delivery so the queue retries it, and the
//! events already done are skipped on the retry.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde_json::Value;

use crate::domain::Error;
use crate::domain::messages::MessageError;
use crate::domain::messages::status::{self, StatusReport};
use crate::domain::whatsapp::account_events;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, TableError};
use crate::store::{keys, messages};

use super::ingest::{Envelope, load_claim};
use super::payload::{self, Event, StatusUpdate};
use super::quarantine::{self, Reason};
use super::routing;

/// Dedup records outlive Meta's redelivery window (it retries for up to 7 days).
const DONE_TTL_SECS: i64 = 8 * 24 * 3600;

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    AlreadyDone,
    Quarantined(Reason),
}

/// A handler for the event kinds another module owns (inbound messages, templates, the
/// connection). Returns `Ok(false)` when it does not handle this kind.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    async fn handle(&self, ports: &Ports, tenant_id: &str, event: &Event) -> Result<bool, Error>;
}

/// `account_update` and `phone_number_quality_update` change the tenant's connection.
pub struct AccountEvents;

#[async_trait]
impl EventHandler for AccountEvents {
    async fn handle(&self, ports: &Ports, tenant_id: &str, event: &Event) -> Result<bool, Error> {
        match event {
            Event::AccountUpdate { event: name, value, at, .. } => {
                let effect = account_events::apply_account_update(ports, tenant_id, name, value).await?;
                crate::domain::audit::connection_changed_by_meta(ports, tenant_id, &event.key(), name, *at, &effect)
                    .await?;
                Ok(true)
            }
            Event::PhoneQuality { event, current_limit, .. } => {
                account_events::apply_phone_quality(ports, tenant_id, event, current_limit.as_deref()).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

pub struct WebhookProcessor {
    ports: Ports,
    handlers: Vec<Box<dyn EventHandler>>,
}

impl WebhookProcessor {
    pub fn new(ports: Ports) -> Self {
        Self { ports, handlers: Vec::new() }
    }

    pub fn with_handler(mut self, handler: impl EventHandler) -> Self {
        self.handlers.push(Box::new(handler));
        self
    }

    /// Processes one queue message; `Err` means "retry the delivery".
    pub async fn process(&self, body: &str) -> Result<Vec<Outcome>, Error> {
        let envelope: Envelope = match serde_json::from_str(body) {
            Ok(e) => e,
            Err(e) => {
                let id = format!("envelope-{}", crate::util::hex(&sha(body)));
                quarantine::keep(&self.ports, &id, Reason::Malformed, &e.to_string(), Value::String(body.into()))
                    .await?;
                return Ok(vec![Outcome::Quarantined(Reason::Malformed)]);
            }
        };
        let raw = match (envelope.body, envelope.claim) {
            (Some(b), _) => b,
            (None, Some(chunks)) => match load_claim(&self.ports, &envelope.id, chunks).await? {
                Some(b) => b,
                None => {
                    quarantine::keep(
                        &self.ports,
                        &envelope.id,
                        Reason::Malformed,
                        "claim-checked body missing",
                        Value::Null,
                    )
                    .await?;
                    return Ok(vec![Outcome::Quarantined(Reason::Malformed)]);
                }
            },
            (None, None) => {
                quarantine::keep(&self.ports, &envelope.id, Reason::Malformed, "envelope without body", Value::Null)
                    .await?;
                return Ok(vec![Outcome::Quarantined(Reason::Malformed)]);
            }
        };
        let events = match payload::parse(&raw) {
            Ok(events) => events,
            Err(e) => {
                quarantine::keep(&self.ports, &envelope.id, Reason::Malformed, &e.to_string(), Value::String(raw))
                    .await?;
                return Ok(vec![Outcome::Quarantined(Reason::Malformed)]);
            }
        };
        let mut outcomes = Vec::with_capacity(events.len());
        for event in &events {
            outcomes.push(self.process_event(event).await?);
        }
        Ok(outcomes)
    }

    async fn process_event(&self, event: &Event) -> Result<Outcome, Error> {
        let key = event.key();
        let done = keys::webhook_processed(&key);
        if self.ports.table.get(&done).await?.is_some() {
            return Ok(Outcome::AlreadyDone);
        }
        let outcome = match event {
            Event::Unhandled { reason, field, value, .. } => {
                quarantine::keep(&self.ports, &key, Reason::Unhandled, &format!("{field}: {reason}"), value.clone())
                    .await?;
                Outcome::Quarantined(Reason::Unhandled)
            }
            _ => match routing::tenant_for(&self.ports, event).await? {
                None => {
                    let detail =
                        format!("no tenant for phone number {:?} / WABA {}", event.phone_number_id(), event.waba_id());
                    quarantine::keep(&self.ports, &key, Reason::Unrouted, &detail, event_json(event)).await?;
                    Outcome::Quarantined(Reason::Unrouted)
                }
                Some(tenant_id) => self.apply(&tenant_id, event).await?,
            },
        };
        // Recorded after the effect: a crash in between re-applies, which every handler tolerates.
        let record = Item::new(done)
            .with("at", self.ports.clock.now().to_rfc3339())
            .with_ttl(self.ports.clock.epoch_seconds() + DONE_TTL_SECS);
        match self.ports.table.put(record, Some(Cond::NotExists)).await {
            Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(outcome),
            Err(e) => Err(e.into()),
        }
    }

    async fn apply(&self, tenant_id: &str, event: &Event) -> Result<Outcome, Error> {
        if let Event::Status { status, .. } = event {
            apply_status(&self.ports, tenant_id, status).await?;
            return Ok(Outcome::Applied);
        }
        for handler in &self.handlers {
            if handler.handle(&self.ports, tenant_id, event).await? {
                return Ok(Outcome::Applied);
            }
        }
        let key = event.key();
        quarantine::keep(&self.ports, &key, Reason::Unhandled, "no handler for this event kind", event_json(event))
            .await?;
        Ok(Outcome::Quarantined(Reason::Unhandled))
    }
}

/// The processor with every handler the platform has, as both the Lambda and the local process
/// run it.
pub fn processor(ports: Ports) -> WebhookProcessor {
    WebhookProcessor::new(ports)
        .with_handler(AccountEvents)
        .with_handler(super::customers::CustomerEvents)
        .with_handler(crate::domain::templates::events::TemplateEvents)
}

/// Applies a delivery status to the tenant's message: by our id (echoed as
/// `biz_opaque_callback_data`), else by wamid, else parked until the wamid is recorded.
pub async fn apply_status(ports: &Ports, tenant_id: &str, s: &StatusUpdate) -> Result<(), Error> {
    let report = StatusReport {
        status: to_message_status(s.status),
        at: Utc.timestamp_opt(s.timestamp, 0).single().unwrap_or_else(|| ports.clock.now()),
        error: s.errors.first().map(|e| MessageError {
            code: e.code,
            title: e.title.clone().or_else(|| e.message.clone()),
            detail: e.details().map(str::to_string),
        }),
        pricing: s.pricing.clone(),
    };
    if let Some(id) = s.biz_opaque_callback_data.as_deref().filter(|id| id.starts_with("msg_"))
        && status::apply(ports, &messages::key(tenant_id, id), &report).await?.is_some()
    {
        return settle_failure(ports, tenant_id, id, &report).await;
    }
    if let Some(item) = messages::Messages::new(&*ports.table).find_by_wamid(tenant_id, &s.wamid).await?
        && let (Some(key), Some(id)) = (item.key(), item.get_str("id"))
        && status::apply(ports, &key, &report).await?.is_some()
    {
        return settle_failure(ports, tenant_id, id, &report).await;
    }
    Ok(status::park(ports, tenant_id, &s.wamid, &report).await?)
}

/// Meta reported a failure: refund if the message ended failed (see `messages::settle`).
async fn settle_failure(ports: &Ports, tenant_id: &str, message_id: &str, report: &StatusReport) -> Result<(), Error> {
    if report.status != crate::domain::messages::MessageStatus::Failed {
        return Ok(());
    }
    let reason = report.error.as_ref().map(|e| format!("Meta reported failure {}", e.code)).unwrap_or_default();
    crate::domain::messages::settle::refund_if_failed(ports, tenant_id, message_id, reason).await
}

fn to_message_status(s: payload::DeliveryStatus) -> crate::domain::messages::MessageStatus {
    use crate::domain::messages::MessageStatus as M;
    match s {
        payload::DeliveryStatus::Sent => M::Sent,
        payload::DeliveryStatus::Delivered => M::Delivered,
        payload::DeliveryStatus::Read => M::Read,
        payload::DeliveryStatus::Failed => M::Failed,
    }
}

fn event_json(event: &Event) -> Value {
    Value::String(format!("{event:?}"))
}

fn sha(s: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())[..12].to_vec()
}
