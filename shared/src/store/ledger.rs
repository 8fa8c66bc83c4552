//! Credits ledger repository: the balance item (`TENANT#<t>` / `BALANCE`: `balance` in 1/10,000
//! units, `seq` = entries written so far), entries keyed by their `seq` across
//! [`keys::LEDGER_SHARDS`] partitions, and per-message debit/refund markers. The balance's
//! optimistic `seq` condition is what makes every entry's `balance_after` exact; the algorithm is
//! in `domain::billing` and explained in `docs/billing.md`.

use serde::{Deserialize, Serialize};

use crate::domain::billing::model::LedgerEntry;
use crate::domain::money::Money;
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Query, SkCond, TableError, TxOp, Update};

use super::keys;

pub struct Ledger<'a> {
    table: &'a dyn Table,
}

/// The balance as read, for an optimistic write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceState {
    pub balance: Money,
    pub seq: u64,
    /// False before the first credit.
    pub exists: bool,
}

/// What a debit marker remembers (a refund gives back exactly this).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebitMarker {
    pub amount: Money,
    pub entry_id: String,
    pub seq: u64,
    /// The message's pricing category (for the daily cost counters; absent on older markers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl<'a> Ledger<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn balance(&self, tenant_id: &str) -> Result<BalanceState, TableError> {
        let Some(item) = self.table.get(&keys::balance(tenant_id)).await? else {
            return Ok(BalanceState { balance: Money::ZERO, seq: 0, exists: false });
        };
        let (Some(balance), Some(seq)) = (item.get_i64("balance"), item.get_i64("seq")) else {
            return Err(TableError::Corrupt("balance item without balance/seq".into()));
        };
        Ok(BalanceState { balance: Money::from_units(balance), seq: seq as u64, exists: true })
    }

    /// Moves the balance from `read` to `new_balance` and `read.seq + entries`, only if nobody
    /// wrote it since `read`. The `seq` condition is what keeps the balance from going negative:
    /// the caller computed `new_balance` (never below zero) from exactly the state it read.
    pub fn balance_op(
        tenant_id: &str,
        read: BalanceState,
        new_balance: Money,
        entries: u64,
    ) -> Result<TxOp, TableError> {
        if new_balance.is_negative() {
            return Err(TableError::Invalid("a balance may not go below zero".into()));
        }
        let cond = if read.exists { Cond::eq("seq", read.seq) } else { Cond::NotExists };
        let update = Update::new().set("balance", new_balance.units()).set("seq", read.seq + entries);
        Ok(TxOp::Update { key: keys::balance(tenant_id), update, cond: Some(cond) })
    }

    pub fn entry_op(tenant_id: &str, entry: &LedgerEntry) -> Result<TxOp, TableError> {
        let item = Item::from_entity(keys::ledger_entry(tenant_id, entry.seq), entry)?;
        Ok(TxOp::Put { item, cond: Some(Cond::NotExists) })
    }

    pub fn debit_marker_op(tenant_id: &str, message_id: &str, marker: &DebitMarker) -> Result<TxOp, TableError> {
        let item = Item::from_entity(keys::debit_marker(tenant_id, message_id), marker)?;
        Ok(TxOp::Put { item, cond: Some(Cond::NotExists) })
    }

    pub fn refund_marker_op(tenant_id: &str, message_id: &str, entry_id: &str) -> TxOp {
        let item = Item::new(keys::refund_marker(tenant_id, message_id)).with("entry_id", entry_id);
        TxOp::Put { item, cond: Some(Cond::NotExists) }
    }

    pub async fn debit_marker(&self, tenant_id: &str, message_id: &str) -> Result<Option<DebitMarker>, TableError> {
        self.table.get(&keys::debit_marker(tenant_id, message_id)).await?.map(|i| i.to_entity()).transpose()
    }

    pub async fn is_refunded(&self, tenant_id: &str, message_id: &str) -> Result<bool, TableError> {
        Ok(self.table.get(&keys::refund_marker(tenant_id, message_id)).await?.is_some())
    }

    /// Newest first, `limit` entries with `seq < before` (all when `None`). Each shard is read
    /// backward from the same position and the pages are merged by `seq`; the next page starts
    /// below the last entry returned. Returns that position when more entries exist.
    pub async fn list(
        &self,
        tenant_id: &str,
        limit: usize,
        before: Option<u64>,
    ) -> Result<(Vec<LedgerEntry>, Option<u64>), TableError> {
        let mut merged = Vec::new();
        let mut more = false;
        for shard in 0..keys::LEDGER_SHARDS {
            let sk = match before {
                Some(seq) => SkCond::Lt(keys::ledger_entry_sk(seq)),
                None => SkCond::BeginsWith(keys::LEDGER_ENTRY_PREFIX.into()),
            };
            let page = self
                .table
                .query(Query::table(keys::ledger_shard(tenant_id, shard)).sk(sk).backward().limit(limit))
                .await?;
            more |= page.next_cursor.is_some();
            for item in &page.items {
                merged.push(item.to_entity::<LedgerEntry>()?);
            }
        }
        merged.sort_by_key(|e| std::cmp::Reverse(e.seq));
        more |= merged.len() > limit;
        merged.truncate(limit);
        let next = if more { merged.last().map(|e| e.seq) } else { None };
        Ok((merged, next))
    }
}
