//! Webhook quarantine repository: one item per quarantined delivery or event
//! (`WEBHOOKQ#<key>` / `QUARANTINE`, kept 30 days by TTL) on one platform list (GSI1
//! `WEBHOOK#QUARANTINE`, sorted by a time-ordered id: newest last).

use crate::domain::webhooks::quarantine::model::Quarantined;
use crate::ports::Table;
use crate::ports::table::{Item, Page, Query, TableError};

use super::keys;

pub struct QuarantineStore<'a> {
    table: &'a dyn Table,
}

const PK_PREFIX: &str = "WEBHOOKQ#";

fn read(item: &Item) -> Result<Quarantined, TableError> {
    let mut q: Quarantined = item.to_entity()?;
    if q.key.is_empty() {
        let pk = item.key().map(|k| k.pk).unwrap_or_default();
        q.key = pk.strip_prefix(PK_PREFIX).unwrap_or(&pk).to_owned();
    }
    Ok(q)
}

impl<'a> QuarantineStore<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// Keeps `q` (replacing an earlier item of the same key) at `position` in the list, until
    /// `expires_at` (epoch seconds). `position` must grow with time (a ULID).
    pub async fn keep(&self, q: &Quarantined, position: &str, expires_at: i64) -> Result<(), TableError> {
        let item = Item::from_entity(keys::quarantined_webhook(&q.key), q)?
            .with_index(keys::LISTS, keys::QUARANTINE_LIST, format!("{position}#{}", q.key))
            .with_ttl(expires_at);
        self.table.put(item, None).await
    }

    pub async fn get(&self, key: &str) -> Result<Option<Quarantined>, TableError> {
        self.table.get(&keys::quarantined_webhook(key)).await?.as_ref().map(read).transpose()
    }

    /// Newest first.
    pub async fn list(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Quarantined>, Option<String>), TableError> {
        let Page { items, next_cursor } = self
            .table
            .query(Query::index(keys::LISTS, keys::QUARANTINE_LIST).backward().limit(limit).cursor(cursor))
            .await?;
        Ok((items.iter().map(read).collect::<Result<_, _>>()?, next_cursor))
    }
}
