//! Campaigns repository: `T#<t>#CAMPAIGN#<id>` / `CAMPAIGN`, listed per tenant on GSI1
//! (`T#<t>#CAMPAIGNS`, newest last by ULID), and in the due index (GSI2) while scheduled.

use crate::domain::campaigns::model::{Campaign, CampaignStatus};
use crate::ports::table::{Item, Key, Page, Query, Table, TableError};

use super::keys;

pub fn key(tenant_id: &str, campaign_id: &str) -> Key {
    keys::campaign(tenant_id, campaign_id)
}

pub fn item(c: &Campaign) -> Result<Item, TableError> {
    let k = key(&c.tenant_id, &c.id);
    let mut item = Item::from_entity(k.clone(), c)?.with_index(keys::LISTS, keys::campaigns_list(&c.tenant_id), &c.id);
    if let (CampaignStatus::Scheduled, Some(at)) = (c.status, c.schedule_at) {
        item = due(item, &k, at.timestamp_millis());
    }
    Ok(item)
}

/// Places an item in the due index (scheduled messages and campaigns).
pub fn due(item: Item, key: &Key, due_ms: i64) -> Item {
    let shard = keys::shard_of(&key.pk, keys::DUE_SHARDS);
    item.with_index(keys::DUE, keys::due_shard(shard), keys::due_sort(due_ms, &key.pk))
}

/// The repository over the table (as the other stores): `Campaigns::new(&*ports.table)`.
pub struct Campaigns<'a> {
    table: &'a dyn Table,
}

impl<'a> Campaigns<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn get(&self, tenant_id: &str, campaign_id: &str) -> Result<Option<Campaign>, TableError> {
        self.table.get(&key(tenant_id, campaign_id)).await?.map(|i| Campaign::from_item(&i)).transpose()
    }

    /// Newest first.
    pub async fn page(
        &self,
        tenant_id: &str,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Campaign>, Option<String>), TableError> {
        let Page { items, next_cursor } = self
            .table
            .query(Query::index(keys::LISTS, keys::campaigns_list(tenant_id)).backward().limit(limit).cursor(cursor))
            .await?;
        let campaigns = items.iter().map(Campaign::from_item).collect::<Result<_, _>>()?;
        Ok((campaigns, next_cursor))
    }
}
