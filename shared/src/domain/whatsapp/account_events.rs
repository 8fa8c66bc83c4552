//! What Meta's account-level webhooks do to a connection. The webhook processor routes each
//! event to a tenant with [`tenant_for_waba`] / [`tenant_for_phone_number`] and calls
//! [`apply_account_update`] or [`apply_phone_quality`]; duplicates are filtered by the processor
//! (each event has a stable key), and applying one twice is harmless anyway.
//!
//! `account_update` (Meta's `event`):
//! - `DISABLED_UPDATE` with `ban_info.waba_ban_state`: `DISABLE` → `banned`; `REINSTATE` → back
//!   to `connected` (only from `banned`); `SCHEDULE_FOR_DISABLE` → still usable until the date,
//!   recorded in `ban_info` so the tenant sees it coming;
//! - `ACCOUNT_OFFBOARDED`, `PARTNER_REMOVED`, `ACCOUNT_DELETED` → `disconnected` (token forgotten,
//!   routing items freed: the business removed us);
//! - anything else (`PARTNER_ADDED`, `ACCOUNT_VIOLATION`, `ACCOUNT_RESTRICTION`, ...) is recorded in
//!   the connection's `account_events`.
//!
//! `phone_number_quality_update`: `current_limit` becomes the messaging limit; the event
//! (`FLAGGED`, `UNFLAGGED`, `UPGRADE`, `DOWNGRADE`, `THROUGHPUT_UPGRADE`, ...) is kept as
//! `quality_event`; `THROUGHPUT_UPGRADE` raises the throughput to `HIGH` (1,000 msg/s).

use serde_json::{Value, json};

use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::table::TableError;
use crate::store::keys;
use crate::store::whatsapp::WhatsappStore;

use super::connect::release_routes;
use super::connection::{AccountEvent, BanInfo, Connection, ConnectionStatus, Throughput};

/// What an event did, for the processor's logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The connection's status changed to this.
    Status(ConnectionStatus),
    /// Fields changed, the status did not.
    Updated,
    /// Only recorded.
    Recorded,
    /// The tenant has no connection: nothing to change.
    NoConnection,
}

/// How often a write lost a race with another writer before giving up (the processor retries
/// the whole event later).
const MAX_ATTEMPTS: usize = 5;

pub async fn tenant_for_waba(ports: &Ports, waba_id: &str) -> Result<Option<String>, TableError> {
    WhatsappStore::new(&*ports.table).route_tenant(&keys::waba_route(waba_id)).await
}

pub async fn tenant_for_phone_number(ports: &Ports, phone_number_id: &str) -> Result<Option<String>, TableError> {
    WhatsappStore::new(&*ports.table).route_tenant(&keys::phone_route(phone_number_id)).await
}

/// Reads, changes and saves the connection, again if another writer got in between.
async fn modify<F>(ports: &Ports, tenant_id: &str, mut change: F) -> Result<Effect, Error>
where
    F: FnMut(&mut Connection) -> Effect,
{
    let store = WhatsappStore::new(&*ports.table);
    for _ in 0..MAX_ATTEMPTS {
        let Some(mut conn) = store.get(tenant_id).await? else { return Ok(Effect::NoConnection) };
        let before = conn.clone();
        let effect = change(&mut conn);
        if effect == Effect::Status(ConnectionStatus::Disconnected) {
            // Routing items go before the connection forgets which ones it held.
            release_routes(ports, &before).await?;
            conn.forget();
        }
        conn.updated_at = Some(ports.clock.now());
        match store.save(&mut conn).await {
            Ok(()) => return Ok(effect),
            Err(TableError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::unavailable("the WhatsApp connection kept changing; retry the event"))
}

pub async fn apply_account_update(ports: &Ports, tenant_id: &str, event: &str, value: &Value) -> Result<Effect, Error> {
    let now = ports.clock.now();
    let effect = modify(ports, tenant_id, |conn| {
        conn.record_event(AccountEvent { event: event.to_string(), at: now, detail: value.clone() });
        match event {
            "DISABLED_UPDATE" => {
                let ban = value.get("ban_info").unwrap_or(&Value::Null);
                let state = ban.get("waba_ban_state").and_then(Value::as_str).unwrap_or("DISABLE").to_string();
                let date = ban.get("waba_ban_date").and_then(Value::as_str).map(str::to_owned);
                conn.ban_info = Some(BanInfo { state: state.clone(), date });
                match state.as_str() {
                    "DISABLE" if conn.status != ConnectionStatus::Disconnected => {
                        conn.status = ConnectionStatus::Banned;
                        Effect::Status(ConnectionStatus::Banned)
                    }
                    "REINSTATE" if conn.status == ConnectionStatus::Banned => {
                        conn.status = ConnectionStatus::Connected;
                        Effect::Status(ConnectionStatus::Connected)
                    }
                    _ => Effect::Updated,
                }
            }
            "ACCOUNT_OFFBOARDED" | "PARTNER_REMOVED" | "ACCOUNT_DELETED" => {
                conn.status = ConnectionStatus::Disconnected;
                conn.notice = Some(format!("Meta reported {event}: WhatsApp was disconnected for this account"));
                Effect::Status(ConnectionStatus::Disconnected)
            }
            _ => Effect::Recorded,
        }
    })
    .await?;
    tracing::info!(tenant_id, event, effect = ?effect, "account_update applied");
    Ok(effect)
}

pub async fn apply_phone_quality(
    ports: &Ports,
    tenant_id: &str,
    event: &str,
    current_limit: Option<&str>,
) -> Result<Effect, Error> {
    let now = ports.clock.now();
    let effect = modify(ports, tenant_id, |conn| {
        conn.record_event(AccountEvent {
            event: format!("PHONE_QUALITY_{event}"),
            at: now,
            detail: json!({ "event": event, "current_limit": current_limit }),
        });
        if let Some(limit) = current_limit.filter(|l| !l.is_empty()) {
            conn.messaging_limit = Some(limit.to_string());
        }
        conn.quality_event = Some(event.to_string());
        if event == "THROUGHPUT_UPGRADE" {
            conn.throughput = Some(Throughput::from_level("HIGH"));
        }
        Effect::Updated
    })
    .await?;
    tracing::info!(tenant_id, event, "phone_number_quality_update applied");
    Ok(effect)
}
