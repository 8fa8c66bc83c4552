//! Tenants repository: `TENANT#<id>` / `TENANT` (the tenant and its current subscription), the
//! slug uniqueness item, and the platform-wide list through GSI1 `TENANTS`.

use crate::domain::tenants::model::Tenant;
use crate::domain::user::model::User;
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Page, Query, TableError, TxOp, Update};

use super::keys;
use super::plans::Plans;
use super::users::Users;

pub struct Tenants<'a> {
    table: &'a dyn Table,
}

/// Why a provisioning transaction was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ProvisionConflict {
    SlugTaken,
    EmailTaken,
    UnknownPlan,
}

/// Positions of the operations in [`Tenants::provision`]'s transaction, to read its
/// cancellation reasons.
const OP_SLUG: usize = 1;
const OP_USER: usize = 2;
const OP_EMAIL: usize = 3;
const OP_PLAN: usize = 4;

impl<'a> Tenants<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// Creates the tenant (with its subscription), its slug item, its admin user (and email item)
    /// and counts the tenant on its plan: one transaction, so nothing is ever half-created.
    pub async fn provision(
        &self,
        tenant: &Tenant,
        admin: &User,
    ) -> Result<Result<(), Vec<ProvisionConflict>>, TableError> {
        let item = Item::from_entity(keys::tenant(&tenant.id), tenant)?.with_index(
            keys::LISTS,
            keys::TENANTS_LIST,
            &tenant.id,
        );
        let slug = Item::new(keys::unique_slug(&tenant.slug)).with("tenant_id", tenant.id.clone());
        let mut ops = vec![
            TxOp::Put { item, cond: Some(Cond::NotExists) },
            TxOp::Put { item: slug, cond: Some(Cond::NotExists) },
        ];
        ops.extend(Users::create_ops(admin)?);
        ops.push(Plans::count_tenant_op(&tenant.plan_id, 1));
        debug_assert_eq!(ops.len(), OP_PLAN + 1);
        match self.table.transact(ops).await {
            Ok(()) => Ok(Ok(())),
            Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => {
                let conflicts = failed_conditions
                    .iter()
                    .filter_map(|i| match *i {
                        OP_SLUG => Some(ProvisionConflict::SlugTaken),
                        OP_EMAIL => Some(ProvisionConflict::EmailTaken),
                        OP_PLAN => Some(ProvisionConflict::UnknownPlan),
                        // Fresh ULIDs: the tenant and user puts cannot collide.
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                if conflicts.is_empty() {
                    return Err(TableError::Corrupt(format!(
                        "provisioning refused at ops {failed_conditions:?} (user op {OP_USER})"
                    )));
                }
                Ok(Err(conflicts))
            }
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, tenant_id: &str) -> Result<Option<Tenant>, TableError> {
        self.table.get(&keys::tenant(tenant_id)).await?.map(|i| i.to_entity()).transpose()
    }

    /// Oldest first.
    pub async fn list(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Tenant>, Option<String>), TableError> {
        self.page(Query::index(keys::LISTS, keys::TENANTS_LIST), limit, cursor).await
    }

    /// Newest first (the console's table); [`Self::list`] is oldest first (`GET /admin/tenants`).
    /// A cursor belongs to the order it came from.
    pub async fn list_newest_first(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Tenant>, Option<String>), TableError> {
        self.page(Query::index(keys::LISTS, keys::TENANTS_LIST).backward(), limit, cursor).await
    }

    async fn page(
        &self,
        query: Query,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Tenant>, Option<String>), TableError> {
        let Page { items, next_cursor } = self.table.query(query.limit(limit).cursor(cursor)).await?;
        Ok((items.iter().map(Item::to_entity).collect::<Result<_, _>>()?, next_cursor))
    }

    /// Writes `update` to the tenant if it still has `expected_plan_id` (optimistic: the caller
    /// read it), moving the plan counters when `new_plan_id` differs. `Ok(false)`: the tenant
    /// changed plan meanwhile (re-read and retry). Unknown new plan: `Err(UnknownPlan)`.
    pub async fn update(
        &self,
        tenant_id: &str,
        expected_plan_id: &str,
        new_plan_id: &str,
        update: Update,
    ) -> Result<Result<bool, ProvisionConflict>, TableError> {
        let cond = Cond::And(vec![Cond::Exists, Cond::eq("plan_id", expected_plan_id)]);
        if new_plan_id == expected_plan_id {
            return match self.table.update(&keys::tenant(tenant_id), update, Some(cond)).await {
                Ok(_) => Ok(Ok(true)),
                Err(TableError::ConditionFailed { .. }) => Ok(Ok(false)),
                Err(e) => Err(e),
            };
        }
        let ops = vec![
            TxOp::Update { key: keys::tenant(tenant_id), update: update.set("plan_id", new_plan_id), cond: Some(cond) },
            Plans::count_tenant_op(expected_plan_id, -1),
            Plans::count_tenant_op(new_plan_id, 1),
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok(Ok(true)),
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&2) => {
                Ok(Err(ProvisionConflict::UnknownPlan))
            }
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
                Ok(Ok(false))
            }
            Err(e) => Err(e),
        }
    }
}
