//! Server-side sessions. Every token names its session (`sid`); the session is an item in the
//! table (TTL = the token's expiry) that the auth layer reads on every request, so ending a
//! session is deleting its item, effective at once on every process:
//! - `POST /auth/logout` ends the caller's session;
//! - a password change ends the user's other sessions, a reset (or a re-issued one-time password)
//!   all of them;
//! - a tenant's suspension ends every session of its users;
//! - [`end_all_for_user`] with `except` is what the members feature (removal, deactivation, role
//!   change) calls.
//!
//! A request whose session is gone gets 401 `session_revoked`. The check is one `GetItem`, made
//! concurrently with the user's own read (one extra table read per request).

use chrono::{DateTime, Utc};

use crate::domain::{Error, Kind};
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, TableError};
use crate::store::keys;

const ID_PREFIX: &str = "ses";

/// The answer for a token whose session has ended (or that has none).
pub fn revoked() -> Error {
    Error::new(Kind::Unauthenticated, "session_revoked", "this session has ended; sign in again")
}

/// Starts a session for `user_id` that lasts until `expires_at`; returns its id.
pub async fn start(ports: &Ports, user_id: &str, expires_at: DateTime<Utc>) -> Result<String, TableError> {
    let id = ports.ids.new_id(ID_PREFIX);
    let item = Item::new(keys::session(&id))
        .with("user_id", user_id)
        .with("created_at", ports.clock.now().to_rfc3339())
        .with_index(keys::LISTS, keys::user_sessions_list(user_id), id.clone())
        .with_ttl(expires_at.timestamp());
    ports.table.put(item, Some(Cond::NotExists)).await?;
    Ok(id)
}

/// Whether session `session_id` is live and belongs to `user_id`.
pub async fn is_live(ports: &Ports, session_id: &str, user_id: &str) -> Result<bool, TableError> {
    let item = ports.table.get(&keys::session(session_id)).await?;
    Ok(item.is_some_and(|i| i.get_str("user_id") == Some(user_id)))
}

/// Ends one session (idempotent).
pub async fn end(ports: &Ports, session_id: &str) -> Result<(), TableError> {
    ports.table.delete(&keys::session(session_id), None).await.map(|_| ())
}

/// Every item of a list (all pages).
async fn whole_list(ports: &Ports, list: String) -> Result<Vec<Item>, TableError> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = ports.table.query(Query::index(keys::LISTS, list.clone()).limit(100).cursor(cursor)).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// Ends every session of `user_id` but `except` (the caller's own, when it keeps it). Returns
/// how many were ended.
pub async fn end_all_for_user(ports: &Ports, user_id: &str, except: Option<&str>) -> Result<usize, TableError> {
    let keep = except.map(keys::session);
    let mut ended = 0;
    for key in whole_list(ports, keys::user_sessions_list(user_id)).await?.iter().filter_map(Item::key) {
        if keep.as_ref() != Some(&key) {
            ports.table.delete(&key, None).await?;
            ended += 1;
        }
    }
    Ok(ended)
}

/// Ends every session of every user of `tenant_id` (its suspension).
pub async fn end_all_for_tenant(ports: &Ports, tenant_id: &str) -> Result<usize, TableError> {
    let mut ended = 0;
    for user in whole_list(ports, keys::tenant_users_list(tenant_id)).await? {
        if let Some(user_id) = user.get_str("id") {
            ended += end_all_for_user(ports, user_id, None).await?;
        }
    }
    Ok(ended)
}
