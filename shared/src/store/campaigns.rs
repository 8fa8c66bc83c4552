//! Campaigns repository: `T#<t>#CAMPAIGN#<id>` / `CAMPAIGN`, listed per tenant on GSI1
//! (`T#<t>#CAMPAIGNS`, newest last by ULID), and in the due index (GSI2) while scheduled.

use crate::domain::campaigns::model::{Campaign, CampaignStatus};
use crate::ports::Ports;
use crate::ports::table::{Item, Key, Page, Query, TableError};

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

pub async fn get(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Option<Campaign>, TableError> {
    ports.table.get(&key(tenant_id, campaign_id)).await?.map(|i| Campaign::from_item(&i)).transpose()
}

/// Newest first.
pub async fn page(
    ports: &Ports,
    tenant_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<Campaign>, Option<String>), TableError> {
    let Page { items, next_cursor } = ports
        .table
        .query(Query::index(keys::LISTS, keys::campaigns_list(tenant_id)).backward().limit(limit).cursor(cursor))
        .await?;
    let campaigns = items.iter().map(Campaign::from_item).collect::<Result<_, _>>()?;
    Ok((campaigns, next_cursor))
}
