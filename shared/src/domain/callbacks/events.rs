//! Turning what happened into callback jobs on the `callback` queue.
//!
//! Event ids are derived from what happened (`message.status` of message M reaching status S;
//! inbound message M), so a re-applied status (a redelivered webhook after a crash) yields the
//! same event id: the worker delivers an event id once, and receivers can dedupe on
//! `X-Miping-Event-Id` for the rare duplicate that still gets through (delivery is at least once).
//!
//! Ordering: deliveries may arrive out of order (retries, parallel workers). Each event carries
//! `sequence`: for `message.status` the rank of the status on the message's forward path
//! (queued 1 < sent 3 < failed 4 < delivered 5 < read 6), so a receiver keeps the highest it has
//! seen per message — exactly the rule the platform applies to Meta's own statuses; for
//! `message.inbound` the rank of `received` (8), the only event an inbound message has.
//!
//! Whether a tenant has a callback is read from a short per-process cache: status changes come
//! at thousands per second and must not all read one settings item.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::messages::status::StatusReport;
use crate::ports::Ports;
use crate::ports::queue::{OutMessage, QueueError};
use crate::ports::table::{Item, TableError};
use crate::store::keys;

/// How long "this tenant has (no) callback" is trusted. A new callback URL takes effect within
/// this time on other processes (immediately in the process that saved it).
const CACHE_TTL: Duration = Duration::from_secs(5);

/// The JSON POSTed to the tenant (the signed body). Documented in the OpenAPI document as the
/// `CallbackEvent` schema (what a receiver parses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "evt_3f2a9c1d8e7b6a5f4e3d2c1b0a998877", "type": "message.status",
    "created_at": "2026-11-21T08:00:04Z", "sequence": 5, "data": {"message_id": "msg_01jd5xa1b2c3d4e5f6g7h8j9k0",
    "status": "delivered", "at": "2026-11-21T08:00:04Z", "to": "+919876543210", "contact_id": "con_01jd5x9z8y7x6w5v4t3s2r1q0p",
    "campaign_id": null, "wamid": "wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSMEE2", "error": null}}))]
pub struct CallbackEvent {
    /// Stable for the same fact: dedupe on it (delivery is at least once). Also `X-Miping-Event-Id`.
    pub id: String,
    /// `message.status` or `message.inbound`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Orders one message's events: the rank of the status the event reports, on one scale
    /// (sent 3 < failed 4 < delivered 5 < read 6; keep the highest seen per message). A
    /// `message.inbound` event reports `received` (8), its message's only event.
    pub sequence: i64,
    /// `message.status`: `{message_id, status, at, to, contact_id, campaign_id, wamid, error}`;
    /// `message.inbound`: `{message_id, contact_id, from, type, text, wamid, at}`, plus
    /// `interactive`, `reaction`, `location` or `contacts` as on the message (`messages::rich`).
    pub data: Value,
}

/// One delivery attempt's job on the `callback` queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackJob {
    pub tenant_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the event was first queued: retries stop 24 h after it.
    pub first_at: DateTime<Utc>,
    pub event: CallbackEvent,
}

fn cache() -> &'static Mutex<HashMap<String, (bool, Instant)>> {
    static CACHE: OnceLock<Mutex<HashMap<String, (bool, Instant)>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Called when the settings change in this process.
pub fn forget_cached(tenant_id: &str) {
    cache().lock().unwrap_or_else(|p| p.into_inner()).remove(tenant_id);
}

async fn has_callback(ports: &Ports, tenant_id: &str) -> Result<bool, TableError> {
    if let Some((has, at)) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(tenant_id)
        && at.elapsed() < CACHE_TTL
    {
        return Ok(*has);
    }
    let has = ports.table.get(&keys::callback_settings(tenant_id)).await?.is_some();
    let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() > 100_000 {
        cache.clear();
    }
    cache.insert(tenant_id.to_owned(), (has, Instant::now()));
    Ok(has)
}

fn event_id(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\n").as_bytes());
    format!("evt_{}", &crate::util::hex(&digest)[..32])
}

/// A message's status changed (`item` is the message as stored after the change).
pub async fn status_changed(ports: &Ports, item: &Item, report: &StatusReport) -> Result<(), TableError> {
    let (Some(tenant_id), Some(message_id)) = (item.get_str("tenant_id"), item.get_str("id")) else {
        return Ok(());
    };
    if !has_callback(ports, tenant_id).await? {
        return Ok(());
    }
    let status = report.status;
    let data = json!({
        "message_id": message_id,
        "status": status.as_str(),
        "at": report.at,
        "to": item.get("to").cloned().unwrap_or(Value::Null),
        "contact_id": item.get("contact_id").cloned().unwrap_or(Value::Null),
        "campaign_id": item.get("campaign_id").cloned().unwrap_or(Value::Null),
        "wamid": item.get("wamid").cloned().unwrap_or(Value::Null),
        "error": report.error.as_ref().map(|e| json!(e)).unwrap_or(Value::Null),
    });
    let event = CallbackEvent {
        id: event_id(&[tenant_id, message_id, status.as_str()]),
        kind: "message.status".into(),
        created_at: report.at,
        sequence: status.rank(),
        data,
    };
    enqueue(ports, tenant_id, event).await
}

/// A customer's message was recorded (`message_id` is ours).
pub async fn inbound(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    contact_id: &str,
    message: &crate::domain::webhooks::payload::InboundMessage,
) -> Result<(), TableError> {
    if !has_callback(ports, tenant_id).await? {
        return Ok(());
    }
    let at = DateTime::<Utc>::from_timestamp(message.timestamp, 0).unwrap_or_else(|| ports.clock.now());
    let rich = crate::domain::messages::rich::of(ports, tenant_id, message).await?;
    let mut data = json!({
        "message_id": message_id,
        "contact_id": contact_id,
        // E.164 like every phone in the API (Meta sends digits only); a username-only sender
        // has its WhatsApp user id instead.
        "from": message
            .from
            .as_deref()
            .map(|p| crate::domain::phone::E164::parse(p).map(|e| e.as_str().to_owned()).unwrap_or_else(|_| p.to_owned()))
            .or_else(|| message.from_user_id.clone()),
        "type": message.kind,
        "text": message.text,
        "wamid": message.wamid,
        "at": at,
    });
    // Replies, reactions, locations and contacts: the same structured data as the message.
    for (field, value) in [
        ("interactive", rich.interactive),
        ("reaction", rich.reaction),
        ("location", rich.location),
        ("contacts", rich.contacts),
    ] {
        if let Some(value) = value {
            data[field] = value;
        }
    }
    let event = CallbackEvent {
        id: event_id(&[tenant_id, message_id, "inbound"]),
        kind: "message.inbound".into(),
        created_at: at,
        sequence: crate::domain::messages::model::MessageStatus::Received.rank(),
        data,
    };
    enqueue(ports, tenant_id, event).await
}

async fn enqueue(ports: &Ports, tenant_id: &str, event: CallbackEvent) -> Result<(), TableError> {
    let job = CallbackJob { tenant_id: tenant_id.to_owned(), attempt: 1, first_at: ports.clock.now(), event };
    send(ports, &job, Duration::ZERO).await.map_err(|e| TableError::Unavailable(format!("callback queue: {e}")))
}

pub async fn send(ports: &Ports, job: &CallbackJob, delay: Duration) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).expect("job serializes");
    ports.queue.send(crate::queues::CALLBACK, OutMessage::new(body).delayed(delay)).await
}
