//! Tenant settings repository: `TENANT#<id>` / `SETTINGS`, one item with a `version` that every
//! write moves, so a read-modify-write (a PATCH merging into what is stored) never loses a
//! concurrent one.

use crate::domain::tenants::model::TenantSettings;
use crate::ports::Table;
use crate::ports::table::{Cond, Item, TableError};

use super::keys;

pub struct TenantSettingsStore<'a> {
    table: &'a dyn Table,
}

/// What was read, and the version to write against (0: nothing stored yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub settings: TenantSettings,
    pub version: i64,
}

impl<'a> TenantSettingsStore<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// The stored settings, or the defaults at version 0.
    pub async fn get(&self, tenant_id: &str) -> Result<Versioned, TableError> {
        let Some(item) = self.table.get(&keys::tenant_settings(tenant_id)).await? else {
            return Ok(Versioned { settings: TenantSettings::default(), version: 0 });
        };
        let version = item.get_i64("version").ok_or_else(|| TableError::Corrupt("settings without version".into()))?;
        Ok(Versioned { settings: item.to_entity()?, version })
    }

    /// Writes `settings` if nobody wrote since `read_version`; `Ok(false)` when someone did
    /// (re-read and retry).
    pub async fn put(&self, tenant_id: &str, settings: &TenantSettings, read_version: i64) -> Result<bool, TableError> {
        let item = Item::from_entity(keys::tenant_settings(tenant_id), settings)?.with("version", read_version + 1);
        let cond = if read_version == 0 { Cond::NotExists } else { Cond::eq("version", read_version) };
        match self.table.put(item, Some(cond)).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
