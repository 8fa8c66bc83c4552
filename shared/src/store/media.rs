//! Media items: `T#<tenant>#MEDIA#<id>` / `MEDIA`, one item per file. The key is built from the
//! caller's tenant, so another tenant's id is simply not found. Status changes are conditioned on
//! the status they leave, so two requests finishing one upload (or a retried fetch) move it once.

use crate::domain::media::model::{MediaItem, MediaStatus};
use crate::ports::Table;
use crate::ports::table::{Cond, Item, TableError, Update};

use super::keys;

pub struct MediaStore<'a> {
    table: &'a dyn Table,
}

impl<'a> MediaStore<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// Records a new item (`Ok(false)`: one with this id exists).
    pub async fn create(&self, item: &MediaItem) -> Result<bool, TableError> {
        let record = Item::from_entity(keys::media(&item.tenant_id, &item.id), item)?;
        match self.table.put(record, Some(Cond::NotExists)).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<MediaItem>, TableError> {
        let item: Option<MediaItem> =
            self.table.get(&keys::media(tenant_id, id)).await?.map(|i| i.to_entity()).transpose()?;
        // Only the key says whose it is.
        Ok(item.filter(|m| m.tenant_id == tenant_id))
    }

    /// Moves the item from `from` to `to` with the extra fields of `update`; `Ok(None)` when it
    /// is not (or no longer) in `from`. Returns the item as it is after the change.
    pub async fn transition(
        &self,
        tenant_id: &str,
        id: &str,
        from: MediaStatus,
        to: MediaStatus,
        update: Update,
    ) -> Result<Option<MediaItem>, TableError> {
        let update = update.set("status", to.as_str());
        match self.table.update(&keys::media(tenant_id, id), update, Some(Cond::eq("status", from.as_str()))).await {
            Ok(item) => Ok(Some(item.to_entity()?)),
            Err(TableError::ConditionFailed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
