//! `POST /whatsapp/connect` and `DELETE /whatsapp`.
//!
//! Connect is a resumable state machine over [`STEPS`]:
//! - a request with a **new code** (re)starts the list (a code can be exchanged only once);
//! - a request with **no code, or the code of the current attempt** (the same body sent again)
//!   resumes at the first step not done, with the sealed token kept from the exchange;
//! - after every step the connection is saved, so a crash loses at most the step in flight;
//! - a failed step keeps its error (our code, Meta's message and code) and the request answers
//!   with that error; `GET /whatsapp/status` shows every step.
//!
//! A **re-connect** (a new code while connected) never takes the working connection out of
//! service: its token, number and routing items are kept aside ([`Connection::keep_in_service`])
//! and sends go through them while the new attempt runs, and after it fails; only when the new
//! attempt completes does it replace them (and the routes the old one held but the new one does
//! not are freed).
//!
//! Concurrency: a run holds a **lease** on the connection item (`lease_id`, `lease_until`) taken
//! with a version-conditional write. A second request while the lease is live gets 409
//! `connect_in_progress`; a run that died leaves a lease that expires after [`LEASE_SECS`], so
//! nothing can wedge the connection. Every save is conditional on the version the run wrote
//! last, which also fences a run that outlived its lease.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::TableError;
use crate::store::whatsapp::WhatsappStore;

use super::connection::{Connection, ConnectionStatus, ConnectionView, Serving, Step, StepStatus};
use super::steps::{STEPS, StepCtx, StepFailure};

/// Longer than a whole run can take (seven Meta calls, each bounded by the client's timeout,
/// inside a Lambda that stops at 29 s).
pub const LEASE_SECS: i64 = 90;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// Embedded Signup's code (`FB.login`'s `authResponse.code`). Optional only to resume.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "AQBx...")]
    pub code: Option<SecretString>,
    /// From the `WA_EMBEDDED_SIGNUP` session info (`FINISH` / `FINISH_ONLY_WABA`).
    #[serde(default)]
    pub waba_id: Option<String>,
    #[serde(default)]
    pub phone_number_id: Option<String>,
}

/// Graph ids are digits; anything else never reaches a Graph URL.
fn validate(req: &ConnectRequest) -> Result<(), Error> {
    let mut bad = Vec::new();
    for (field, value) in [("waba_id", &req.waba_id), ("phone_number_id", &req.phone_number_id)] {
        if let Some(v) = value
            && (v.is_empty() || v.len() > 32 || !v.bytes().all(|b| b.is_ascii_digit()))
        {
            bad.push(FieldError::new(field, "invalid", "must be a Meta id (digits only)"));
        }
    }
    if let Some(code) = &req.code
        && (code.expose_secret().trim().is_empty() || code.expose_secret().len() > 2048)
    {
        bad.push(FieldError::new("code", "invalid", "must be the code returned by Embedded Signup"));
    }
    if bad.is_empty() { Ok(()) } else { Err(Error::validation(bad)) }
}

fn code_hash(code: &SecretString) -> String {
    let digest = Sha256::digest(code.expose_secret().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored step list, completed with steps added since it was written (as pending).
fn normalized_steps(stored: &[Step]) -> Vec<Step> {
    STEPS
        .iter()
        .map(|s| stored.iter().find(|st| st.name == s.name()).cloned().unwrap_or_else(|| Step::pending(s.name())))
        .collect()
}

fn fresh_steps() -> Vec<Step> {
    STEPS.iter().map(|s| Step::pending(s.name())).collect()
}

fn in_progress() -> Error {
    Error::conflict("connect_in_progress", "a WhatsApp connection is already being set up; check GET /whatsapp/status")
}

fn save_error(e: TableError) -> Error {
    match e {
        TableError::ConditionFailed { .. } => in_progress(),
        other => other.into(),
    }
}

pub async fn connect(ports: &Ports, tenant_id: &str, req: ConnectRequest) -> Result<ConnectionView, Error> {
    validate(&req)?;
    let store = WhatsappStore::new(&*ports.table);
    let now = ports.clock.now();
    let mut conn = store.get(tenant_id).await?.unwrap_or_else(|| Connection::new(tenant_id));
    if conn.is_leased(now.timestamp()) {
        return Err(in_progress());
    }

    let same_code = match (&req.code, &conn.code_sha256) {
        (Some(code), Some(stored)) => code_hash(code) == *stored,
        _ => false,
    };
    match &req.code {
        Some(code) if !same_code => {
            // A new attempt: every step again. Routes and PIN held from before stay until the
            // claim and register steps decide whether they still apply; a working connection
            // stays in service until the attempt completes.
            conn.keep_in_service();
            conn.code_sha256 = Some(code_hash(code));
            conn.sealed_token = None;
            conn.token_expires_at = None;
            conn.requested_waba_id = req.waba_id.clone();
            conn.requested_phone_number_id = req.phone_number_id.clone();
            conn.steps = fresh_steps();
            conn.notice = None;
        }
        _ => {
            if conn.status == ConnectionStatus::Connected && conn.steps.iter().all(|s| s.status == StepStatus::Done) {
                // Nothing to resume: the same body again (or an empty retry) answers the same.
                conn.steps = normalized_steps(&conn.steps);
                if conn.steps.iter().all(|s| s.status == StepStatus::Done) {
                    return Ok(conn.view());
                }
            }
            let resumable = conn.status == ConnectionStatus::Connecting || conn.status == ConnectionStatus::Connected;
            if !resumable || conn.steps.is_empty() {
                return Err(Error::validation(vec![FieldError::new(
                    "code",
                    "required",
                    "is required: there is no WhatsApp signup to resume",
                )]));
            }
            conn.steps = normalized_steps(&conn.steps);
            // Hints sent with a retry (e.g. the number to pick among several) apply from now on.
            if req.waba_id.is_some() {
                conn.requested_waba_id = req.waba_id.clone();
            }
            if req.phone_number_id.is_some() {
                conn.requested_phone_number_id = req.phone_number_id.clone();
            }
        }
    }

    // Take the lease (version-conditional: of two concurrent requests, one wins).
    let lease_id = ports.ids.new_id("lease");
    conn.lease_id = Some(lease_id);
    conn.lease_until = Some(now.timestamp() + LEASE_SECS);
    conn.status = ConnectionStatus::Connecting;
    conn.updated_at = Some(now);
    store.save(&mut conn).await.map_err(save_error)?;

    let result = run_steps(ports, &store, &mut conn, req.code.as_ref()).await;

    conn.lease_id = None;
    conn.lease_until = None;
    conn.updated_at = Some(ports.clock.now());
    match result {
        Ok(()) => {
            conn.status = ConnectionStatus::Connected;
            conn.connected_at = Some(ports.clock.now());
            let replaced = conn.serving.take();
            store.save(&mut conn).await.map_err(save_error)?;
            if let Some(old) = replaced {
                free_replaced_routes(ports, &conn, &old).await?;
            }
            tracing::info!(tenant_id, waba_id = ?conn.waba_id, phone_number_id = ?conn.phone_number_id, "WhatsApp connected");
            // Sends held while the connection was changing go out now.
            crate::domain::campaigns::fanout::release_held_after_change(ports, tenant_id).await;
            Ok(conn.view())
        }
        Err(RunError::Step(failure)) => {
            if failure.reauth {
                conn.status = ConnectionStatus::NeedsReauth;
            }
            store.save(&mut conn).await.map_err(save_error)?;
            tracing::warn!(tenant_id, code = failure.code, meta_code = ?failure.meta_code, "WhatsApp connect step failed");
            let mut e = Error::new(failure.kind, failure.code, failure.message);
            e.retry_after = failure.retry_after;
            Err(e)
        }
        // Someone else wrote the connection meanwhile (an account webhook, a disconnect): leave
        // it as they left it; the lease expires on its own.
        Err(RunError::Lost(e)) => Err(save_error(e)),
    }
}

enum RunError {
    Step(StepFailure),
    Lost(TableError),
}

async fn run_steps(
    ports: &Ports,
    store: &WhatsappStore<'_>,
    conn: &mut Connection,
    code: Option<&SecretString>,
) -> Result<(), RunError> {
    // The token opened by one step is reused by the next ones within this run.
    let mut token: Option<SecretString> = None;
    for (index, step) in STEPS.iter().enumerate() {
        if conn.steps.get(index).is_some_and(|s| s.status == StepStatus::Done) {
            continue;
        }
        let outcome = {
            let mut ctx = StepCtx::new(ports, conn, code);
            if let Some(t) = &token {
                ctx.set_token(t.clone());
            }
            let outcome = step.run(&mut ctx).await;
            token = ctx.take_token();
            outcome
        };
        let at = Some(ports.clock.now());
        let record = &mut conn.steps[index];
        match outcome {
            Ok(()) => {
                *record = Step { name: step.name().into(), status: StepStatus::Done, error: None, at };
                store.save(conn).await.map_err(RunError::Lost)?;
            }
            Err(failure) => {
                *record = Step {
                    name: step.name().into(),
                    status: StepStatus::Failed,
                    error: Some(failure.step_error()),
                    at,
                };
                return Err(RunError::Step(failure));
            }
        }
    }
    Ok(())
}

/// `DELETE /whatsapp`: unsubscribe the app at Meta (best effort: a Meta failure is reported as
/// the connection's `notice`, never blocks the disconnect), forget the token and PIN, free the
/// routing items, status `disconnected`. Idempotent.
pub async fn disconnect(ports: &Ports, tenant_id: &str) -> Result<(), Error> {
    let store = WhatsappStore::new(&*ports.table);
    let Some(mut conn) = store.get(tenant_id).await? else { return Ok(()) };
    if conn.is_leased(ports.clock.now().timestamp()) {
        return Err(in_progress());
    }
    if matches!(conn.status, ConnectionStatus::NotConnected | ConnectionStatus::Disconnected)
        && conn.sealed_token.is_none()
    {
        return Ok(());
    }
    // The number in service (the working one kept during a re-connect, if any) is the one Meta
    // sends this account's webhooks for.
    let notice = unsubscribe(ports, &super::connection::in_service(&conn).unwrap_or_else(|| conn.clone())).await;
    release_routes(ports, &conn).await?;
    conn.forget();
    conn.status = ConnectionStatus::Disconnected;
    conn.notice = notice;
    conn.updated_at = Some(ports.clock.now());
    store.save(&mut conn).await.map_err(save_error)?;
    tracing::info!(tenant_id, "WhatsApp disconnected");
    Ok(())
}

/// Tells Meta to stop sending the WABA's webhooks. Returns a notice when Meta did not confirm.
async fn unsubscribe(ports: &Ports, conn: &Connection) -> Option<String> {
    let (Some(sealed), Some(waba_id)) = (conn.sealed_token.as_deref(), conn.waba_id.as_deref()) else { return None };
    let token = match ports.vault.open(&conn.tenant_id, sealed).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(tenant_id = conn.tenant_id, error = %e, "cannot open the token to unsubscribe");
            return Some(
                "Meta was not told to stop sending this account's webhooks (the token could not be read)".into(),
            );
        }
    };
    match ports.meta.unsubscribe_app(&token, waba_id).await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(tenant_id = conn.tenant_id, error = %e, "unsubscribe_app failed on disconnect");
            Some(format!("Meta did not confirm that it stopped sending this account's webhooks: {e}"))
        }
    }
}

/// Frees the routing items the connection holds (the working connection kept in service
/// during a re-connect included).
pub async fn release_routes(ports: &Ports, conn: &Connection) -> Result<(), Error> {
    let store = WhatsappStore::new(&*ports.table);
    let serving = conn.serving.clone().unwrap_or_default();
    let phones = [
        conn.claimed_phone_number_id.as_deref(),
        conn.phone_number_id.as_deref(),
        serving.claimed_phone_number_id.as_deref(),
    ];
    for phone in phones.into_iter().flatten() {
        store.release_phone(phone, &conn.tenant_id).await?;
    }
    let wabas = [conn.claimed_waba_id.as_deref(), conn.waba_id.as_deref(), serving.claimed_waba_id.as_deref()];
    for waba in wabas.into_iter().flatten() {
        store.release_waba(waba, &conn.tenant_id).await?;
    }
    Ok(())
}

/// After a re-connect completed: frees the routes the replaced connection held that the new one
/// does not.
async fn free_replaced_routes(ports: &Ports, conn: &Connection, old: &Serving) -> Result<(), Error> {
    let store = WhatsappStore::new(&*ports.table);
    if let Some(phone) =
        old.claimed_phone_number_id.as_deref().filter(|p| conn.claimed_phone_number_id.as_deref() != Some(*p))
    {
        store.release_phone(phone, &conn.tenant_id).await?;
    }
    if let Some(waba) = old.claimed_waba_id.as_deref().filter(|w| conn.claimed_waba_id.as_deref() != Some(*w)) {
        store.release_waba(waba, &conn.tenant_id).await?;
    }
    Ok(())
}

/// Shown by `GET /whatsapp/status` for a tenant that never connected.
pub async fn status(ports: &Ports, tenant_id: &str) -> Result<ConnectionView, Error> {
    let conn = WhatsappStore::new(&*ports.table).get(tenant_id).await?.unwrap_or_else(|| Connection::new(tenant_id));
    Ok(conn.view())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_digits() {
        let req = ConnectRequest {
            code: Some("c".to_string().into()),
            waba_id: Some("../me".into()),
            phone_number_id: Some("123".into()),
        };
        let e = validate(&req).unwrap_err();
        assert_eq!(e.details.len(), 1);
        assert_eq!(e.details[0].field, "waba_id");
        let req = ConnectRequest { code: Some(" ".to_string().into()), ..Default::default() };
        assert_eq!(validate(&req).unwrap_err().details[0].field, "code");
    }

    #[test]
    fn stored_steps_gain_new_steps_as_pending() {
        let stored = vec![Step { name: "exchange_code".into(), status: StepStatus::Done, error: None, at: None }];
        let steps = normalized_steps(&stored);
        assert_eq!(steps.len(), STEPS.len());
        assert_eq!(steps[0].status, StepStatus::Done);
        assert!(steps[1..].iter().all(|s| s.status == StepStatus::Pending));
    }

    #[test]
    fn code_hashes_are_stable_and_do_not_contain_the_code() {
        let a = code_hash(&SecretString::from("abc"));
        assert_eq!(a, code_hash(&SecretString::from("abc")));
        assert_ne!(a, code_hash(&SecretString::from("abd")));
        assert!(!a.contains("abc"));
    }
}
