//! Plan limits as the features that enforce them read them.
//!
//! The tenant item carries its subscription's `plan_id` (`keys::tenant`), and the limits are
//! fields of the plan item (`keys::plan`), both written by the plans/tenants feature; this module
//! only reads, and treats anything missing as "no limit" (a tenant without a plan, a plan without
//! that limit, or a `null` limit).

use crate::ports::Table;
use crate::ports::table::TableError;
use crate::store::keys;

/// The plan's `contact_limit` for the tenant; `None` = unlimited (or no plan).
pub async fn contact_limit(table: &dyn Table, tenant_id: &str) -> Result<Option<u64>, TableError> {
    plan_limit(table, tenant_id, "contact_limit").await
}

/// The plan's `monthly_message_limit` for the tenant; `None` = unlimited (or no plan).
pub async fn monthly_message_limit(table: &dyn Table, tenant_id: &str) -> Result<Option<u64>, TableError> {
    plan_limit(table, tenant_id, "monthly_message_limit").await
}

/// The plan's `api_key_limit` for the tenant; `None` = unlimited (or no plan).
pub async fn api_key_limit(table: &dyn Table, tenant_id: &str) -> Result<Option<u64>, TableError> {
    plan_limit(table, tenant_id, "api_key_limit").await
}

/// The plan's `seat_limit` (active members) for the tenant; `None` = unlimited (or no plan).
pub async fn seat_limit(table: &dyn Table, tenant_id: &str) -> Result<Option<u64>, TableError> {
    plan_limit(table, tenant_id, "seat_limit").await
}

/// The plan's `media_retention_days` for the tenant; `None` = files are kept (or no plan).
pub async fn media_retention_days(table: &dyn Table, tenant_id: &str) -> Result<Option<u64>, TableError> {
    plan_limit(table, tenant_id, "media_retention_days").await
}

async fn plan_limit(table: &dyn Table, tenant_id: &str, field: &str) -> Result<Option<u64>, TableError> {
    let Some(tenant) = table.get(&keys::tenant(tenant_id)).await? else { return Ok(None) };
    let Some(plan_id) = tenant.get_str("plan_id") else { return Ok(None) };
    let Some(plan) = table.get(&keys::plan(plan_id)).await? else { return Ok(None) };
    // A negative number is read as 0 (nothing allowed), never as unlimited.
    Ok(plan.get(field).and_then(|v| v.as_u64().or_else(|| v.as_i64().map(|_| 0))))
}
