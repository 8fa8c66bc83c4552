//! The send worker: the send queue's consumer (an SQS Lambda with partial batch failures, an
//! in-process poller locally). One job = one message.
//!
//! Order of checks, each with its reason:
//! 1. a refund this worker owes from an earlier decision (`refund_pending`) is settled first;
//! 2. the message still wants sending (`queued`, or `sending` from an attempt that died or was
//!    ambiguous: its grace for Meta's webhook runs out first, and after the last attempt the
//!    worker gives up rather than attempting again);
//! 3. a campaign message of a cancelled campaign is cancelled here, whatever became of the
//!    cancel's sweep (the small "cancelled" item is read before anything is claimed or debited);
//! 4. the tenant may send: a suspended tenant or an ended subscription **parks** the message
//!    (`hold`), it is never dropped nor left cycling through the queue towards its DLQ;
//! 5. the connection is usable (token opened from the vault only here); a connection being
//!    changed with no working one in service parks the message too;
//! 6. pacing: a permit of the number's grid (due within the next 250 ms; the send waits for its
//!    instant just before calling Meta) and the pair rate to this recipient — when every permit
//!    within reach is taken the job is re-queued for about its turn;
//! 7. the claim: only one attempt at a time goes to Meta;
//! 8. credits: debited once per message (a redelivery finds it `AlreadyDebited`), **after** the
//!    claim, so nothing can cancel a message between its debit and its send;
//! 9. Meta: the exact payload with `biz_opaque_callback_data` = our message id.
//!
//! An ambiguous failure (timeout, connection reset, a 2xx answer that cannot be read) may have
//! reached Meta: the message stays `sending` and the next look waits the grace for Meta's
//! status webhook before sending again — the last attempt included, so a message Meta did take
//! is never failed and refunded for lack of patience.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::domain::Error;
use crate::domain::billing::{DebitOutcome, DebitRequest, Reference};
use crate::domain::campaigns::cancel;
use crate::domain::messages::dispatch::SendJob;
use crate::domain::messages::status::{self, StatusReport};
use crate::domain::messages::{MessageError, MessageStatus, settle};
use crate::domain::money::Money;
use crate::domain::tenants::{self, SendingState};
use crate::domain::whatsapp::connection::{SendVia, mark_needs_reauth, send_via};
use crate::ports::Ports;
use crate::ports::meta::{Disposition, MetaError};
use crate::ports::table::{Cond, Item, Update};
use crate::store::{keys, messages};
use crate::util::backoff;

use super::debits;
use super::hold;
use super::pacing::{self, Permit, Reservation};
use super::prices::PriceTable;

/// How long a message left `sending` by an ambiguous failure waits for Meta's webhook.
pub const AMBIGUOUS_GRACE: Duration = Duration::from_secs(60);
/// Attempts at Meta (counted on the message as `send_attempts`, not by queue receives, which
/// pacing hand-backs also make) before a message that keeps failing transiently is failed for
/// good. The queue's dead-letter threshold is far above this, so a message always ends in a
/// terminal state by the worker's decision.
pub const MAX_ATTEMPTS: u32 = 4;

/// The worker's waits (configurable so tests need not wait a minute for a webhook that will
/// never come).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendTiming {
    /// How long an ambiguous attempt waits for Meta's status webhook before the next one.
    pub ambiguous_grace: Duration,
}

impl Default for SendTiming {
    fn default() -> Self {
        Self { ambiguous_grace: AMBIGUOUS_GRACE }
    }
}

pub struct SendWorker {
    pub ports: Ports,
    pub prices: PriceTable,
    pub timing: SendTiming,
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
    /// A message of a cancelled campaign: cancelled here instead of sent.
    Cancelled,
    /// Parked until the tenant may send again (`hold`); the job is done.
    Held {
        reason: String,
    },
    /// Try again after this long.
    Later {
        after: Duration,
        reason: String,
    },
}

impl SendWorker {
    pub fn new(ports: Ports, prices: PriceTable) -> Self {
        Self { ports, prices, timing: SendTiming::default() }
    }

    pub async fn attempt(&self, job: &SendJob, receive_count: u32) -> Result<Attempt, Error> {
        let ports = &self.ports;
        let Some(message) = messages::Messages::new(&*ports.table).get(&job.tenant_id, &job.message_id).await? else {
            return Ok(Attempt::Skipped);
        };
        // 1. A refund owed by an earlier failure or cancellation (its settlement was interrupted).
        if settle::is_pending(&message) {
            settle::resolve(ports, &message).await?;
            return Ok(Attempt::Skipped);
        }
        let current = message.get_str("status").and_then(MessageStatus::parse);
        if !matches!(current, Some(MessageStatus::Queued | MessageStatus::Sending)) {
            return Ok(Attempt::Skipped);
        }
        let now = ports.clock.now();
        let grace = self.timing.ambiguous_grace;
        if current == Some(MessageStatus::Sending) {
            if let Some(wamid) = message.get_str("wamid") {
                // Meta took it (its id is recorded): the attempt died before saying so.
                let report = StatusReport { status: MessageStatus::Sent, at: now, error: None, pricing: None };
                status::apply(ports, &messages::key(&job.tenant_id, &job.message_id), &report).await?;
                crate::domain::inbox::join_sent(ports, &message).await?;
                return Ok(Attempt::Sent { wamid: wamid.to_owned() });
            }
            let started = message.get_i64("send_started_ms").unwrap_or(0);
            let waited = now.timestamp_millis() - started;
            if waited < grace.as_millis() as i64 {
                let after = Duration::from_millis((grace.as_millis() as i64 - waited).max(1000) as u64);
                return Ok(Attempt::Later {
                    after,
                    reason: "waiting for Meta's webhook after an ambiguous attempt".into(),
                });
            }
            if message.get_i64("send_attempts").unwrap_or(0) >= i64::from(MAX_ATTEMPTS) {
                // The last attempt was ambiguous and its grace is over without a word from Meta.
                let detail = "Meta did not confirm the last attempt";
                return self.fail(job, "meta_unavailable", detail, None).await;
            }
        }

        // 3. A cancelled campaign sends nothing more.
        if let Some(campaign_id) = message.get_str("campaign_id")
            && let Some(usage_period) = cancel::cancelled(ports, &job.tenant_id, campaign_id).await?
        {
            let target = cancel::Target { tenant_id: &job.tenant_id, campaign_id, usage_period: &usage_period };
            cancel::cancel_batch(ports, &target, std::slice::from_ref(&message)).await?;
            return Ok(Attempt::Cancelled);
        }

        // 4. The tenant may send (parked, not dropped, while it may not).
        let tenant = tenants::get(ports, &job.tenant_id).await?;
        let state = tenants::sending_state(&tenant, now);
        if state != SendingState::Active {
            return self.hold(&message, state.error_code().unwrap_or("held")).await;
        }

        // 5. The connection (the working one while a re-connect runs).
        let (conn, token) = match send_via(ports, &job.tenant_id).await {
            Ok(SendVia::Ready(conn, token)) => (*conn, token),
            Ok(SendVia::Changing) => return self.hold(&message, hold::CONNECTING).await,
            Err(e) if e.is_permanent() => return self.fail(job, e.code, &e.message, None).await,
            Err(e) => return Err(e),
        };
        let phone =
            conn.phone_number_id.clone().ok_or_else(|| Error::internal("connected without a phone number id"))?;
        let to = message.get_str("to").unwrap_or_default().trim_start_matches('+').to_string();
        if to.is_empty() {
            return self.fail(job, "no_recipient", "the message has no recipient", None).await;
        }

        // 6. Pacing: the number, then the pair.
        let allowed = conn.throughput.as_ref().map(|t| t.messages_per_second).unwrap_or(80);
        let rate = pacing::effective_rate(ports, &phone, allowed).await?;
        let due = match pacing::reserve(ports, &phone, rate, pacing::HORIZON).await? {
            Reservation::Due(due) => due,
            Reservation::Full(at) => {
                // Handed back, not slept on: this worker goes on serving other numbers meanwhile.
                let at = pacing::spread(&phone, rate, at);
                tracing::debug!(message_id = %job.message_id, receive_count, rate, "number at its rate; handed back");
                return Ok(Attempt::Later { after: until(at, now), reason: "number rate".into() });
            }
        };
        if let Permit::NotBefore(at) = pacing::acquire_pair(ports, &phone, &to, pacing::PAIR_INTERVAL).await? {
            return Ok(Attempt::Later { after: until(at, now), reason: "pair rate".into() });
        }

        // 7. The claim: only one attempt at a time goes to Meta. `queued`, or `sending` left by an
        // attempt whose grace is over; two deliveries of one job racing here (a redelivery after
        // a visibility timeout, a duplicated job) cannot both pass, so Meta gets it once. It also
        // takes the message out of the hand-off and held indexes: its job is confirmed.
        let key = messages::key(&job.tenant_id, &job.message_id);
        let started = Update::new()
            .set("status", MessageStatus::Sending.as_str())
            .set("status_rank", MessageStatus::Sending.rank())
            .set("send_started_ms", now.timestamp_millis())
            .set_if_absent(MessageStatus::Sending.at_attr(), now.timestamp_millis())
            .add("send_attempts", 1)
            .remove(hold::HELD_ATTR)
            .remove(keys::HANDOFF.pk_attr())
            .remove(keys::HANDOFF.sk_attr());
        let grace_over = now.timestamp_millis() - grace.as_millis() as i64;
        let claimable = Cond::And(vec![
            Cond::Or(vec![
                Cond::eq("status", MessageStatus::Queued.as_str()),
                Cond::And(vec![
                    Cond::eq("status", MessageStatus::Sending.as_str()),
                    Cond::Le("send_started_ms".into(), Value::from(grace_over)),
                ]),
            ]),
            // Accepted by Meta already (its wamid recorded): never sent again.
            Cond::AttrNotExists("wamid".into()),
        ]);
        let claimed = match ports.table.update(&key, started, Some(claimable)).await {
            Ok(item) => item,
            Err(e) if e.is_condition_failure() => {
                // Cancelled or finished meanwhile, or another attempt holds it: look again later
                // (the next look skips a finished message, or waits out the other's grace).
                return Ok(Attempt::Later { after: grace, reason: "claimed by another attempt".into() });
            }
            Err(e) => return Err(e.into()),
        };
        let attempts = claimed.get_i64("send_attempts").unwrap_or(1).max(1) as u32;

        // 8. Credits, once per message, for tenants on prepaid credits.
        let cost = match self.debit(job, &message).await {
            Ok(Ok(cost)) => cost,
            Ok(Err(code)) => return self.fail(job, code, "not enough prepaid credits for this message", None).await,
            Err(e) => {
                // Not sent and not paid: give the claim back for the job's retry.
                let back = Update::new()
                    .set("status", MessageStatus::Queued.as_str())
                    .set("status_rank", MessageStatus::Queued.rank())
                    .add("send_attempts", -1);
                let ours = Cond::And(vec![
                    Cond::eq("status", MessageStatus::Sending.as_str()),
                    Cond::eq("send_started_ms", now.timestamp_millis()),
                ]);
                let _ = ports.table.update(&key, back, Some(ours)).await;
                return Err(e);
            }
        };

        // 9. Meta (a file first: uploaded once per file and number, then sent by Meta's id; an
        // upload Meta refuses or fails is handled as the send's answer would be).
        let media: Option<crate::domain::media::MessageMedia> =
            message.get("media").filter(|m| !m.is_null()).and_then(|m| serde_json::from_value(m.clone()).ok());
        let meta_media_id = match &media {
            Some(media) => {
                match crate::domain::media::outbound::meta_media_id(ports, &token, &phone, &job.tenant_id, media)
                    .await?
                {
                    Ok(id) => Some(id),
                    Err(e) => return self.meta_failed(job, &phone, &to, e, attempts).await,
                }
            }
            None => None,
        };
        let payload = payload(&message, &to, &job.message_id, meta_media_id.as_deref());
        // The permit's instant: not before it (Meta counts its rolling second from there).
        if let Ok(wait) = (due - ports.clock.now()).to_std() {
            tokio::time::sleep(wait).await;
        }
        match ports.meta.send_message(&token, &phone, &payload).await {
            Ok(accepted) => {
                // Meta took it at the latest when it answered: a late answer takes out the
                // permits a second on (a rolling second from there must not hold `rate` more),
                // before the writes below, so it lands long before those permits are reserved.
                // Best effort: the message is sent and is recorded whatever this does.
                let answered = ports.clock.now();
                if let Err(e) = pacing::sent(ports, &phone, rate, due, answered).await {
                    tracing::warn!(error = %e, "could not take out the permits a second after a late send");
                }
                // What it cost goes on the message with its wamid (the lists show it, no read).
                status::record_wamid(ports, &job.tenant_id, &job.message_id, &accepted.wamid, Some(cost)).await?;
                // A campaign message joins its contact's conversation now that it is sent.
                crate::domain::inbox::join_sent(ports, &message).await?;
                let report =
                    StatusReport { status: MessageStatus::Sent, at: ports.clock.now(), error: None, pricing: None };
                status::apply(ports, &key, &report).await?;
                Ok(Attempt::Sent { wamid: accepted.wamid })
            }
            Err(e) => self.meta_failed(job, &phone, &to, e, attempts).await,
        }
    }

    /// Parks the message until its tenant may send again (see `hold`), then makes sure a
    /// release that ran meanwhile did not miss it.
    async fn hold(&self, message: &Item, reason: &str) -> Result<Attempt, Error> {
        let ports = &self.ports;
        if !hold::park(ports, message, reason).await? {
            return Ok(Attempt::Skipped);
        }
        let (Some(tenant_id), Some(message_id)) = (message.get_str("tenant_id"), message.get_str("id")) else {
            return Err(Error::internal("message without tenant or id"));
        };
        tracing::info!(tenant_id, message_id, reason, "send held");
        if hold::may_release(ports, tenant_id).await?
            && let Some(parked) = messages::Messages::new(&*ports.table).get(tenant_id, message_id).await?
        {
            hold::requeue(ports, std::slice::from_ref(&parked)).await?;
        }
        Ok(Attempt::Held { reason: reason.to_owned() })
    }

    /// Debits the message's price if the tenant uses prepaid credits (has a balance item).
    /// Returns what the message was debited (zero when nothing is), or the failure code when the
    /// balance does not cover it.
    async fn debit(&self, job: &SendJob, message: &Item) -> Result<Result<Money, &'static str>, Error> {
        if self.ports.table.get(&keys::balance(&job.tenant_id)).await?.is_none() {
            return Ok(Ok(Money::ZERO)); // not on prepaid credits
        }
        let category = message.get_str("category").unwrap_or(if message.get_str("kind") == Some("text") {
            "service"
        } else {
            "marketing"
        });
        let amount = self.prices.price(category);
        if amount.units() == 0 {
            return Ok(Ok(Money::ZERO));
        }
        let reference = message
            .get_str("campaign_id")
            .map(Reference::campaign)
            .unwrap_or_else(|| Reference::message(&job.message_id));
        let request = DebitRequest { message_id: job.message_id.clone(), amount, reference, category: category.into() };
        // Grouped with this tenant's concurrent debits: one balance write per group (debits.rs).
        match debits::debit(&self.ports, &job.tenant_id, request).await? {
            DebitOutcome::InsufficientCredits => Ok(Err("insufficient_credits")),
            DebitOutcome::Debited { .. } => Ok(Ok(amount)),
            // An earlier attempt's debit (a redelivery): what that one took.
            DebitOutcome::AlreadyDebited => {
                let ledger = crate::store::ledger::Ledger::new(&*self.ports.table);
                let marker = ledger.debit_marker(&job.tenant_id, &job.message_id).await?;
                Ok(Ok(marker.map_or(amount, |m| m.amount)))
            }
        }
    }

    async fn meta_failed(
        &self,
        job: &SendJob,
        phone: &str,
        to: &str,
        e: MetaError,
        attempts: u32,
    ) -> Result<Attempt, Error> {
        let key = messages::key(&job.tenant_id, &job.message_id);
        // Meta may have taken it: no answer (timeout, reset), or a 2xx answer we cannot read.
        // It stays `sending`; the next look waits for Meta's webhook (the last attempt too).
        if matches!(e, MetaError::Timeout | MetaError::Transport(_) | MetaError::Protocol(_)) {
            return Ok(Attempt::Later { after: self.timing.ambiguous_grace, reason: e.to_string() });
        }
        match e.disposition() {
            Disposition::Retry => {
                match e.code() {
                    Some(130429) => pacing::slow_down(&self.ports, phone).await?,
                    Some(131056) => pacing::pair_backoff(&self.ports, phone, to, pacing::PAIR_INTERVAL).await?,
                    _ => {}
                }
                if attempts >= MAX_ATTEMPTS {
                    return self.fail(job, "meta_unavailable", &e.to_string(), meta_error(&e)).await;
                }
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
    /// meanwhile: then the failure is only recorded). The failure and the "refund pending" mark
    /// are one write, so a refund that fails here, or a crash before it, is retried by this
    /// job's redelivery or the reconciler (`messages::settle`).
    async fn fail(
        &self,
        job: &SendJob,
        code: &str,
        detail: &str,
        meta: Option<MessageError>,
    ) -> Result<Attempt, Error> {
        let error = meta.unwrap_or_else(|| MessageError {
            code: 0,
            title: Some(code.to_string()),
            detail: Some(detail.to_string()),
        });
        let now = self.ports.clock.now();
        let report = StatusReport { status: MessageStatus::Failed, at: now, error: Some(error), pricing: None };
        let key = messages::key(&job.tenant_id, &job.message_id);
        let owed = settle::pending(&key.pk, now.timestamp_millis(), &format!("not sent: {code}"));
        status::apply_with(&self.ports, &key, &report, owed).await?;
        if let Some(item) = messages::Messages::new(&*self.ports.table).get(&job.tenant_id, &job.message_id).await?
            && settle::is_pending(&item)
        {
            settle::resolve(&self.ports, &item).await?;
        }
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
/// (`{name, language: {code}, components}`, a media header's file by Meta's id), a file by Meta's id (`meta_media_id`) with the
/// message's text as its caption, or free text.
pub fn payload(message: &Item, to: &str, message_id: &str, meta_media_id: Option<&str>) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "biz_opaque_callback_data": message_id,
    });
    let kind = message.get_str("kind").unwrap_or_default();
    match message.get("template").filter(|t| !t.is_null()) {
        Some(template) => {
            body["type"] = json!("template");
            body["template"] = template.clone();
            // A media header by file: Meta's id of the upload in place of ours.
            if let Some(id) = meta_media_id {
                crate::domain::messages::header::put_meta_id(&mut body["template"], id);
            }
        }
        None if kind == "interactive" => {
            let sent: Option<crate::domain::messages::interactive::Interactive> =
                message.get("interactive").and_then(|i| serde_json::from_value(i.clone()).ok());
            body["type"] = json!("interactive");
            body["interactive"] =
                sent.as_ref().map(crate::domain::messages::interactive::meta_object).unwrap_or_default();
        }
        None if meta_media_id.is_some() => {
            let mut object = json!({"id": meta_media_id});
            // Meta takes a caption on images, videos and documents, a file name on documents.
            if let Some(caption) = message.get_str("text").filter(|_| matches!(kind, "image" | "video" | "document")) {
                object["caption"] = json!(caption);
            }
            if let Some(filename) = message.get("media").and_then(|m| m.get("filename")).filter(|_| kind == "document")
            {
                object["filename"] = filename.clone();
            }
            body["type"] = json!(kind);
            body[kind] = object;
        }
        None => {
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": false, "body": message.get_str("text").unwrap_or_default()});
        }
    }
    body
}
