//! Webhook delivery: signed POSTs to the platform, retried with backoff, never on the request path.
//!
//! One task per sequence (a message's statuses, a template's review) delivers its webhooks one
//! after the other, so order within a sequence is exactly what the sequence says (shuffling is
//! done by the caller, on purpose) even when a delivery needs retries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Attempts per webhook (Meta keeps retrying for days; a test or a demo needs a few seconds).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The log keeps the most recent webhooks only, so a long local run does not grow without bound.
const LOG_CAPACITY: usize = 20_000;

#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// `messages` or `message_template_status_update`.
    pub field: String,
    pub body: Value,
    /// The URL it was (or would have been) POSTed to; `None` when no URL was configured.
    pub url: Option<String>,
    pub attempts: u32,
    /// A 2xx answer was received.
    pub delivered: bool,
}

pub struct Webhooks {
    http: reqwest::Client,
    log: Mutex<VecDeque<Arc<Mutex<WebhookDelivery>>>>,
}

/// One webhook of a sequence: wait `delay`, then deliver `body`.
pub struct Scheduled {
    pub delay: Duration,
    pub body: Value,
}

impl Webhooks {
    pub fn new() -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { http, log: Mutex::new(VecDeque::new()) }
    }

    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().map(|d| d.lock().unwrap_or_else(|e| e.into_inner()).clone()).collect()
    }

    /// Delivers `items` in order on a background task.
    pub fn spawn_sequence(self: &Arc<Self>, url: Option<String>, secret: String, items: Vec<Scheduled>) {
        let this = self.clone();
        tokio::spawn(async move {
            for item in items {
                tokio::time::sleep(item.delay).await;
                this.deliver(url.clone(), &secret, item.body).await;
            }
        });
    }

    async fn deliver(&self, url: Option<String>, secret: &str, body: Value) {
        let field = body["entry"][0]["changes"][0]["field"].as_str().unwrap_or_default().to_owned();
        let record = Arc::new(Mutex::new(WebhookDelivery {
            field,
            body: body.clone(),
            url: url.clone(),
            attempts: 0,
            delivered: false,
        }));
        {
            let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            if log.len() >= LOG_CAPACITY {
                log.pop_front();
            }
            log.push_back(record.clone());
        }
        let Some(url) = url else { return };
        // Sign the exact bytes sent: the receiver verifies the raw body.
        let raw = body.to_string().into_bytes();
        let signature = format!("sha256={}", sign(secret, &raw));
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let result = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", &signature)
                .body(raw.clone())
                .send()
                .await;
            let ok = matches!(&result, Ok(r) if r.status().is_success());
            {
                let mut r = record.lock().unwrap_or_else(|e| e.into_inner());
                r.attempts = attempt;
                r.delivered = ok;
            }
            if ok {
                return;
            }
            match result {
                Ok(r) => tracing::debug!(status = %r.status(), attempt, "webhook refused; will retry"),
                Err(e) => tracing::debug!(error = %e, attempt, "webhook not delivered; will retry"),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        tracing::warn!(%url, "webhook dropped after {ATTEMPTS} attempts");
    }
}

/// Hex HMAC-SHA256 of `body` keyed with the app secret (`X-Hub-Signature-256` without `sha256=`).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
