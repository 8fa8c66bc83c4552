//! Forgotten passwords (`POST /auth/forgot-password`, `POST /auth/reset-password`).
//!
//! The request answers 202 for any email and does the same work for all of them: it queues a
//! job on the `mail` queue and nothing else, so neither the answer nor its timing says whether
//! the email has an account. The mail consumer looks the user up; for a real one it makes a
//! single-use token (32 random bytes), stores only its SHA-256 (with the user, a fingerprint of
//! the password hash it may replace, and its expiry) and emails the link
//! `{MIPING_PUBLIC_URL}/reset-password#token=…` (a fragment: never sent to a server or logged by
//! a proxy). One email per user per [`RESEND_COOLDOWN_SECS`] at most, so the endpoint cannot be
//! used to flood someone's inbox.
//!
//! The reset consumes the token (a conditional delete: two concurrent resets cannot both use
//! it), sets the password, and ends every session of the user. A token dies when used, after
//! its 30 minutes (410 `reset_token_expired`), and when the password changes by any other way
//! (404, as an unknown token: the fingerprint no longer matches).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::user::{User, normalize_email};
use crate::domain::{Error, FieldError};
use crate::domain::{Kind, password, sessions};
use crate::ports::Ports;
use crate::ports::mailer::{Email, MailError};
use crate::ports::queue::OutMessage;
use crate::ports::table::{Cond, Item, TableError};
use crate::queues::MAIL;
use crate::store::keys;
use crate::store::users::Users;

pub const KIND: &str = "password_reset";
/// How long a reset link works (SPEC: 30 minutes).
pub const DEFAULT_VALIDITY_SECS: i64 = 30 * 60;
/// At most one reset email per user in this many seconds.
pub const RESEND_COOLDOWN_SECS: i64 = 60;
/// How long a used-up or expired token's record is kept (to answer 410 rather than 404).
const RECORD_TTL_SECS: i64 = 24 * 3600;

/// The queued job: no secret in it (the token is made by the consumer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetJob {
    pub kind: String,
    pub mail_id: String,
    pub email: String,
    /// `{MIPING_PUBLIC_URL}/reset-password`
    pub reset_url: String,
    pub valid_for_secs: i64,
}

/// `POST /auth/forgot-password`: queues the job (202 whatever the email).
pub async fn request(ports: &Ports, public_url: &str, valid_for_secs: i64, email: &str) -> Result<(), Error> {
    let Some(email) = normalize_email(email) else {
        return Err(Error::validation(vec![FieldError::new("email", "invalid_email", "is not an email address")]));
    };
    let job = ResetJob {
        kind: KIND.into(),
        mail_id: ports.ids.new_id("mail"),
        email,
        reset_url: format!("{}/reset-password", public_url.trim_end_matches('/')),
        valid_for_secs,
    };
    let body = serde_json::to_string(&job).map_err(Error::internal)?;
    ports.queue.send(MAIL, OutMessage::new(body)).await?;
    Ok(())
}

fn token_hash(token: &str) -> String {
    crate::util::hex(&Sha256::digest(token.as_bytes()))
}

/// Ties a token to the password it replaces: any change of the hash retires it.
fn fingerprint(password_hash: &str) -> String {
    crate::util::hex(&Sha256::digest(password_hash.as_bytes()))[..32].to_owned()
}

/// A failure worth another try later (the store, the vault or the mailer is unavailable).
fn retry(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("{what}: {e}"))
}

/// The mail consumer's part: make the token and send the email (or drop the job).
pub async fn send(ports: &Ports, job: &ResetJob) -> Result<(), Error> {
    let marker = keys::mail_sent(&job.mail_id);
    if ports.table.get(&marker).await.map_err(|e| retry("table", e))?.is_some() {
        return Ok(());
    }
    let users = Users::new(&*ports.table);
    let Some(user) = users.find_by_email(&job.email).await.map_err(|e| retry("table", e))? else {
        // No account: nothing is sent (and the requester was told the same 202).
        tracing::info!(mail_id = %job.mail_id, "password reset for an unknown email dropped");
        return Ok(());
    };
    let now = ports.clock.now();
    let cooldown = Item::new(keys::password_reset_cooldown(&user.id)).with_ttl(now.timestamp() + RESEND_COOLDOWN_SECS);
    match ports.table.put(cooldown, Some(Cond::expired_or_absent(now.timestamp()))).await {
        Ok(()) => {}
        Err(TableError::ConditionFailed { .. }) => {
            tracing::info!(mail_id = %job.mail_id, user_id = %user.id, "password reset email within the cooldown dropped");
            return Ok(());
        }
        Err(e) => return Err(retry("table", e)),
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = SecretString::from(URL_SAFE_NO_PAD.encode(bytes));
    let expires_at = now.timestamp() + job.valid_for_secs;
    let record = Item::new(keys::password_reset(&token_hash(token.expose_secret())))
        .with("user_id", user.id.clone())
        .with("password_fingerprint", fingerprint(&user.password_hash))
        .with("expires_at", expires_at)
        .with_ttl(expires_at.max(now.timestamp()) + RECORD_TTL_SECS);
    ports.table.put(record, Some(Cond::NotExists)).await.map_err(|e| retry("table", e))?;

    let email = render(job, &user.name, &token);
    match ports.mailer.send(&email).await {
        Ok(provider_id) => tracing::info!(mail_id = %job.mail_id, provider_id, "password reset email sent"),
        Err(MailError::Unavailable(e)) => return Err(retry("mailer", e)),
        Err(MailError::Rejected(e)) => {
            tracing::error!(mail_id = %job.mail_id, error = %e, "password reset email rejected by the provider; dropped");
            return Ok(());
        }
    }
    let sent = Item::new(marker).with_ttl(now.timestamp() + 7 * 24 * 3600);
    if let Err(e) = ports.table.put(sent, Some(Cond::NotExists)).await {
        tracing::warn!(mail_id = %job.mail_id, error = %e, "could not record the sent password reset email");
    }
    Ok(())
}

fn render(job: &ResetJob, name: &str, token: &SecretString) -> Email {
    let minutes = (job.valid_for_secs / 60).max(1);
    let text = format!(
        "Hello {name},\n\n\
         Someone (hopefully you) asked to reset the password of your Miping account {email}.\n\n\
         Choose a new password here; the link works once, for {minutes} minutes:\n\
         {url}#token={token}\n\n\
         If you did not ask for this, ignore this email: your password stays as it is.\n\n\
         -- Miping\n",
        email = job.email,
        url = job.reset_url,
        token = token.expose_secret(),
    );
    Email { to: job.email.clone(), subject: "Reset your Miping password".into(), text, html: None }
}

fn unknown_token() -> Error {
    Error::new(Kind::NotFound, "reset_token_not_found", "this reset link is unknown or was already used")
}

/// `POST /auth/reset-password`.
/// Returns the user whose password it set.
pub async fn reset(ports: &Ports, token: &SecretString, new_password: SecretString) -> Result<User, Error> {
    let key = keys::password_reset(&token_hash(token.expose_secret()));
    let now = ports.clock.now();
    let record = ports.table.get(&key).await?.ok_or_else(unknown_token)?;
    if record.get_i64("expires_at").is_none_or(|at| at <= now.timestamp()) {
        return Err(Error::new(Kind::Gone, "reset_token_expired", "this reset link has expired; ask for a new one"));
    }
    let user_id = record.get_str("user_id").ok_or_else(|| Error::internal("reset record without a user"))?;
    let users = Users::new(&*ports.table);
    let user = users.get(user_id).await?.ok_or_else(unknown_token)?;
    if record.get_str("password_fingerprint") != Some(fingerprint(&user.password_hash).as_str()) {
        return Err(unknown_token());
    }
    let errors = password::check_policy("new_password", new_password.expose_secret());
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let hash = password::hash(new_password).await.map_err(Error::internal)?;
    // Single use: of two concurrent resets with one token, one deletes it, the other is 404.
    match ports.table.delete(&key, Some(Cond::Exists)).await {
        Ok(Some(_)) => {}
        Ok(None) | Err(TableError::ConditionFailed { .. }) => return Err(unknown_token()),
        Err(e) => return Err(e.into()),
    }
    users.set_password(&user.id, &hash, false, now).await?;
    sessions::end_all_for_user(ports, &user.id, None).await?;
    Ok(user)
}
