//! The send worker: the send queue's consumer (an SQS Lambda with partial batch failures, an
//! in-process poller locally). One job = one message.
//!
//! Order of checks, each with its reason:
//! 1. the message still wants sending (`queued`, or `sending` from an attempt that died);
//! 2. the tenant may send: a suspended tenant or an ended subscription **holds** the job (retry
//!    later), it is never dropped;
//! 3. the connection is usable (token opened from the vault only here);
//! 4. pacing: the number's rate (time-slotted counters) and the pair rate to this recipient —
//!    a full slot re-queues the job for the next one;
//! 5. credits: debited once per message (a redelivery finds it `AlreadyDebited`);
//! 6. Meta: the exact payload with `biz_opaque_callback_data` = our message id.
//!
//! An ambiguous failure (timeout, connection reset) may have reached Meta: the message stays
//! `sending` and the next attempt waits [`AMBIGUOUS_GRACE`] for Meta's status webhook before
//! sending again, so a slow network does not double-send.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::billing::{DebitOutcome, DebitRequest, Reference};
use crate::domain::messages::dispatch::SendJob;
use crate::domain::messages::settle;
use crate::domain::messages::status::{self, StatusReport};
use crate::domain::messages::{MessageError, MessageStatus};
use crate::domain::tenants::{self, SendingState};
use crate::domain::whatsapp::connection::{business_token, mark_needs_reauth};
use crate::http::ApiError;
use crate::ports::Ports;
use crate::ports::meta::{Disposition, MetaError};
use crate::ports::queue::Delivery;
use crate::ports::table::{Cond, Item, Update};
use crate::runtime::consumer::{ConsumeError, Consumer, backoff};
use crate::store::{keys, messages};

use super::debits;
use super::pacing::{self, Permit};
use super::prices::PriceTable;

/// How long a message left `sending` by an ambiguous failure waits for Meta's webhook.
pub const AMBIGUOUS_GRACE: Duration = Duration::from_secs(60);
/// How long a suspended tenant's jobs wait before looking again.
pub const HOLD_DELAY: Duration = Duration::from_secs(60);
/// Attempts at Meta (counted on the message as `send_attempts`, not by queue receives, which
/// pacing hand-backs also make) before a message that keeps failing transiently is failed for
/// good. The queue's dead-letter threshold is far above this, so a message always ends in a
/// terminal state by the worker's decision.
pub const MAX_ATTEMPTS: u32 = 4;

pub struct SendWorker {
    pub ports: Ports,
    pub prices: PriceTable,
}

/// What one attempt did (for tests and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent {
        wamid: String,
    },
    Failed {
        code: String,
    },
    /// Nothing to do (sent, failed or cancelled already; or no such message).
    Skipped,
    /// Try again after this long.
    Later {
        after: Duration,
        reason: String,
    },
}

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
            Err(e) => Err(ConsumeError::retry(e.to_string())),
        }
    }
}

impl SendWorker {
    pub async fn attempt(&self, job: &SendJob, receive_count: u32) -> Result<Attempt, ApiError> {
        let ports = &self.ports;
        let Some(message) = messages::get(ports, &job.tenant_id, &job.message_id).await? else {
            return Ok(Attempt::Skipped);
        };
        let current = message.get_str("status").and_then(MessageStatus::parse);
        if !matches!(current, Some(MessageStatus::Queued | MessageStatus::Sending)) {
            return Ok(Attempt::Skipped);
        }
        let now = ports.clock.now();
        if current == Some(MessageStatus::Sending) {
            let started = message.get_i64("send_started_ms").unwrap_or(0);
            let waited = now.timestamp_millis() - started;
            if waited < AMBIGUOUS_GRACE.as_millis() as i64 {
                let after = Duration::from_millis((AMBIGUOUS_GRACE.as_millis() as i64 - waited).max(1000) as u64);
                return Ok(Attempt::Later {
                    after,
                    reason: "waiting for Meta's webhook after an ambiguous attempt".into(),
                });
            }
        }

        // 2. The tenant may send (held, not dropped, while it may not).
        let tenant = tenants::get(ports, &job.tenant_id).await?;
        let state = tenants::sending_state(&tenant, now);
        if state != SendingState::Active {
            return Ok(Attempt::Later { after: HOLD_DELAY, reason: format!("held: {:?}", state.error_code()) });
        }

        // 3. The connection.
        let (conn, token) = match business_token(ports, &job.tenant_id).await {
            Ok(ok) => ok,
            Err(e) if e.status.is_client_error() => return self.fail(job, e.code, &e.message, None).await,
            Err(e) => return Err(e),
        };
        let phone =
            conn.phone_number_id.clone().ok_or_else(|| ApiError::internal("connected without a phone number id"))?;
        let to = message.get_str("to").unwrap_or_default().trim_start_matches('+').to_string();
        if to.is_empty() {
            return self.fail(job, "no_recipient", "the message has no recipient", None).await;
        }

        // 4. Pacing: the number, then the pair.
        let allowed = conn.throughput.as_ref().map(|t| t.messages_per_second).unwrap_or(80);
        let rate = pacing::effective_rate(ports, &phone, allowed).await?;
        if let Permit::NotBefore(at) = pacing::acquire(ports, &phone, rate, pacing::DEFAULT_SHARDS).await? {
            // Handed back, not slept on: this worker goes on serving other numbers meanwhile.
            let at = pacing::spread(&phone, rate, at);
            tracing::debug!(message_id = %job.message_id, receive_count, rate, "number at its rate; handed back");
            return Ok(Attempt::Later { after: until(at, now), reason: "number rate".into() });
        }
        if let Permit::NotBefore(at) = pacing::acquire_pair(ports, &phone, &to, pacing::PAIR_INTERVAL).await? {
            return Ok(Attempt::Later { after: until(at, now), reason: "pair rate".into() });
        }

        // 5. Credits, once per message, for tenants on prepaid credits.
        if let Some(code) = self.debit(job, &message).await? {
            return self.fail(job, code, "not enough prepaid credits for this message", None).await;
        }

        // 6. Meta.
        // The claim: only one attempt at a time goes to Meta. `queued`, or `sending` left by an
        // attempt whose grace is over; two deliveries of one job racing here (a redelivery after
        // a visibility timeout, a duplicated job) cannot both pass, so Meta gets it once.
        let started = Update::new()
            .set("status", MessageStatus::Sending.as_str())
            .set("status_rank", MessageStatus::Sending.rank())
            .set("send_started_ms", now.timestamp_millis())
            .set_if_absent(MessageStatus::Sending.at_attr(), now.timestamp_millis())
            .add("send_attempts", 1);
        let grace_over = now.timestamp_millis() - AMBIGUOUS_GRACE.as_millis() as i64;
        let claimable = Cond::Or(vec![
            Cond::eq("status", MessageStatus::Queued.as_str()),
            Cond::And(vec![
                Cond::eq("status", MessageStatus::Sending.as_str()),
                Cond::Le("send_started_ms".into(), Value::from(grace_over)),
            ]),
        ]);
        let claimed =
            match ports.table.update(&messages::key(&job.tenant_id, &job.message_id), started, Some(claimable)).await {
                Ok(item) => item,
                Err(e) if e.is_condition_failure() => {
                    // Cancelled or finished meanwhile, or another attempt holds it: look again later
                    // (the next look skips a finished message, or waits out the other's grace).
                    return Ok(Attempt::Later { after: AMBIGUOUS_GRACE, reason: "claimed by another attempt".into() });
                }
                Err(e) => return Err(e.into()),
            };
        let attempts = claimed.get_i64("send_attempts").unwrap_or(1).max(1) as u32;
        let payload = payload(&message, &to, &job.message_id);
        match ports.meta.send_message(&token, &phone, &payload).await {
            Ok(accepted) => {
                messages::set_wamid(ports, &job.tenant_id, &job.message_id, &accepted.wamid).await?;
                let report =
                    StatusReport { status: MessageStatus::Sent, at: ports.clock.now(), error: None, pricing: None };
                status::apply(ports, &messages::key(&job.tenant_id, &job.message_id), &report).await?;
                Ok(Attempt::Sent { wamid: accepted.wamid })
            }
            Err(e) => self.meta_failed(job, &phone, &to, e, attempts).await,
        }
    }

    /// Debits the message's price if the tenant uses prepaid credits (has a balance item).
    /// Returns the failure code when the balance does not cover it.
    async fn debit(&self, job: &SendJob, message: &Item) -> Result<Option<&'static str>, ApiError> {
        if self.ports.table.get(&keys::balance(&job.tenant_id)).await?.is_none() {
            return Ok(None); // not on prepaid credits
        }
        let category = message.get_str("category").unwrap_or(if message.get_str("kind") == Some("text") {
            "service"
        } else {
            "marketing"
        });
        let amount = self.prices.price(category);
        if amount.units() == 0 {
            return Ok(None);
        }
        let reference = message
            .get_str("campaign_id")
            .map(Reference::campaign)
            .unwrap_or_else(|| Reference::message(&job.message_id));
        let request = DebitRequest { message_id: job.message_id.clone(), amount, reference };
        // Grouped with this tenant's concurrent debits: one balance write per group (debits.rs).
        match debits::debit(&self.ports, &job.tenant_id, request).await? {
            DebitOutcome::InsufficientCredits => Ok(Some("insufficient_credits")),
            _ => Ok(None),
        }
    }

    async fn meta_failed(
        &self,
        job: &SendJob,
        phone: &str,
        to: &str,
        e: MetaError,
        attempts: u32,
    ) -> Result<Attempt, ApiError> {
        let key = messages::key(&job.tenant_id, &job.message_id);
        match e.disposition() {
            Disposition::Retry => {
                let definite = matches!(e, MetaError::Api { .. });
                match e.code() {
                    Some(130429) => pacing::slow_down(&self.ports, phone).await?,
                    Some(131056) => pacing::pair_backoff(&self.ports, phone, to, pacing::PAIR_INTERVAL).await?,
                    _ => {}
                }
                if attempts >= MAX_ATTEMPTS {
                    return self.fail(job, "meta_unavailable", &e.to_string(), meta_error(&e)).await;
                }
                if definite {
                    // Meta answered: it did not take the message. Back to queued for a clean retry.
                    let back = Update::new()
                        .set("status", MessageStatus::Queued.as_str())
                        .set("status_rank", MessageStatus::Queued.rank());
                    let _ = self
                        .ports
                        .table
                        .update(&key, back, Some(Cond::eq("status", MessageStatus::Sending.as_str())))
                        .await;
                    Ok(Attempt::Later { after: backoff(attempts), reason: e.to_string() })
                } else {
                    Ok(Attempt::Later { after: AMBIGUOUS_GRACE, reason: e.to_string() })
                }
            }
            Disposition::ReauthRequired => {
                mark_needs_reauth(&self.ports, &job.tenant_id).await?;
                self.fail(job, "whatsapp_needs_reauth", &e.to_string(), meta_error(&e)).await
            }
            Disposition::Permanent => {
                let code = e.code().map(|c| c.to_string()).unwrap_or_else(|| "meta_rejected".into());
                tracing::info!(tenant_id = %job.tenant_id, message_id = %job.message_id, code, "Meta refused the message");
                self.fail(job, "meta_rejected", &e.to_string(), meta_error(&e)).await
            }
        }
    }

    /// Ends the message as `failed` and gives back what it was debited (unless it was delivered
    /// meanwhile: then the failure is only recorded).
    async fn fail(
        &self,
        job: &SendJob,
        code: &str,
        detail: &str,
        meta: Option<MessageError>,
    ) -> Result<Attempt, ApiError> {
        let error = meta.unwrap_or_else(|| MessageError {
            code: 0,
            title: Some(code.to_string()),
            detail: Some(detail.to_string()),
        });
        let report = StatusReport {
            status: MessageStatus::Failed,
            at: self.ports.clock.now(),
            error: Some(error),
            pricing: None,
        };
        status::apply(&self.ports, &messages::key(&job.tenant_id, &job.message_id), &report).await?;
        settle::refund_if_failed(&self.ports, &job.tenant_id, &job.message_id, format!("not sent: {code}")).await?;
        Ok(Attempt::Failed { code: code.to_string() })
    }
}

fn meta_error(e: &MetaError) -> Option<MessageError> {
    match e {
        MetaError::Api { code, title, message, details, .. } => Some(MessageError {
            code: *code,
            title: title.clone().or_else(|| Some(message.clone())),
            detail: details.clone(),
        }),
        _ => None,
    }
}

fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or_default().max(Duration::from_millis(50))
}

/// Meta's send body (see `shared/fixtures/meta-send/`): a template as stored at acceptance
/// (`{name, language: {code}, components}`), or free text.
pub fn payload(message: &Item, to: &str, message_id: &str) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "biz_opaque_callback_data": message_id,
    });
    match message.get("template").filter(|t| !t.is_null()) {
        Some(template) => {
            body["type"] = json!("template");
            body["template"] = template.clone();
        }
        None => {
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": false, "body": message.get_str("text").unwrap_or_default()});
        }
    }
    body
}
