//! The stored connection and its API view.
//!
//! One item per tenant (`keys::whatsapp_account`). Secrets are stored sealed by the vault port
//! (the business token and the registration PIN) and never leave this module's callers except
//! toward Meta: the view has no field that could hold them, and `Debug` hides them.

use secrecy::SecretString;

use crate::domain::Error;
use crate::ports::Ports;
use crate::store::whatsapp::WhatsappStore;

pub use super::model::{
    ACCOUNT_EVENTS_KEPT, AccountEvent, BanInfo, Connection, ConnectionStatus, ConnectionView, Serving, ServingView,
    Step, StepError, StepStatus, Throughput, in_service,
};

/// What the send worker can do with a tenant's connection right now.
pub enum SendVia {
    /// Send through this connection (possibly the one kept in service) with this token.
    Ready(Box<Connection>, SecretString),
    /// The connection is being changed and there is no working one: hold the send.
    Changing,
}

/// [`business_token`] for the send worker, which holds a send while the connection is
/// `connecting` with nothing in service (instead of failing it, as the API refuses new sends).
pub async fn send_via(ports: &Ports, tenant_id: &str) -> Result<SendVia, Error> {
    let conn = WhatsappStore::new(&*ports.table).get(tenant_id).await?;
    if conn.as_ref().is_some_and(|c| c.status == ConnectionStatus::Connecting && in_service(c).is_none()) {
        return Ok(SendVia::Changing);
    }
    let (conn, token) = business_token(ports, tenant_id).await?;
    Ok(SendVia::Ready(Box::new(conn), token))
}

/// The tenant's connection and its business token, for code that calls Meta on the tenant's
/// behalf (senders, template sync). 409 with a precise code when the connection is not usable:
/// `whatsapp_not_connected`, `whatsapp_needs_reauth`, `whatsapp_banned`.
/// While a re-connect runs (or failed), the working connection kept in service is the one used.
pub async fn business_token(ports: &Ports, tenant_id: &str) -> Result<(Connection, SecretString), Error> {
    let stored = WhatsappStore::new(&*ports.table).get(tenant_id).await?.unwrap_or_else(|| Connection::new(tenant_id));
    let conn = in_service(&stored).unwrap_or(stored);
    match conn.status {
        ConnectionStatus::Connected => {}
        ConnectionStatus::NeedsReauth => {
            return Err(Error::conflict(
                "whatsapp_needs_reauth",
                "Meta no longer accepts this WhatsApp connection's token: reconnect WhatsApp (Embedded Signup) to continue",
            ));
        }
        ConnectionStatus::Banned => {
            return Err(Error::conflict("whatsapp_banned", "Meta has disabled this WhatsApp Business Account"));
        }
        _ => {
            return Err(Error::conflict("whatsapp_not_connected", "WhatsApp is not connected for this tenant"));
        }
    }
    let Some(sealed) = conn.sealed_token.as_deref() else {
        return Err(Error::internal("connected WhatsApp connection without a token"));
    };
    let token = ports.vault.open(tenant_id, sealed).await?;
    Ok((conn, token))
}

/// The WABA id and business token for managing the tenant's templates: like [`business_token`],
/// but also while connecting (the onboarding's last steps sync templates and install the
/// library once the number is set up, before the connection is `connected`).
pub async fn waba_access(ports: &Ports, tenant_id: &str) -> Result<(String, SecretString), Error> {
    let conn = WhatsappStore::new(&*ports.table).get(tenant_id).await?;
    let usable = conn.filter(|c| matches!(c.status, ConnectionStatus::Connected | ConnectionStatus::Connecting));
    let Some(conn) = usable else {
        // Same precise codes as for sending.
        return business_token(ports, tenant_id).await.map(|(c, t)| (c.waba_id.unwrap_or_default(), t));
    };
    // A re-connect that has no token of its own yet (or failed before it had one) manages the
    // templates of the working connection kept in service.
    let current = (conn.waba_id.clone(), conn.sealed_token.clone());
    let serving = in_service(&conn).map(|c| (c.waba_id, c.sealed_token)).unwrap_or((None, None));
    let (Some(waba_id), Some(sealed)) = (if current.1.is_some() { current } else { serving }) else {
        return Err(Error::conflict("whatsapp_not_connected", "WhatsApp is not connected for this tenant"));
    };
    Ok((waba_id, ports.vault.open(tenant_id, &sealed).await?))
}

/// Any Meta call answered with `Disposition::ReauthRequired` (code 190) for this tenant's token:
/// the connection becomes `needs_reauth`. Only a `connected` or `connecting` connection changes
/// (a disconnected or banned one stays as it is). Returns whether it changed.
pub async fn mark_needs_reauth(ports: &Ports, tenant_id: &str) -> Result<bool, Error> {
    let changed = WhatsappStore::new(&*ports.table)
        .set_status_if(
            tenant_id,
            ConnectionStatus::NeedsReauth,
            &[ConnectionStatus::Connected, ConnectionStatus::Connecting],
            ports.clock.now(),
        )
        .await?;
    if changed {
        tracing::warn!(tenant_id, "WhatsApp token rejected by Meta: connection needs reauth");
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::Value;

    use super::*;

    #[test]
    fn debug_and_view_never_show_secrets() {
        let mut c = Connection::new("ten_1");
        c.sealed_token = Some("SEALED-TOKEN".into());
        c.sealed_pin = Some("SEALED-PIN".into());
        c.code_sha256 = Some("CODEHASH".into());
        let debug = format!("{c:?}");
        let view = serde_json::to_string(&c.view()).unwrap();
        for s in ["SEALED-TOKEN", "SEALED-PIN", "CODEHASH"] {
            assert!(!debug.contains(s) && !view.contains(s), "{s} leaked");
        }
    }

    #[test]
    fn throughput_levels() {
        assert_eq!(Throughput::from_level("STANDARD").messages_per_second, 80);
        assert_eq!(Throughput::from_level("HIGH").messages_per_second, 1000);
    }

    #[test]
    fn account_events_are_capped() {
        let mut c = Connection::new("t");
        for i in 0..(ACCOUNT_EVENTS_KEPT + 5) {
            c.record_event(AccountEvent { event: format!("E{i}"), at: Utc::now(), detail: Value::Null });
        }
        assert_eq!(c.account_events.len(), ACCOUNT_EVENTS_KEPT);
        assert_eq!(c.account_events.last().unwrap().event, format!("E{}", ACCOUNT_EVENTS_KEPT + 4));
    }

    #[test]
    fn expired_leases_do_not_count() {
        let mut c = Connection::new("t");
        c.lease_id = Some("l".into());
        c.lease_until = Some(100);
        assert!(c.is_leased(99));
        assert!(!c.is_leased(100));
    }
}
