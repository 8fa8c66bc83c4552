//! WhatsApp connection repository: the connection item per tenant and the two routing items
//! (`ROUTE#PHONE#…`, `ROUTE#WABA#…`) that send Meta's webhooks to the tenant that owns a number.
//!
//! Every connection write is conditional on the `version` read (optimistic concurrency), so a
//! connect run, a disconnect and an account webhook never overwrite each other's changes.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::whatsapp::model::{Connection, ConnectionStatus};
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Key, TableError, TxOp, Update};

use super::keys;

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("the phone number is connected to another tenant")]
    PhoneTaken,
    #[error("the WhatsApp Business Account is connected to another tenant")]
    WabaTaken,
    #[error(transparent)]
    Table(#[from] TableError),
}

pub struct WhatsappStore<'a> {
    table: &'a dyn Table,
}

impl<'a> WhatsappStore<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn get(&self, tenant_id: &str) -> Result<Option<Connection>, TableError> {
        self.table.get(&keys::whatsapp_account(tenant_id)).await?.map(|i| i.to_entity()).transpose()
    }

    /// Writes `conn` if nobody wrote since it was read (`version` unchanged; absent for a new
    /// one), and bumps its version. `ConditionFailed` means someone else did.
    pub async fn save(&self, conn: &mut Connection) -> Result<(), TableError> {
        let expected = conn.version;
        conn.version = expected + 1;
        let item = match Item::from_entity(keys::whatsapp_account(&conn.tenant_id), conn) {
            Ok(item) => item,
            Err(e) => {
                conn.version = expected;
                return Err(e);
            }
        };
        let cond = if expected == 0 { Cond::NotExists } else { Cond::eq("version", expected) };
        let result = self.table.put(item, Some(cond)).await;
        if result.is_err() {
            conn.version = expected;
        }
        result
    }

    /// Sets `status` when the current one is one of `from`; `Ok(false)` when it is not (or there
    /// is no connection).
    pub async fn set_status_if(
        &self,
        tenant_id: &str,
        status: ConnectionStatus,
        from: &[ConnectionStatus],
        now: DateTime<Utc>,
    ) -> Result<bool, TableError> {
        let update = Update::new().set("status", status.as_str()).set("updated_at", now.to_rfc3339()).add("version", 1);
        let cond =
            Cond::And(vec![Cond::Exists, Cond::Or(from.iter().map(|s| Cond::eq("status", s.as_str())).collect())]);
        match self.table.update(&keys::whatsapp_account(tenant_id), update, Some(cond)).await {
            Ok(_) => Ok(true),
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Claims the number and the WABA for `tenant_id` in one transaction. Claiming what the
    /// tenant already holds succeeds (the step is idempotent).
    pub async fn claim_routes(&self, tenant_id: &str, waba_id: &str, phone_number_id: &str) -> Result<(), ClaimError> {
        let mine_or_free = Cond::Or(vec![Cond::NotExists, Cond::eq("tenant_id", tenant_id)]);
        let phone = Item::new(keys::phone_route(phone_number_id))
            .with("tenant_id", tenant_id)
            .with("waba_id", waba_id)
            .with("phone_number_id", phone_number_id);
        let waba = Item::new(keys::waba_route(waba_id)).with("tenant_id", tenant_id).with("waba_id", waba_id);
        let ops = vec![
            TxOp::Put { item: phone, cond: Some(mine_or_free.clone()) },
            TxOp::Put { item: waba, cond: Some(mine_or_free) },
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
                Err(ClaimError::PhoneTaken)
            }
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&1) => {
                Err(ClaimError::WabaTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Frees a routing item if (and only if) `tenant_id` holds it.
    pub async fn release_route(&self, key: Key, tenant_id: &str) -> Result<(), TableError> {
        match self.table.delete(&key, Some(Cond::eq("tenant_id", tenant_id))).await {
            Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn release_phone(&self, phone_number_id: &str, tenant_id: &str) -> Result<(), TableError> {
        self.release_route(keys::phone_route(phone_number_id), tenant_id).await
    }

    pub async fn release_waba(&self, waba_id: &str, tenant_id: &str) -> Result<(), TableError> {
        self.release_route(keys::waba_route(waba_id), tenant_id).await
    }

    /// The tenant a routing item points to.
    pub async fn route_tenant(&self, key: &Key) -> Result<Option<String>, TableError> {
        Ok(self.table.get(key).await?.and_then(|i| i.get("tenant_id").and_then(Value::as_str).map(str::to_owned)))
    }
}
