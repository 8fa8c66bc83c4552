//! The `callback` queue's consumer: one job = one delivery attempt of one event.
//!
//! 1. An event already delivered (or given up) is skipped (`DONE` item of the event).
//! 2. The attempt is claimed with a conditional put of its record (`ATTEMPT#<n>`), so a
//!    duplicated job never POSTs twice for the same attempt; the record is also what
//!    `GET /settings/callback/deliveries` lists (TTL 7 days).
//! 3. The URL is resolved and checked again (SSRF guard, DNS rebinding) and the POST goes to
//!    exactly the checked addresses, without following redirects, with a 10 s timeout.
//! 4. 2xx = delivered. Anything else schedules the next attempt as a *new* delayed job
//!    (exponential backoff: 1 s, 2 s, 4 s ... capped at SQS's 15 min per step) until 24 h after
//!    the event, then gives up (recorded). A new job per attempt, rather than the queue's own
//!    redelivery, keeps the attempt count independent of the queue's `maxReceiveCount`.
//!
//! Headers: `X-Miping-Timestamp` (unix seconds of this attempt), `X-Miping-Signature:
//! sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>", key = the secret>` (the timestamp is
//! signed, so a receiver can refuse a replayed request by its age), `X-Miping-Event-Id`,
//! `X-Miping-Delivery-Attempt`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::events::{self, CallbackJob};
use super::{settings, ssrf};
use crate::ports::Ports;
use crate::ports::queue::MAX_DELAY;
use crate::ports::table::{Cond, Item, TableError, Update};
use crate::store::keys;

pub const SIGNATURE_HEADER: &str = "x-miping-signature";
pub const TIMESTAMP_HEADER: &str = "x-miping-timestamp";
pub const EVENT_ID_HEADER: &str = "x-miping-event-id";
pub const ATTEMPT_HEADER: &str = "x-miping-delivery-attempt";

/// Retries stop this long after the event.
pub const RETRY_WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// Attempt records (the deliveries list) are kept this long.
const RECORD_TTL_SECS: i64 = 7 * 24 * 3600;
/// A claimed attempt without a result after this long was interrupted (the worker died).
const STALE_CLAIM_SECS: i64 = 120;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry's delay; each next one doubles.
const FIRST_RETRY: Duration = Duration::from_secs(1);

pub struct CallbackWorker {
    pub ports: Ports,
    /// Lets callbacks reach loopback and private addresses (the local process only).
    pub allow_private: bool,
}

/// The signature header value for `body` sent at `timestamp` (unix seconds, the
/// `X-Miping-Timestamp` value): HMAC-SHA256 over `"<timestamp>.<body>"`, as Stripe signs.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", crate::util::hex(&mac.finalize().into_bytes()))
}

/// The delay before attempt `attempt + 1`: `FIRST_RETRY × 2^(attempt-1)`, capped at 15 min,
/// minus up to a quarter of jitter so a burst of failures does not come back in lockstep.
pub fn retry_delay(attempt: u32) -> Duration {
    let ceiling = FIRST_RETRY.saturating_mul(1 << attempt.saturating_sub(1).min(20)).min(MAX_DELAY);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(ms - rand::thread_rng().gen_range(0..=ms / 4))
}

/// One attempt as the deliveries list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"event_id": "evt_3f2a9c1d8e7b6a5f4e3d2c1b0a998877", "type": "message.status", "attempt": 2,
    "at": "2026-11-21T08:00:03Z", "status": "failed", "status_code": 503, "error": "HTTP 503 Service Unavailable",
    "next_attempt_at": "2026-11-21T08:00:05Z"}))]
pub struct DeliveryView {
    /// The event's id (`X-Miping-Event-Id`); every attempt of one event shares it.
    pub event_id: String,
    /// `message.status` or `message.inbound`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// `pending`, `delivered`, `failed`, `gave_up` or `dropped` (no callback configured anymore).
    #[schema(example = "delivered")]
    pub status: String,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed (timeout, connection refused, non-2xx ...).
    pub error: Option<String>,
    /// When the next attempt is due, after a failure within the 24 h retry window.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

enum Outcome {
    Delivered(u16),
    Failed {
        status_code: Option<u16>,
        error: String,
    },
    /// The tenant removed its callback: nothing to deliver to.
    Dropped,
}

impl CallbackWorker {
    /// Runs one attempt of `job` (idempotent per attempt).
    pub async fn attempt(&self, job: &CallbackJob) -> Result<(), TableError> {
        let ports = &self.ports;
        let (tenant_id, event_id) = (job.tenant_id.as_str(), job.event.id.as_str());
        if ports.table.get(&keys::callback_done(tenant_id, event_id)).await?.is_some() {
            return Ok(());
        }
        let now = ports.clock.now();
        let record_key = keys::callback_attempt(tenant_id, event_id, job.attempt);
        let record = attempt_record(tenant_id, event_id, &job.event.kind, job.attempt, now);
        match ports.table.put(record, Some(Cond::NotExists)).await {
            Ok(()) => {}
            Err(TableError::ConditionFailed { current: Some(current) }) => {
                return self.resume(job, &current).await;
            }
            Err(TableError::ConditionFailed { current: None }) => return Ok(()),
            Err(e) => return Err(e),
        }

        let outcome = self.deliver(job).await?;
        match outcome {
            Outcome::Delivered(code) => {
                let update = Update::new().set("status", "delivered").set("status_code", code);
                ports.table.update(&record_key, update, None).await?;
                self.finish(job, "delivered").await
            }
            Outcome::Dropped => {
                let update = Update::new().set("status", "dropped").set("error", "no callback URL is configured");
                ports.table.update(&record_key, update, None).await?;
                self.finish(job, "dropped").await
            }
            Outcome::Failed { status_code, error } => {
                let mut update = Update::new().set("status", "failed").set("error", error.clone());
                if let Some(code) = status_code {
                    update = update.set("status_code", code);
                }
                ports.table.update(&record_key, update, None).await?;
                tracing::info!(tenant_id, event_id, attempt = job.attempt, error, "callback attempt failed");
                self.schedule_next(job).await
            }
        }
    }

    /// The attempt was claimed before: a duplicated job, or a retry of one that failed half way.
    async fn resume(&self, job: &CallbackJob, current: &Item) -> Result<(), TableError> {
        if current.get("next_attempt_at").is_some() {
            return Ok(());
        }
        match current.get_str("status") {
            Some("pending") => {
                let at = current.get_str("at").and_then(|s| DateTime::parse_from_rfc3339(s).ok());
                let stale = at
                    .is_none_or(|at| self.ports.clock.now().signed_duration_since(at).num_seconds() > STALE_CLAIM_SECS);
                if !stale {
                    return Err(TableError::Unavailable("the attempt is in progress elsewhere".into()));
                }
                let update = Update::new().set("status", "failed").set("error", "interrupted");
                self.ports
                    .table
                    .update(&keys::callback_attempt(&job.tenant_id, &job.event.id, job.attempt), update, None)
                    .await?;
                self.schedule_next(job).await
            }
            Some("failed") => self.schedule_next(job).await,
            Some("delivered") => self.finish(job, "delivered").await,
            _ => Ok(()),
        }
    }

    async fn finish(&self, job: &CallbackJob, outcome: &str) -> Result<(), TableError> {
        let now = self.ports.clock.now();
        let done = Item::new(keys::callback_done(&job.tenant_id, &job.event.id))
            .with("outcome", outcome)
            .with("attempts", job.attempt)
            .with("at", now.to_rfc3339())
            .with_ttl(now.timestamp() + RECORD_TTL_SECS);
        match self.ports.table.put(done, Some(Cond::NotExists)).await {
            Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Queues attempt n+1 after the backoff, or gives up once the 24 h window is over.
    async fn schedule_next(&self, job: &CallbackJob) -> Result<(), TableError> {
        let ports = &self.ports;
        let record_key = keys::callback_attempt(&job.tenant_id, &job.event.id, job.attempt);
        let now = ports.clock.now();
        let delay = retry_delay(job.attempt);
        let next_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
        if next_at > job.first_at + RETRY_WINDOW {
            ports.table.update(&record_key, Update::new().set("status", "gave_up"), None).await?;
            tracing::warn!(tenant_id = %job.tenant_id, event_id = %job.event.id, attempts = job.attempt,
                "callback given up after 24 h of failures");
            return self.finish(job, "gave_up").await;
        }
        // Claimed on the record so that a duplicated job does not fork a second chain.
        let claim = Update::new().set("next_attempt_at", next_at.to_rfc3339());
        match ports.table.update(&record_key, claim, Some(Cond::AttrNotExists("next_attempt_at".into()))).await {
            Ok(_) => {}
            Err(TableError::ConditionFailed { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
        let next = CallbackJob { attempt: job.attempt + 1, ..job.clone() };
        if let Err(e) = events::send(ports, &next, delay).await {
            // Let the redelivered job schedule it again.
            let _ = ports.table.update(&record_key, Update::new().remove("next_attempt_at"), None).await;
            return Err(TableError::Unavailable(format!("callback queue: {e}")));
        }
        Ok(())
    }

    async fn deliver(&self, job: &CallbackJob) -> Result<Outcome, TableError> {
        let Some(stored) = settings::get(&self.ports, &job.tenant_id).await? else { return Ok(Outcome::Dropped) };
        let secret = match self.ports.vault.open(&job.tenant_id, &stored.sealed_secret).await {
            Ok(s) => s,
            Err(crate::ports::vault::VaultError::Unavailable(e)) => return Err(TableError::Unavailable(e)),
            Err(e) => {
                return Ok(Outcome::Failed { status_code: None, error: format!("the callback secret: {e}") });
            }
        };
        let url = match ssrf::check_shape(&stored.view.url) {
            Ok(url) => url,
            Err(r) => return Ok(Outcome::Failed { status_code: None, error: r.message }),
        };
        let addrs = match ssrf::resolve(&url, self.allow_private).await {
            Ok(addrs) => addrs,
            Err(r) => return Ok(Outcome::Failed { status_code: None, error: r.message }),
        };
        let body = serde_json::to_vec(&job.event).expect("event serializes");
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // Connect only to the addresses just checked (DNS rebinding).
            .resolve_to_addrs(&host, &addrs)
            .build()
        {
            Ok(c) => c,
            Err(e) => return Err(TableError::Unavailable(format!("HTTP client: {e}"))),
        };
        let timestamp = self.ports.clock.epoch_seconds();
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Miping-Callbacks/1")
            .header(SIGNATURE_HEADER, sign(secret.expose_secret(), timestamp, &body))
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(EVENT_ID_HEADER, job.event.id.clone())
            .header(ATTEMPT_HEADER, job.attempt.to_string())
            .body(body)
            .send()
            .await;
        Ok(match response {
            Ok(r) if r.status().is_success() => Outcome::Delivered(r.status().as_u16()),
            Ok(r) => Outcome::Failed { status_code: Some(r.status().as_u16()), error: format!("HTTP {}", r.status()) },
            Err(e) if e.is_timeout() => Outcome::Failed { status_code: None, error: "timed out".into() },
            Err(e) if e.is_connect() => Outcome::Failed { status_code: None, error: "could not connect".into() },
            Err(_) => Outcome::Failed { status_code: None, error: "request failed".into() },
        })
    }
}

/// A delivery attempt as it is claimed (`pending`), in the tenant's deliveries list (its event's
/// shard, by time).
pub fn attempt_record(tenant_id: &str, event_id: &str, kind: &str, attempt: u32, now: DateTime<Utc>) -> Item {
    Item::new(keys::callback_attempt(tenant_id, event_id, attempt))
        .with("event_id", event_id)
        .with("type", kind)
        .with("attempt", attempt)
        .with("at", now.to_rfc3339())
        .with("status", "pending")
        .with_index(
            keys::LISTS,
            keys::callback_deliveries_list_of(tenant_id, event_id),
            format!("{:013}#{event_id}#{attempt:04}", now.timestamp_millis()),
        )
        .with_ttl(now.timestamp() + RECORD_TTL_SECS)
}

/// One page of the tenant's delivery attempts, newest first, after `cursor` (the list sort key
/// of the previous page's last attempt): every list shard merged, and the unsharded partition of
/// the attempts written before the sharding (gone with their 7-day TTL).
pub async fn deliveries(
    ports: &Ports,
    tenant_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<DeliveryView>, Option<String>), TableError> {
    use crate::ports::table::{Query, SkCond};
    // Attempt positions are `<13-digit ms>#<event>#<attempt>`.
    if cursor.as_deref().is_some_and(|c| !c.as_bytes().first().is_some_and(u8::is_ascii_digit)) {
        return Err(TableError::Invalid("not a callback deliveries position".into()));
    }
    let partitions = (0..keys::CALLBACK_LIST_SHARDS)
        .map(|shard| keys::callback_deliveries_list(tenant_id, shard))
        .chain([keys::callback_deliveries_list_unsharded(tenant_id)]);
    let queries = partitions
        .map(|pk| {
            let q = Query::index(keys::LISTS, pk);
            match &cursor {
                Some(c) => q.sk(SkCond::Lt(c.clone())),
                None => q,
            }
        })
        .collect();
    let (items, next) = crate::store::shards::newest_first(&*ports.table, queries, None, limit).await?;
    let items = items.iter().map(Item::to_entity).collect::<Result<_, _>>()?;
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        for _ in 0..100 {
            let d1 = retry_delay(1);
            assert!(d1 <= Duration::from_secs(1) && d1 >= Duration::from_millis(750), "{d1:?}");
            let d4 = retry_delay(4);
            assert!(d4 <= Duration::from_secs(8) && d4 >= Duration::from_secs(6), "{d4:?}");
            assert!(retry_delay(40) <= MAX_DELAY);
            assert!(retry_delay(40) >= MAX_DELAY * 3 / 4);
        }
    }

    #[test]
    fn signature_is_hmac_sha256_hex_over_timestamp_dot_body() {
        // HMAC-SHA256("Jefe", "1700000000.what do ya want for nothing?"), computed independently
        // (Python's hmac module).
        assert_eq!(
            sign("Jefe", 1_700_000_000, b"what do ya want for nothing?"),
            "sha256=1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e"
        );
        assert_ne!(sign("Jefe", 1_700_000_001, b"x"), sign("Jefe", 1_700_000_000, b"x"), "the timestamp is signed");
    }
}
