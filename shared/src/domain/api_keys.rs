//! API keys: a tenant's machine credentials for `/api/v1/*` (SPEC "API keys").
//!
//! - A key is `mip_live_` + 40 base62 characters from the OS's randomness (~238 bits). It is
//!   shown once, at creation; only its SHA-256 is stored. A fast hash is right here (unlike
//!   passwords): the key is high-entropy, so there is nothing to brute-force, and the check runs
//!   on every external request.
//! - The lookup item `APIKEY#<sha256>` is found with one `get` (no index, strongly consistent)
//!   and carries the tenant, the key id, the display prefix and `last_used_at`; it is also the
//!   tenant's list row (GSI1 `T#<tenant>#APIKEYS`).
//! - The pointer `T#<tenant>#APIKEY#<id>` (holds the hash) makes revocation by id possible and
//!   tenant-scoped: a foreign id is not found.
//! - Create and revoke are transactions with the count item (`COUNT#APIKEYS`), so the plan's
//!   `api_key_limit` holds exactly; revoking deletes the lookup item in the same transaction, so
//!   the very next request with that key is refused.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::limits;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, TableError, TxOp, Update};
use crate::store::keys;

pub const KEY_PREFIX: &str = "mip_live_";
/// Random base62 characters after the prefix (62^40 ≈ 2^238).
pub const SECRET_CHARS: usize = 40;
/// Characters of the secret part kept visible in `prefix` (to tell keys apart in lists).
const VISIBLE_CHARS: usize = 6;
pub const MAX_NAME_CHARS: usize = 100;
/// `last_used_at` is refreshed at most this often, so a busy key's item is not written on
/// every request.
pub const LAST_USED_GRANULARITY: Duration = Duration::seconds(60);

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What the list shows (never the secret or its hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "key_01jd5xa1b2c3d4e5f6g7h8j9k0", "name": "ERP production", "prefix": "mip_live_a1B2c3",
    "created_at": "2026-11-21T08:00:00Z", "last_used_at": "2026-11-21T09:30:00Z"}))]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart (not enough to use it).
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Refreshed at most once a minute; `null` until the key is first used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The 201 answer: the view plus the key, this once.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "key_01jd5xa1b2c3d4e5f6g7h8j9k0", "name": "ERP production", "prefix": "mip_live_a1B2c3",
    "key": "mip_live_a1B2c3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0", "created_at": "2026-11-21T08:00:00Z"}))]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    /// The key itself (`mip_live_` + 40 characters), sent as `x-api-key`. Shown only in this
    /// answer: store it now (only its hash is kept). `null` in a replay of this answer (a retry
    /// with the same `Idempotency-Key`): the key is never stored, so it cannot be shown again.
    pub key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api-keys`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "ERP production"}))]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    /// 1 to 100 characters, e.g. the system that uses the key.
    pub name: Option<String>,
}

/// A key that passed the check: whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedKey {
    pub tenant_id: String,
    pub key_id: String,
    pub name: Option<String>,
}

fn generate_secret() -> String {
    let mut rng = rand::rngs::OsRng;
    let secret: String = (0..SECRET_CHARS).map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char).collect();
    format!("{KEY_PREFIX}{secret}")
}

pub fn hash(key: &str) -> String {
    crate::util::hex(&Sha256::digest(key.as_bytes()))
}

/// Whether `raw` has the shape of one of our keys (checked before any lookup, so garbage costs
/// no read).
pub fn well_formed(raw: &str) -> bool {
    raw.strip_prefix(KEY_PREFIX)
        .is_some_and(|rest| rest.len() == SECRET_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

pub fn display_prefix(key: &str) -> String {
    key[..KEY_PREFIX.len() + VISIBLE_CHARS].to_string()
}

pub fn limit_reached(limit: Option<u64>) -> Error {
    let message = match limit {
        Some(l) => format!("your plan allows {l} API keys; revoke one or upgrade the plan"),
        None => "your plan's API key limit is reached".to_string(),
    };
    // A quota like contact_limit_reached: no Retry-After (waiting does not help).
    Error::limit("api_key_limit_reached", message)
}

/// `POST /api-keys`.
pub async fn create(ports: &Ports, tenant_id: &str, input: CreateInput) -> Result<CreatedApiKey, Error> {
    let name = input.name.map(|n| n.trim().to_owned()).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::validation(vec![FieldError::new(
            "name",
            if name.is_empty() { "required" } else { "too_long" },
            format!("a name of 1 to {MAX_NAME_CHARS} characters, e.g. the system that uses the key"),
        )]));
    }
    if crate::domain::text::has_control(&name) {
        return Err(Error::validation(vec![crate::domain::text::control_error("name")]));
    }
    let limit = limits::api_key_limit(&*ports.table, tenant_id).await?;
    if limit == Some(0) {
        return Err(limit_reached(limit));
    }
    let key = generate_secret();
    let key_hash = hash(&key);
    let id = ports.ids.new_id("key");
    let now = ports.clock.now();
    let prefix = display_prefix(&key);
    let lookup = Item::new(keys::api_key_by_hash(&key_hash))
        .with("id", id.clone())
        .with("tenant_id", tenant_id)
        .with("name", name.clone())
        .with("prefix", prefix.clone())
        .with("key_hash", key_hash.clone())
        .with("created_at", now.to_rfc3339())
        .with_index(keys::LISTS, keys::api_keys_list(tenant_id), id.clone());
    let pointer = Item::new(keys::api_key(tenant_id, &id)).with("key_hash", key_hash);
    let count_cond = limit.map(|l| Cond::Or(vec![Cond::AttrNotExists("count".into()), Cond::lt("count", l as i64)]));
    let ops = vec![
        TxOp::Update { key: keys::api_key_count(tenant_id), update: Update::new().add("count", 1), cond: count_cond },
        TxOp::Put { item: lookup, cond: Some(Cond::NotExists) },
        TxOp::Put { item: pointer, cond: Some(Cond::NotExists) },
    ];
    match ports.table.transact(ops).await {
        Ok(()) => Ok(CreatedApiKey { id, name, prefix, key: Some(key), created_at: now }),
        Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
            Err(limit_reached(limit))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api-keys`: oldest first (ULID order).
pub async fn page(
    ports: &Ports,
    tenant_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<ApiKeyView>, Option<String>), TableError> {
    let q = Query::index(keys::LISTS, keys::api_keys_list(tenant_id)).limit(limit).cursor(cursor);
    let page = ports.table.query(q).await?;
    Ok((page.items.iter().map(Item::to_entity).collect::<Result<_, _>>()?, page.next_cursor))
}

/// `DELETE /api-keys/{id}`: `false` when the tenant has no such key.
pub async fn revoke(ports: &Ports, tenant_id: &str, key_id: &str) -> Result<bool, Error> {
    let Some(pointer) = ports.table.get(&keys::api_key(tenant_id, key_id)).await? else { return Ok(false) };
    let Some(key_hash) = pointer.get_str("key_hash") else {
        return Err(Error::internal(format!("API key pointer {key_id} without a hash")));
    };
    let ops = vec![
        TxOp::Delete { key: keys::api_key(tenant_id, key_id), cond: Some(Cond::Exists) },
        TxOp::Delete {
            key: keys::api_key_by_hash(key_hash),
            cond: Some(Cond::And(vec![Cond::eq("tenant_id", tenant_id), Cond::eq("id", key_id)])),
        },
        TxOp::Update { key: keys::api_key_count(tenant_id), update: Update::new().add("count", -1), cond: None },
    ];
    match ports.table.transact(ops).await {
        Ok(()) => Ok(true),
        // Revoked concurrently.
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The check behind `x-api-key`: `None` for anything that is not a live key (malformed,
/// unknown, revoked), so every such caller gets the same 401.
pub async fn verify(ports: &Ports, raw: &str) -> Result<Option<VerifiedKey>, TableError> {
    if !well_formed(raw) {
        return Ok(None);
    }
    let presented = hash(raw);
    let Some(item) = ports.table.get(&keys::api_key_by_hash(&presented)).await? else { return Ok(None) };
    // The item was found by this hash, so they match; comparing anyway (in constant time) keeps
    // the check honest should the lookup ever be by something else (e.g. a prefix index).
    let stored = item.get_str("key_hash").unwrap_or("");
    if !bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) {
        return Ok(None);
    }
    let (Some(tenant_id), Some(key_id)) = (item.get_str("tenant_id"), item.get_str("id")) else {
        return Err(TableError::Corrupt("API key item without tenant or id".into()));
    };
    touch(ports, &item, &presented).await;
    let name = item.get_str("name").map(str::to_owned);
    Ok(Some(VerifiedKey { tenant_id: tenant_id.to_owned(), key_id: key_id.to_owned(), name }))
}

/// Refreshes `last_used_at` when it is older than [`LAST_USED_GRANULARITY`]. Best effort: a
/// failure is logged, the request goes on.
async fn touch(ports: &Ports, item: &Item, key_hash: &str) {
    let now = ports.clock.now();
    let last = item.get_str("last_used_at").and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    if last.is_some_and(|l| now.signed_duration_since(l) < LAST_USED_GRANULARITY) {
        return;
    }
    // Conditional on the key still existing (a revoke in between must not resurrect the item)
    // and on nobody else having refreshed it meanwhile.
    let mut conds = vec![Cond::Exists];
    match item.get("last_used_at") {
        Some(v) => conds.push(Cond::Eq("last_used_at".into(), v.clone())),
        None => conds.push(Cond::AttrNotExists("last_used_at".into())),
    }
    let update = Update::new().set("last_used_at", now.to_rfc3339());
    match ports.table.update(&keys::api_key_by_hash(key_hash), update, Some(Cond::And(conds))).await {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => {}
        Err(e) => tracing::warn!(error = %e, "API key last_used_at not refreshed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_base62_with_the_prefix() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert_eq!(a.len(), KEY_PREFIX.len() + SECRET_CHARS);
        assert_eq!(display_prefix(&a).len(), KEY_PREFIX.len() + VISIBLE_CHARS);
        assert!(a.starts_with(&display_prefix(&a)));
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        for bad in ["", "mip_live_", "mip_test_0123456789012345678901234567890123456789", "mip_live_short"] {
            assert!(!well_formed(bad), "{bad}");
        }
        assert!(!well_formed(&format!("{KEY_PREFIX}{}", "é".repeat(20))));
        assert!(!well_formed(&format!("{KEY_PREFIX}{}", "a".repeat(SECRET_CHARS - 1) + "-")));
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
