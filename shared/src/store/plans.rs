//! Plans repository: `PLAN#<id>` items, listed through GSI1 `PLANS`.
//!
//! The plan item also carries `tenant_count` (not part of the API): the tenants on the plan,
//! changed only in the transactions that assign or unassign it, so the delete conditioned on it
//! being 0 cannot race a provisioning.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::plans::model::{Plan, PlanChanges};
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Page, Query, TableError, TxOp, Update};

use super::keys;

pub struct Plans<'a> {
    table: &'a dyn Table,
}

pub enum DeletePlan {
    Deleted,
    NotFound,
    InUse,
}

impl<'a> Plans<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn create(&self, plan: &Plan) -> Result<(), TableError> {
        let item = Item::from_entity(keys::plan(&plan.id), plan)?
            .with_index(keys::LISTS, keys::PLANS_LIST, &plan.id)
            .with("tenant_count", 0);
        self.table.put(item, Some(Cond::NotExists)).await
    }

    pub async fn get(&self, plan_id: &str) -> Result<Option<Plan>, TableError> {
        self.table.get(&keys::plan(plan_id)).await?.map(|i| i.to_entity()).transpose()
    }

    /// Oldest first.
    pub async fn list(&self, limit: usize, cursor: Option<String>) -> Result<(Vec<Plan>, Option<String>), TableError> {
        let Page { items, next_cursor } =
            self.table.query(Query::index(keys::LISTS, keys::PLANS_LIST).limit(limit).cursor(cursor)).await?;
        Ok((items.iter().map(Item::to_entity).collect::<Result<_, _>>()?, next_cursor))
    }

    /// Applies the changes; `None` when there is no such plan.
    pub async fn update(&self, plan_id: &str, c: &PlanChanges, now: DateTime<Utc>) -> Result<Option<Plan>, TableError> {
        let mut u = Update::new().set("updated_at", now.to_rfc3339());
        let mut set = |name: &str, v: Option<Value>| {
            if let Some(v) = v {
                u = std::mem::take(&mut u).set(name, v);
            }
        };
        set("name", c.name.clone().map(Value::from));
        set("price", c.price.map(|p| Value::from(p.to_string())));
        set("currency", c.currency.clone().map(Value::from));
        set("monthly_message_limit", c.monthly_message_limit.map(Value::from));
        set("contact_limit", c.contact_limit.map(Value::from));
        set("template_limit", c.template_limit.map(Value::from));
        set("api_key_limit", c.api_key_limit.map(Value::from));
        set("messages_per_second", c.messages_per_second.map(Value::from));
        set("seat_limit", c.seat_limit.map(Value::from));
        set("media_retention_days", c.media_retention_days.map(Value::from));
        match self.table.update(&keys::plan(plan_id), u, Some(Cond::Exists)).await {
            Ok(item) => Ok(Some(item.to_entity()?)),
            Err(TableError::ConditionFailed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the plan unless a tenant has it (one conditional delete: no race with a
    /// provisioning that assigns it, which increments `tenant_count` in its transaction).
    pub async fn delete(&self, plan_id: &str) -> Result<DeletePlan, TableError> {
        let cond = Cond::And(vec![Cond::Exists, Cond::eq("tenant_count", 0)]);
        match self.table.delete(&keys::plan(plan_id), Some(cond)).await {
            Ok(_) => Ok(DeletePlan::Deleted),
            Err(TableError::ConditionFailed { current: Some(_) }) => Ok(DeletePlan::InUse),
            Err(TableError::ConditionFailed { current: None }) => {
                // DynamoDB may not return the old item; tell the two cases apart with a read.
                Ok(if self.table.get(&keys::plan(plan_id)).await?.is_some() {
                    DeletePlan::InUse
                } else {
                    DeletePlan::NotFound
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The operation that counts one more (`delta` = 1) or one fewer (-1) tenant on the plan, for
    /// the tenant transactions. Its condition fails when the plan does not exist.
    pub fn count_tenant_op(plan_id: &str, delta: i64) -> TxOp {
        TxOp::Update {
            key: keys::plan(plan_id),
            update: Update::new().add("tenant_count", delta),
            cond: Some(Cond::Exists),
        }
    }
}
