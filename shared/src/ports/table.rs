//! The single-table port: one key-value table with a partition key, a sort key, three
//! overloaded global secondary indexes and a TTL attribute, in the shape of DynamoDB.
//!
//! Every repository is written once against [`Table`]; the DynamoDB adapter and the embedded
//! SQLite adapter both pass the same conformance suite (`testkit::table`), so the semantics
//! below are the contract, not a description of one backend.
//!
//! Semantics (both adapters):
//! - Items are JSON-like maps ([`Item`]). `PK`/`SK` are the table key; `GSInPK`/`GSInSK` place an
//!   item in index n (sparse: an item without them is not in that index); `ttl` is an epoch-second
//!   expiry.
//! - **TTL**: `get` and `query` never return an item whose `ttl` is at or before now. The backend
//!   deletes it later; until then a *condition* may still see it (as in DynamoDB), so conditions
//!   that care compare `ttl` explicitly ([`Cond::expired_or_absent`]).
//! - **Conditions** are evaluated atomically with the write. A failed condition on a single-item
//!   write is [`TableError::ConditionFailed`] carrying the item as it was (if any); in a transaction
//!   it is [`TableError::TransactionCanceled`] naming which operations failed, and nothing is written.
//! - `update` is an upsert (like DynamoDB's UpdateItem): without a condition it creates the item.
//!   It returns the item as it is after the update.
//! - **Queries** return items in sort-key order (index sort key, then table key, for an index),
//!   at most `limit` per page; `next_cursor` is `Some` exactly when more matching items exist.
//!   The cursor is opaque and only valid for the same query.
//! - Limits copied from DynamoDB so code that works locally works on AWS: an item is at most
//!   400 KB ([`MAX_ITEM_BYTES`], measured as its JSON encoding), a transaction has at most 100 operations
//!   ([`MAX_TRANSACTION_OPS`]) and touches each item once.

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const TTL: &str = "ttl";
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
pub const MAX_TRANSACTION_OPS: usize = 100;

/// A table key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// The overloaded global secondary indexes. What each one means for each entity is written
/// down in `store::keys` and `docs/data-model.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    pub const ALL: [Index; 3] = [Index::Gsi1, Index::Gsi2, Index::Gsi3];

    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1",
            Index::Gsi2 => "GSI2",
            Index::Gsi3 => "GSI3",
        }
    }
    pub fn pk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1PK",
            Index::Gsi2 => "GSI2PK",
            Index::Gsi3 => "GSI3PK",
        }
    }
    pub fn sk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1SK",
            Index::Gsi2 => "GSI2SK",
            Index::Gsi3 => "GSI3SK",
        }
    }
}

/// One item: a map of attribute names to JSON values (strings, numbers, booleans, null,
/// lists, maps). Numbers that must be exact (money, counters) are integers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item(pub Map<String, Value>);

impl Item {
    pub fn new(key: Key) -> Self {
        let mut m = Map::new();
        m.insert(PK.into(), Value::String(key.pk));
        m.insert(SK.into(), Value::String(key.sk));
        Item(m)
    }

    /// The entity's fields (it must serialize to a JSON object) plus the key.
    pub fn from_entity<T: Serialize>(key: Key, entity: &T) -> Result<Self, TableError> {
        let mut item = Item::new(key);
        match serde_json::to_value(entity).map_err(|e| TableError::Invalid(e.to_string()))? {
            Value::Object(fields) => {
                for (k, v) in fields {
                    item.0.entry(k).or_insert(v);
                }
                Ok(item)
            }
            _ => Err(TableError::Invalid("entity must serialize to an object".into())),
        }
    }

    /// Deserialize the entity back; key and index attributes are ignored by serde. Read from the
    /// map in place (serde_json's `&Map` deserializer), not from a clone of it: only the fields
    /// the entity keeps are copied.
    pub fn to_entity<T: DeserializeOwned>(&self) -> Result<T, TableError> {
        T::deserialize(&self.0).map_err(|e| TableError::Corrupt(e.to_string()))
    }

    pub fn with_index(mut self, index: Index, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.0.insert(index.pk_attr().into(), Value::String(pk.into()));
        self.0.insert(index.sk_attr().into(), Value::String(sk.into()));
        self
    }

    pub fn with_ttl(mut self, epoch_seconds: i64) -> Self {
        self.0.insert(TTL.into(), Value::from(epoch_seconds));
        self
    }

    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(name.into(), value.into());
        self
    }

    pub fn key(&self) -> Option<Key> {
        Some(Key::new(self.get_str(PK)?, self.get_str(SK)?))
    }
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }
    pub fn ttl(&self) -> Option<i64> {
        self.get_i64(TTL)
    }
    /// True when the item has a TTL at or before `now_epoch`.
    pub fn is_expired(&self, now_epoch: i64) -> bool {
        self.ttl().is_some_and(|t| t <= now_epoch)
    }
}

/// A condition on the item a write touches (DynamoDB's ConditionExpression, as data).
/// Comparisons against a missing attribute, or between different types, are false.
/// Numbers compare numerically, strings lexicographically by bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// The item exists (`attribute_exists(PK)`).
    Exists,
    /// No item with this key (`attribute_not_exists(PK)`).
    NotExists,
    AttrExists(String),
    AttrNotExists(String),
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    /// DynamoDB's `contains(a, :v)`: a string attribute containing the substring `v` (case
    /// sensitive), or a list attribute with an element equal to `v`. False for a missing
    /// attribute or any other type. `v` is a non-empty string, a number or a boolean.
    Contains(String, Value),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    pub fn eq(name: impl Into<String>, v: impl Into<Value>) -> Self {
        Cond::Eq(name.into(), v.into())
    }
    pub fn ge(name: impl Into<String>, v: impl Into<Value>) -> Self {
        Cond::Ge(name.into(), v.into())
    }
    pub fn lt(name: impl Into<String>, v: impl Into<Value>) -> Self {
        Cond::Lt(name.into(), v.into())
    }
    pub fn contains(name: impl Into<String>, v: impl Into<Value>) -> Self {
        Cond::Contains(name.into(), v.into())
    }
    /// Absent, or present but past its TTL (the backend has not deleted it yet).
    pub fn expired_or_absent(now_epoch: i64) -> Self {
        Cond::Or(vec![Cond::NotExists, Cond::Le(TTL.into(), Value::from(now_epoch))])
    }
}

/// An update expression (DynamoDB's UpdateExpression, as data). Attribute names are top-level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    /// `SET a = :v`
    pub set: Vec<(String, Value)>,
    /// `SET a = if_not_exists(a, :v)`
    pub set_if_absent: Vec<(String, Value)>,
    /// `ADD a :n` (a missing attribute counts as 0)
    pub add: Vec<(String, i64)>,
    /// `SET a = list_append(if_not_exists(a, []), :list)`
    pub append: Vec<(String, Vec<Value>)>,
    /// `REMOVE a`
    pub remove: Vec<String>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, name: impl Into<String>, v: impl Into<Value>) -> Self {
        self.set.push((name.into(), v.into()));
        self
    }
    pub fn set_if_absent(mut self, name: impl Into<String>, v: impl Into<Value>) -> Self {
        self.set_if_absent.push((name.into(), v.into()));
        self
    }
    pub fn add(mut self, name: impl Into<String>, n: i64) -> Self {
        self.add.push((name.into(), n));
        self
    }
    pub fn append(mut self, name: impl Into<String>, values: Vec<Value>) -> Self {
        self.append.push((name.into(), values));
        self
    }
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.remove.push(name.into());
        self
    }
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.set_if_absent.is_empty()
            && self.add.is_empty()
            && self.append.is_empty()
            && self.remove.is_empty()
    }
}

/// A condition on the sort key of a query (table SK, or the index SK).
#[derive(Clone, Debug, PartialEq)]
pub enum SkCond {
    Any,
    Eq(String),
    BeginsWith(String),
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// `None` queries the table itself.
    pub index: Option<Index>,
    pub pk: String,
    pub sk: SkCond,
    /// Ascending sort-key order when true.
    pub forward: bool,
    /// Page size, at least 1.
    pub limit: usize,
    pub cursor: Option<String>,
    /// Applied to matching items before they count toward `limit`.
    pub filter: Option<Cond>,
}

impl Query {
    pub fn table(pk: impl Into<String>) -> Self {
        Self { index: None, pk: pk.into(), sk: SkCond::Any, forward: true, limit: 100, cursor: None, filter: None }
    }
    pub fn index(index: Index, pk: impl Into<String>) -> Self {
        Self { index: Some(index), ..Self::table(pk) }
    }
    pub fn sk(mut self, sk: SkCond) -> Self {
        self.sk = sk;
        self
    }
    pub fn begins_with(self, prefix: impl Into<String>) -> Self {
        self.sk(SkCond::BeginsWith(prefix.into()))
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }
    pub fn cursor(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
    pub fn filter(mut self, cond: Cond) -> Self {
        self.filter = Some(cond);
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

/// One operation of a transaction. The condition applies to that operation's item.
#[derive(Clone, Debug, PartialEq)]
pub enum TxOp {
    Put { item: Item, cond: Option<Cond> },
    Update { key: Key, update: Update, cond: Option<Cond> },
    Delete { key: Key, cond: Option<Cond> },
    Check { key: Key, cond: Cond },
}

impl TxOp {
    pub fn key(&self) -> Option<Key> {
        match self {
            TxOp::Put { item, .. } => item.key(),
            TxOp::Update { key, .. } | TxOp::Delete { key, .. } | TxOp::Check { key, .. } => Some(key.clone()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A single-item write's condition did not hold; `current` is the item as it was.
    #[error("condition failed")]
    ConditionFailed { current: Option<Box<Item>> },
    /// A transaction was not applied. `failed_conditions` lists the indexes (in the submitted
    /// order) whose condition did not hold; empty when it was cancelled by a concurrent
    /// transaction on the same items (safe to retry).
    #[error("transaction canceled (failed conditions at {failed_conditions:?})")]
    TransactionCanceled { failed_conditions: Vec<usize> },
    #[error("item larger than 400 KB")]
    ItemTooLarge,
    /// A malformed request: a bug in the caller, not bad user input.
    #[error("invalid table request: {0}")]
    Invalid(String),
    /// The backend is throttling; retry with backoff.
    #[error("table throttled")]
    Throttled,
    #[error("table unavailable: {0}")]
    Unavailable(String),
    /// A stored item does not have the shape its repository expects.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

impl TableError {
    pub fn is_condition_failure(&self) -> bool {
        matches!(self, TableError::ConditionFailed { .. })
            || matches!(self, TableError::TransactionCanceled { failed_conditions } if !failed_conditions.is_empty())
    }
}

#[async_trait]
pub trait Table: Send + Sync + 'static {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError>;
    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError>;
    /// Deletes the item; returns it as it was, or `None` when there was none.
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError>;
    async fn query(&self, query: Query) -> Result<Page, TableError>;
    /// All or nothing. At most [`MAX_TRANSACTION_OPS`] operations, each on a different item.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError>;
}
