//! The tenant's callback settings: one item beside the tenant (`TENANT#<t>` / `CALLBACK`) with
//! the URL and the secret sealed by the token vault (bound to the tenant).

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::ssrf;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::{Item, TableError};
use crate::store::keys;

/// Shortest secret accepted: an HMAC key anyone could guess protects nothing.
pub const MIN_SECRET_CHARS: usize = 16;
pub const MAX_SECRET_CHARS: usize = 256;

/// The body of `PUT /settings/callback`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"url": "https://erp.example.com/hooks/miping", "secret": "6f1c0d5e9a8b47c2b3e4f5a6d7c8b9a0"}))]
#[serde(deny_unknown_fields)]
pub struct CallbackInput {
    /// Where events are POSTed: http(s), no credentials, a public address.
    pub url: Option<String>,
    /// The HMAC key for `X-Miping-Signature`, 16 to 256 characters (e.g. 32 random bytes in hex).
    /// Stored encrypted and never shown again.
    pub secret: Option<String>,
}

/// What `GET /settings/callback` shows: never the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"url": "https://erp.example.com/hooks/miping", "created_at": "2026-11-21T08:00:00Z",
    "updated_at": "2026-11-21T08:00:00Z"}))]
pub struct CallbackView {
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The settings as the worker needs them.
pub struct Stored {
    pub view: CallbackView,
    pub sealed_secret: String,
}

/// `PUT /settings/callback`: validates (every bad field at once), checks the URL with the SSRF
/// guard, seals the secret, stores.
pub async fn put(
    ports: &Ports,
    tenant_id: &str,
    input: CallbackInput,
    allow_private: bool,
) -> Result<CallbackView, Error> {
    let mut errors = Vec::new();
    let url = match input.url.as_deref().map(str::trim).unwrap_or("") {
        "" => {
            errors.push(FieldError::new("url", "required", "the https URL we POST events to"));
            None
        }
        raw => match ssrf::check_shape(raw) {
            Ok(url) => Some(url),
            Err(r) => {
                errors.push(FieldError::new("url", r.code, r.message));
                None
            }
        },
    };
    let secret = input.secret.unwrap_or_default();
    let secret_chars = secret.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret_chars) {
        errors.push(FieldError::new(
            "secret",
            if secret.is_empty() { "required" } else { "invalid_length" },
            format!("{MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters, e.g. 32 random bytes in hex"),
        ));
    }
    let Some(url) = url.filter(|_| errors.is_empty()) else { return Err(Error::validation(errors)) };
    if let Err(r) = ssrf::resolve(&url, allow_private).await {
        return Err(Error::validation(vec![FieldError::new("url", r.code, r.message)]));
    }
    let sealed = ports.vault.seal(tenant_id, &SecretString::from(secret)).await?;
    let now = ports.clock.now();
    let created_at = match get(ports, tenant_id).await? {
        Some(existing) => existing.view.created_at,
        None => now,
    };
    let view = CallbackView { url: url.to_string(), created_at, updated_at: now };
    let item = Item::from_entity(keys::callback_settings(tenant_id), &view)?.with("sealed_secret", sealed);
    ports.table.put(item, None).await?;
    super::events::forget_cached(tenant_id);
    Ok(view)
}

pub async fn get(ports: &Ports, tenant_id: &str) -> Result<Option<Stored>, TableError> {
    let Some(item) = ports.table.get(&keys::callback_settings(tenant_id)).await? else { return Ok(None) };
    let view: CallbackView = item.to_entity()?;
    let sealed_secret = item.get_str("sealed_secret").unwrap_or_default().to_owned();
    Ok(Some(Stored { view, sealed_secret }))
}

/// `DELETE /settings/callback`: `false` when there was none. Jobs already queued find no
/// settings at delivery and are dropped (recorded as such).
pub async fn delete(ports: &Ports, tenant_id: &str) -> Result<bool, TableError> {
    let existed = ports.table.delete(&keys::callback_settings(tenant_id), None).await?.is_some();
    super::events::forget_cached(tenant_id);
    Ok(existed)
}
