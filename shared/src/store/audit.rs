//! Audit log repository: entries over [`keys::AUDIT_SHARDS`] partitions per tenant (and as many
//! platform-wide GSI1 partitions), each read backward and merged newest first
//! ([`super::shards::newest_first`]). The cursor is the last entry id returned (the entries'
//! sort key); every shard is read from just below it, so paging is exact.

use crate::domain::audit::model::{Entry, Filter, Scope, id_bounds};
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Query, SkCond, TableError};

use super::keys;

/// Every entry id starts with this.
const ID_PREFIX: &str = "aud_";

pub struct AuditLog<'a> {
    table: &'a dyn Table,
}

impl<'a> AuditLog<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// The stored item: the entry, its `actor_id` (for the filter), its TTL, and its place in the
    /// platform-wide list.
    pub fn item(entry: &Entry) -> Result<Item, TableError> {
        let shard = keys::shard_of(&entry.id, keys::AUDIT_SHARDS);
        let mut item = Item::from_entity(keys::audit_entry(entry.tenant_id.as_deref(), &entry.id), entry)?
            .with_index(keys::LISTS, keys::audit_platform_list(shard), entry.id.clone())
            .with_ttl(entry.expires_at());
        if let Some(actor_id) = &entry.actor.id {
            item = item.with("actor_id", actor_id.clone());
        }
        Ok(item)
    }

    /// Appends the entry; one with the same id already there is kept as it is.
    pub async fn append(&self, entry: &Entry) -> Result<(), TableError> {
        match self.table.put(Self::item(entry)?, Some(Cond::NotExists)).await {
            Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Newest first, at most `limit` entries older than `before` (an entry id) that match
    /// `filter`; the last one's id when more exist.
    pub async fn list(
        &self,
        scope: Scope<'_>,
        filter: &Filter,
        limit: usize,
        before: Option<String>,
    ) -> Result<(Vec<Entry>, Option<String>), TableError> {
        if before.as_deref().is_some_and(|b| !b.starts_with(ID_PREFIX)) {
            return Err(TableError::Invalid("not an audit log position".into()));
        }
        // A range that is empty (`from` after the position reached) is no query at all: DynamoDB
        // refuses a BETWEEN whose bounds are reversed.
        let Some(sk) = sort_key_range(filter, before.as_deref()) else { return Ok((Vec::new(), None)) };
        let mut conds = Vec::new();
        if let Some(a) = &filter.actor_id {
            conds.push(Cond::eq("actor_id", a.clone()));
        }
        if let Some(a) = &filter.action {
            conds.push(Cond::eq("action", a.clone()));
        }
        let queries = (0..keys::AUDIT_SHARDS)
            .map(|shard| {
                let q = match scope {
                    Scope::Tenant(t) => Query::table(keys::audit_partition(Some(t), shard)),
                    Scope::Platform => Query::index(keys::LISTS, keys::audit_platform_list(shard)),
                };
                // Inclusive bounds: `before` itself may be in range, and is skipped.
                let q = q.sk(sk.clone());
                if conds.is_empty() { q } else { q.filter(Cond::And(conds.clone())) }
            })
            .collect();
        let (items, next) = super::shards::newest_first(self.table, queries, before.as_deref(), limit).await?;
        let entries = items.iter().map(Item::to_entity).collect::<Result<Vec<Entry>, _>>()?;
        Ok((entries, next))
    }
}

/// The sort key range of a page: from `filter.from`'s first possible id to `before` (or
/// `filter.to`'s last possible id, whichever is lower), both inclusive; `None` when it is empty.
fn sort_key_range(filter: &Filter, before: Option<&str>) -> Option<SkCond> {
    let low = filter.from.map(|f| id_bounds(f).0);
    let to = filter.to.map(|t| id_bounds(t).1);
    let high = match (before, to) {
        (Some(b), Some(t)) => Some(if t.as_str() < b { t } else { b.to_owned() }),
        (Some(b), None) => Some(b.to_owned()),
        (None, t) => t,
    };
    Some(match (low, high) {
        (None, None) => SkCond::BeginsWith(ID_PREFIX.into()),
        (Some(l), None) => SkCond::Ge(l),
        (None, Some(h)) => SkCond::Between(ID_PREFIX.into(), h),
        (Some(l), Some(h)) if l <= h => SkCond::Between(l, h),
        (Some(_), Some(_)) => return None,
    })
}
