//! A per-process read cache in front of the local process's table, for the few items every
//! request reads again: the session, the user, the tenant (its status and subscription) and its
//! settings, the plan, the WhatsApp connection, webhook routes, API keys, templates by name.
//!
//! Exact in the local process: it is the only writer of its table, and every write through this
//! adapter (put, update, delete, transaction — whether it succeeds or fails) drops the written
//! keys from the cache before the write's caller gets its answer. So a sign-out, a password change
//! (which ends sessions), a suspension or a plan change takes effect on the very next request. A
//! read that raced a write cannot put the old value back: each key carries a version, bumped by
//! every invalidation, and a read fills the cache only if the version it started with is still
//! current. Entries also expire after [`TTL`] — the bound if something else ever wrote the file.
//!
//! Not used on AWS: there every Lambda instance is its own process and none sees another's
//! writes, so a cache would keep a revoked session or a suspended tenant alive for up to its TTL
//! in every other instance. SPEC wants those to take effect at once everywhere, so the AWS
//! platform reads DynamoDB every time (see README, "Where the time goes").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::ports::table::{Cond, Item, Key, Page, Query, Table, TableError, TxOp, Update};

/// How long an entry may be served without reading the table again.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most; a full cache is emptied (then refills with what is hot).
const CAPACITY: usize = 50_000;

/// Whether `key` is one of the items every request reads (see the module docs).
fn cacheable(key: &Key) -> bool {
    let (pk, sk) = (key.pk.as_str(), key.sk.as_str());
    match sk {
        "SESSION" => pk.starts_with("SESSION#"),
        "USER" => pk.starts_with("USER#"),
        "TENANT" | "SETTINGS" | "WHATSAPP" => pk.starts_with("TENANT#"),
        "PLAN" => pk.starts_with("PLAN#"),
        "ROUTE" => pk.starts_with("ROUTE#"),
        "APIKEY" => pk.starts_with("APIKEY#"),
        "TEMPLATE" => pk.starts_with("T#") && pk.contains("#TEMPLATE#"),
        "UNIQUE" => pk.starts_with("UNIQUE#T#") && pk.contains("#TEMPLATE#"),
        _ => false,
    }
}

#[derive(Default)]
struct Slot {
    /// The item as last read (`Some(None)`: known absent), and when.
    value: Option<(Option<Item>, Instant)>,
    /// Bumped by every write to the key.
    version: u64,
}

#[derive(Default)]
struct State {
    slots: HashMap<Key, Slot>,
    /// Bumped when the map is emptied (the versions it held are gone).
    epoch: u64,
}

pub struct CachedTable {
    inner: Arc<dyn Table>,
    state: Mutex<State>,
    /// Which keys are cached ([`cacheable`] but in the conformance suite).
    cacheable: fn(&Key) -> bool,
}

impl CachedTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, state: Mutex::default(), cacheable }
    }

    /// A cache of every key, for the table conformance suite: every case then runs through the
    /// cache's hits, fills and invalidations, not only the few keys the platform caches.
    pub fn caching_every_key(inner: Arc<dyn Table>) -> Self {
        Self { inner, state: Mutex::default(), cacheable: |_| true }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn invalidate<'a>(&self, keys: impl IntoIterator<Item = &'a Key>) {
        let mut state = self.lock();
        for key in keys.into_iter().filter(|k| (self.cacheable)(k)) {
            let slot = state.slots.entry(key.clone()).or_default();
            slot.version += 1;
            slot.value = None;
        }
    }
}

#[async_trait]
impl Table for CachedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        if !(self.cacheable)(key) {
            return self.inner.get(key).await;
        }
        let (version, epoch) = {
            let mut state = self.lock();
            let epoch = state.epoch;
            let slot = state.slots.entry(key.clone()).or_default();
            if let Some((item, at)) = &slot.value
                && at.elapsed() < TTL
            {
                let now = chrono::Utc::now().timestamp();
                // A session's TTL passes while it is cached: expired is absent, as in the table.
                return Ok(item.clone().filter(|i| !i.is_expired(now)));
            }
            (slot.version, epoch)
        };
        let item = self.inner.get(key).await?;
        let mut state = self.lock();
        if state.epoch == epoch {
            if state.slots.len() >= CAPACITY {
                state.slots.clear();
                state.epoch += 1;
            } else if let Some(slot) = state.slots.get_mut(key)
                && slot.version == version
            {
                slot.value = Some((item.clone(), Instant::now()));
            }
        }
        Ok(item)
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError> {
        let key = item.key();
        let out = self.inner.put(item, cond).await;
        self.invalidate(key.as_ref());
        out
    }

    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError> {
        let out = self.inner.update(key, update, cond).await;
        self.invalidate([key]);
        out
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError> {
        let out = self.inner.delete(key, cond).await;
        self.invalidate([key]);
        out
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let keys: Vec<Key> = ops.iter().filter_map(TxOp::key).collect();
        let out = self.inner.transact(ops).await;
        self.invalidate(&keys);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::embedded::sqlite_table::SqliteTable;
    use crate::store::keys;

    fn table() -> (tempfile::TempDir, CachedTable) {
        let dir = tempfile::tempdir().expect("dir");
        let inner = SqliteTable::open(&dir.path().join("t.db")).expect("open");
        (dir, CachedTable::new(Arc::new(inner)))
    }

    #[tokio::test]
    async fn a_write_through_it_is_seen_by_the_next_read() {
        let (_dir, t) = table();
        let key = keys::tenant("t1");
        assert_eq!(t.get(&key).await.expect("get"), None, "absent, and now cached as absent");
        t.put(Item::new(key.clone()).with("status", "active"), None).await.expect("put");
        assert_eq!(
            t.get(&key).await.expect("get").and_then(|i| i.get_str("status").map(str::to_owned)).as_deref(),
            Some("active")
        );
        t.update(&key, Update::new().set("status", "suspended"), None).await.expect("update");
        assert_eq!(
            t.get(&key).await.expect("get").and_then(|i| i.get_str("status").map(str::to_owned)).as_deref(),
            Some("suspended")
        );
        let session = keys::session("s1");
        t.transact(vec![TxOp::Put { item: Item::new(session.clone()).with("user_id", "u"), cond: None }])
            .await
            .expect("tx");
        assert!(t.get(&session).await.expect("get").is_some());
        t.delete(&session, None).await.expect("delete");
        assert_eq!(t.get(&session).await.expect("get"), None, "a revoked session is gone at once");
    }

    #[tokio::test]
    async fn hits_do_not_read_the_table_and_other_keys_are_not_cached() {
        let dir = tempfile::tempdir().expect("dir");
        let inner = Arc::new(SqliteTable::open(&dir.path().join("t.db")).expect("open"));
        let t = CachedTable::new(inner.clone());
        let (user, contact) = (keys::user("u1"), keys::contact("t1", "c1"));
        t.put(Item::new(user.clone()).with("v", 1), None).await.expect("put");
        t.put(Item::new(contact.clone()).with("v", 1), None).await.expect("put");
        assert!(t.get(&user).await.expect("get").is_some());
        // Written behind the cache's back (another process): a cached key keeps its value for
        // at most the TTL, an uncached one is read every time.
        inner.update(&user, Update::new().set("v", 2), None).await.expect("update");
        inner.update(&contact, Update::new().set("v", 2), None).await.expect("update");
        assert_eq!(t.get(&user).await.expect("get").and_then(|i| i.get_i64("v")), Some(1));
        assert_eq!(t.get(&contact).await.expect("get").and_then(|i| i.get_i64("v")), Some(2));
    }

    #[tokio::test]
    async fn an_expired_session_is_absent_even_when_cached() {
        let (_dir, t) = table();
        let key = keys::session("s2");
        let soon = chrono::Utc::now().timestamp() + 1;
        t.put(Item::new(key.clone()).with("user_id", "u").with_ttl(soon), None).await.expect("put");
        assert!(t.get(&key).await.expect("get").is_some());
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(t.get(&key).await.expect("get"), None);
    }
}
