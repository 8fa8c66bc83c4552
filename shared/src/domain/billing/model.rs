//! The ledger's entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Credit,
    Debit,
    Refund,
    /// A correction by the platform (credits added by mistake): takes `amount` off the balance,
    /// with its reason in `description`.
    Adjustment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceType {
    Message,
    Campaign,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: ReferenceType,
    pub id: String,
}

impl Reference {
    pub fn message(id: impl Into<String>) -> Self {
        Self { kind: ReferenceType::Message, id: id.into() }
    }
    pub fn campaign(id: impl Into<String>) -> Self {
        Self { kind: ReferenceType::Campaign, id: id.into() }
    }
}

/// One ledger entry. `amount` is always positive; `kind` says which way it moved the balance.
/// `seq` is its position in the tenant's ledger (1 = first entry); entries sorted by `seq` chain:
/// each `balance_after` is the previous one plus or minus `amount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: String,
    pub seq: u64,
    pub kind: EntryKind,
    pub amount: Money,
    pub balance_after: Money,
    pub reference: Option<Reference>,
    pub description: Option<String>,
    pub at: DateTime<Utc>,
}

impl LedgerEntry {
    /// The entry's effect on the balance.
    pub fn signed_amount(&self) -> Money {
        match self.kind {
            EntryKind::Credit | EntryKind::Refund => self.amount,
            EntryKind::Debit | EntryKind::Adjustment => Money::from_units(-self.amount.units()),
        }
    }
}
