//! The welcome email with a one-time password, sent after the provisioning (or resend) commits.
//!
//! Flow: the HTTP handler seals the password with the token vault, commits, then puts a
//! [`WelcomeJob`] on the `mail` queue. [`MailConsumer`] (the `mail-worker` Lambda, or a poller in
//! the local process) opens it and hands the rendered email to the mailer port. A mailer outage
//! is a retry with backoff (up to the queue's `maxReceiveCount`, then the dead-letter queue), never
//! a lost email and never a slow provisioning.
//!
//! Where the password lives while queued: only sealed (AES-GCM under the vault key, bound to
//! `<tenant>/welcome-mail`, so it can be neither opened for another tenant nor confused with a
//! WhatsApp token). The consumer also refuses to send a password that no longer works: before
//! sending it verifies the opened password against the user's current hash and checks that the
//! user still has to change it. A stale job (superseded by a resend, or the user already chose a
//! password) is dropped, so a redriven dead letter can never email a live credential twice.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::Error;
use crate::domain::password;
use crate::domain::tenants::Tenant;
use crate::domain::user::User;
use crate::ports::Ports;
use crate::ports::mailer::{Email, MailError};
use crate::ports::queue::OutMessage;
use crate::ports::table::{Cond, Item};
use crate::ports::vault::VaultError;
use crate::queues::MAIL;
use crate::store::keys;
use crate::store::users::Users;

/// How long the consumer remembers a sent job (to skip a redelivered duplicate).
const SENT_MARKER_TTL_SECS: i64 = 7 * 24 * 3600;
const ENQUEUE_ATTEMPTS: u32 = 3;

/// The queued job. Never contains the password in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeJob {
    pub kind: String,
    pub mail_id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub user_id: String,
    pub to: String,
    pub name: String,
    pub login_url: String,
    pub sealed_password: String,
}

pub const KIND: &str = "welcome";

/// The vault context: the tenant, and what the secret is for.
fn vault_context(tenant_id: &str) -> String {
    format!("{tenant_id}/welcome-mail")
}

impl WelcomeJob {
    pub async fn seal(
        ports: &Ports,
        tenant: &Tenant,
        user: &User,
        password: &SecretString,
        public_url: &str,
    ) -> Result<Self, Error> {
        Ok(Self {
            kind: KIND.into(),
            mail_id: ports.ids.new_id("mail"),
            tenant_id: tenant.id.clone(),
            tenant_name: tenant.name.clone(),
            user_id: user.id.clone(),
            to: user.email.clone(),
            name: user.name.clone(),
            login_url: format!("{}/", public_url.trim_end_matches('/')),
            sealed_password: ports.vault.seal(&vault_context(&tenant.id), password).await?,
        })
    }
}

/// Queues the job after the commit. The write it announces is already durable, so a queue
/// failure here must not fail the request (a retry would create nothing and send nothing): it is
/// retried a few times, then logged; the super admin's resend endpoint recovers it.
pub async fn enqueue(ports: &Ports, job: &WelcomeJob) {
    let body = match serde_json::to_string(job) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "welcome email job not serializable");
            return;
        }
    };
    for attempt in 1..=ENQUEUE_ATTEMPTS {
        match ports.queue.send(MAIL, OutMessage::new(body.clone())).await {
            Ok(()) => return,
            Err(e) if attempt < ENQUEUE_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, mail_id = %job.mail_id, "welcome email enqueue failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(error = %e, mail_id = %job.mail_id, tenant_id = %job.tenant_id, user_id = %job.user_id,
                    "welcome email could not be queued; use POST /admin/tenants/{{id}}/resend-welcome");
            }
        }
    }
}

/// The email itself (plain text: it survives every client and is what SES simple content sends).
pub fn render(job: &WelcomeJob, password: &SecretString) -> Email {
    let text = format!(
        "Hello {name},\n\n\
         An account has been created for you on Miping for {tenant}.\n\n\
         Log in at: {url}\n\
         Email: {email}\n\
         One-time password: {password}\n\n\
         You will be asked to choose a new password when you first log in; this one-time password \
         stops working once you have changed it.\n\n\
         If you did not expect this email, you can ignore it.\n\n\
         -- Miping\n",
        name = job.name,
        tenant = job.tenant_name,
        url = job.login_url,
        email = job.to,
        password = password.expose_secret(),
    );
    Email { to: job.to.clone(), subject: format!("Your Miping account for {}", job.tenant_name), text, html: None }
}

/// A failure worth another try later (the store, the vault or the mailer is unavailable).
fn retry(what: &str, e: impl std::fmt::Display) -> Error {
    Error::unavailable(format!("{what}: {e}"))
}

/// The mail consumer's part: send the welcome email (or drop the job when it is superseded).
pub async fn send(ports: &Ports, job: &WelcomeJob) -> Result<(), Error> {
    let marker = keys::mail_sent(&job.mail_id);
    if ports.table.get(&marker).await.map_err(|e| retry("table", e))?.is_some() {
        return Ok(());
    }
    let password = match ports.vault.open(&vault_context(&job.tenant_id), &job.sealed_password).await {
        Ok(p) => p,
        Err(VaultError::Unavailable(e)) => return Err(retry("vault", e)),
        Err(VaultError::CannotOpen) => {
            tracing::error!(mail_id = %job.mail_id, "welcome email password cannot be opened; dropped");
            return Ok(());
        }
    };
    let Some(user) = Users::new(&*ports.table).get(&job.user_id).await.map_err(|e| retry("table", e))? else {
        tracing::warn!(mail_id = %job.mail_id, "welcome email for a missing user dropped");
        return Ok(());
    };
    if !user.must_change_password || !password::verify(password.clone(), user.password_hash.clone()).await {
        tracing::info!(mail_id = %job.mail_id, "welcome email superseded (password changed or re-issued); dropped");
        return Ok(());
    }
    match ports.mailer.send(&render(job, &password)).await {
        Ok(provider_id) => tracing::info!(mail_id = %job.mail_id, provider_id, "welcome email sent"),
        Err(MailError::Unavailable(e)) => return Err(retry("mailer", e)),
        Err(MailError::Rejected(e)) => {
            tracing::error!(mail_id = %job.mail_id, error = %e, "welcome email rejected by the provider; dropped");
            return Ok(());
        }
    }
    // Sent. If this write fails the message is acked anyway; a rare duplicate email beats a
    // retry that is sure to send it twice.
    let item = Item::new(marker).with_ttl(ports.clock.epoch_seconds() + SENT_MARKER_TTL_SECS);
    if let Err(e) = ports.table.put(item, Some(Cond::NotExists)).await {
        tracing::warn!(mail_id = %job.mail_id, error = %e, "could not record the sent welcome email");
    }
    Ok(())
}
