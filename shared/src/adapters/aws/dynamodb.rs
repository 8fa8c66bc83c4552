//! The single-table port on DynamoDB.
//!
//! Conditions and updates become DynamoDB expressions with `#n`/`:v` placeholders only (no
//! caller name or value is ever interpolated into an expression). Where DynamoDB's own rules
//! differ from the port's contract, the expression is shaped to match the contract:
//! `<>` and the ordering comparisons are guarded with `attribute_type`, because DynamoDB
//! evaluates `a <> :v` to true for a missing `a` while the contract says false. Expired items
//! (DynamoDB deletes them up to days later) are dropped from reads client-side.
//!
//! Reads of the table are strongly consistent; index queries cannot be (DynamoDB GSIs are
//! eventually consistent).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TransactWriteItem, Update as DdbUpdate,
};
use serde_json::{Map, Number, Value};

use crate::adapters::cursor::{self, CursorKey};
use crate::ports::table::{Cond, Index, Item, Key, PK, Page, Query, SK, SkCond, TTL, Table, TableError, TxOp, Update};

type AttrMap = HashMap<String, AttributeValue>;

/// The attribute an empty update removes (see [`Expr::update`]); no item ever has it.
const NOOP_ATTR: &str = "__miping_noop__";

pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self { client, table: table_name.into() }
    }
}

/// Creates the single-table schema (string `PK`/`SK`, `GSI1`..`GSI3` on `GSInPK`/`GSInSK` with
/// every attribute projected, on-demand billing), waits until it is active and enables TTL on
/// `ttl`. Used by tests and local tooling; the SAM template creates the production table.
pub async fn create_table(client: &Client, name: &str) -> Result<(), TableError> {
    let mut attrs = vec![attr_def(PK)?, attr_def(SK)?];
    let mut gsis = Vec::new();
    for ix in Index::ALL {
        attrs.push(attr_def(ix.pk_attr())?);
        attrs.push(attr_def(ix.sk_attr())?);
        gsis.push(
            GlobalSecondaryIndex::builder()
                .index_name(ix.name())
                .key_schema(key_elem(ix.pk_attr(), KeyType::Hash)?)
                .key_schema(key_elem(ix.sk_attr(), KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(build_err)?,
        );
    }
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attrs))
        .key_schema(key_elem(PK, KeyType::Hash)?)
        .key_schema(key_elem(SK, KeyType::Range)?)
        .set_global_secondary_indexes(Some(gsis))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(sdk_err)?;
    wait_active(client, name).await?;
    let ttl = TimeToLiveSpecification::builder().enabled(true).attribute_name(TTL).build().map_err(build_err)?;
    client.update_time_to_live().table_name(name).time_to_live_specification(ttl).send().await.map_err(sdk_err)?;
    Ok(())
}

/// TTL can only be enabled on an active table; a new table takes seconds on AWS.
async fn wait_active(client: &Client, name: &str) -> Result<(), TableError> {
    for _ in 0..120 {
        let out = client.describe_table().table_name(name).send().await.map_err(sdk_err)?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(TableError::Unavailable(format!("table {name} did not become active")))
}

fn attr_def(name: &str) -> Result<AttributeDefinition, TableError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_err)
}

fn key_elem(name: &str, key_type: KeyType) -> Result<KeySchemaElement, TableError> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(build_err)
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> TableError {
    TableError::Invalid(e.to_string())
}

fn now_epoch() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

// ---- JSON <-> AttributeValue -----------------------------------------------------------------

pub(crate) fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(l) => AttributeValue::L(l.iter().map(to_av).collect()),
        Value::Object(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
    }
}

pub(crate) fn from_av(av: &AttributeValue) -> Result<Value, TableError> {
    Ok(match av {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => parse_number(n)?,
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_av).collect::<Result<_, _>>()?),
        AttributeValue::M(m) => {
            Value::Object(m.iter().map(|(k, v)| Ok((k.clone(), from_av(v)?))).collect::<Result<_, TableError>>()?)
        }
        other => return Err(TableError::Corrupt(format!("unsupported attribute type {other:?}"))),
    })
}

/// Integral numbers come back as i64 (DynamoDB normalises `1.0` to `"1"`, moto may keep
/// `"1.0"`), large unsigned ones as u64, everything else as f64.
fn parse_number(n: &str) -> Result<Value, TableError> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(Value::from(u));
    }
    let f: f64 = n.parse().map_err(|_| TableError::Corrupt(format!("bad number {n}")))?;
    if f.fract() == 0.0 && f.abs() < 9.0e18 {
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number).ok_or_else(|| TableError::Corrupt(format!("bad number {n}")))
}

fn to_attr_map(item: &Item) -> AttrMap {
    item.0.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()
}

fn from_attr_map(map: &AttrMap) -> Result<Item, TableError> {
    let fields: Map<String, Value> =
        map.iter().map(|(k, v)| Ok((k.clone(), from_av(v)?))).collect::<Result<_, TableError>>()?;
    Ok(Item(fields))
}

fn key_map(key: &Key) -> AttrMap {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

// ---- expressions -------------------------------------------------------------------------

/// Placeholders for one request: `#n0..` for names (one per distinct name), `:v0..` for values.
#[derive(Default)]
pub(crate) struct Expr {
    names: AttrNames,
    values: AttrMap,
}

#[derive(Default)]
struct AttrNames {
    by_name: HashMap<String, String>,
}

impl Expr {
    pub(crate) fn name(&mut self, name: &str) -> String {
        let next = format!("#n{}", self.names.by_name.len());
        self.names.by_name.entry(name.to_owned()).or_insert(next).clone()
    }

    pub(crate) fn value(&mut self, v: AttributeValue) -> String {
        let ph = format!(":v{}", self.values.len());
        self.values.insert(ph.clone(), v);
        ph
    }

    /// The placeholder maps, `None` when empty (DynamoDB rejects empty maps).
    fn into_maps(self) -> (Option<HashMap<String, String>>, Option<AttrMap>) {
        let names: HashMap<String, String> = self.names.by_name.into_iter().map(|(name, ph)| (ph, name)).collect();
        ((!names.is_empty()).then_some(names), (!self.values.is_empty()).then_some(self.values))
    }

    pub(crate) fn cond(&mut self, cond: &Cond) -> String {
        match cond {
            Cond::Exists => format!("attribute_exists({})", self.name(PK)),
            Cond::NotExists => format!("attribute_not_exists({})", self.name(PK)),
            Cond::AttrExists(n) => format!("attribute_exists({})", self.name(n)),
            Cond::AttrNotExists(n) => format!("attribute_not_exists({})", self.name(n)),
            // `=` is already false for a missing attribute or another type.
            Cond::Eq(n, v) => format!("{} = {}", self.name(n), self.value(to_av(v))),
            Cond::Ne(n, v) => self.typed_cmp(n, "<>", v),
            Cond::Lt(n, v) => self.typed_cmp(n, "<", v),
            Cond::Le(n, v) => self.typed_cmp(n, "<=", v),
            Cond::Gt(n, v) => self.typed_cmp(n, ">", v),
            Cond::Ge(n, v) => self.typed_cmp(n, ">=", v),
            // DynamoDB's own semantics already match the contract (false when missing).
            Cond::Contains(n, v) => format!("contains({}, {})", self.name(n), self.value(to_av(v))),
            Cond::And(cs) => self.join(cs, " AND "),
            Cond::Or(cs) => self.join(cs, " OR "),
            Cond::Not(c) => format!("NOT ({})", self.cond(c)),
        }
    }

    /// `a OP :v` only when `a` exists with `:v`'s type (false otherwise, per the contract).
    fn typed_cmp(&mut self, n: &str, op: &str, v: &Value) -> String {
        let name = self.name(n);
        let ty = self.value(AttributeValue::S(type_code(v).to_owned()));
        let val = self.value(to_av(v));
        format!("attribute_type({name}, {ty}) AND {name} {op} {val}")
    }

    /// Children are parenthesised once each; a lone child is not, so no expression is ever
    /// wrapped twice (DynamoDB rejects "redundant parentheses").
    fn join(&mut self, cs: &[Cond], sep: &str) -> String {
        if let [only] = cs {
            return self.cond(only);
        }
        let parts: Vec<String> = cs.iter().map(|c| format!("({})", self.cond(c))).collect();
        parts.join(sep)
    }

    /// The update expression. An empty update still upserts the key: it becomes the removal of
    /// an attribute no item has, because moto fails on an UpdateItem without an expression
    /// and a transaction's Update requires one.
    pub(crate) fn update(&mut self, u: &Update) -> String {
        if u.is_empty() {
            return format!("REMOVE {}", self.name(NOOP_ATTR));
        }
        let mut set = Vec::new();
        for (n, v) in &u.set {
            set.push(format!("{} = {}", self.name(n), self.value(to_av(v))));
        }
        for (n, v) in &u.set_if_absent {
            let name = self.name(n);
            set.push(format!("{name} = if_not_exists({name}, {})", self.value(to_av(v))));
        }
        for (n, values) in &u.append {
            let name = self.name(n);
            let empty = self.value(AttributeValue::L(Vec::new()));
            let list = self.value(AttributeValue::L(values.iter().map(to_av).collect()));
            set.push(format!("{name} = list_append(if_not_exists({name}, {empty}), {list})"));
        }
        let add: Vec<String> = u
            .add
            .iter()
            .map(|(n, d)| format!("{} {}", self.name(n), self.value(AttributeValue::N(d.to_string()))))
            .collect();
        let remove: Vec<String> = u.remove.iter().map(|n| self.name(n)).collect();
        let clauses: Vec<String> = [("SET", set), ("ADD", add), ("REMOVE", remove)]
            .into_iter()
            .filter(|(_, parts)| !parts.is_empty())
            .map(|(kw, parts)| format!("{kw} {}", parts.join(", ")))
            .collect();
        clauses.join(" ")
    }

    /// The key condition of a query on the table or an index.
    pub(crate) fn key_cond(&mut self, q: &Query) -> String {
        let (pk_attr, sk_attr) = q.index.map_or((PK, SK), |ix| (ix.pk_attr(), ix.sk_attr()));
        let pk = format!("{} = {}", self.name(pk_attr), self.value(AttributeValue::S(q.pk.clone())));
        if q.sk == SkCond::Any {
            return pk;
        }
        let s = |e: &mut Self, v: &String| e.value(AttributeValue::S(v.clone()));
        // Named only when used: DynamoDB rejects unused placeholders.
        let sk = self.name(sk_attr);
        let sk_cond = match &q.sk {
            SkCond::Any => return pk,
            SkCond::Eq(v) => format!("{sk} = {}", s(self, v)),
            SkCond::BeginsWith(v) => format!("begins_with({sk}, {})", s(self, v)),
            SkCond::Between(a, b) => {
                let (a, b) = (s(self, a), s(self, b));
                format!("{sk} BETWEEN {a} AND {b}")
            }
            SkCond::Lt(v) => format!("{sk} < {}", s(self, v)),
            SkCond::Le(v) => format!("{sk} <= {}", s(self, v)),
            SkCond::Gt(v) => format!("{sk} > {}", s(self, v)),
            SkCond::Ge(v) => format!("{sk} >= {}", s(self, v)),
        };
        format!("{pk} AND {sk_cond}")
    }
}

/// DynamoDB's type code for `attribute_type` (the JSON type as stored by [`to_av`]).
fn type_code(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOL",
        Value::Number(_) => "N",
        Value::String(_) => "S",
        Value::Array(_) => "L",
        Value::Object(_) => "M",
    }
}

// ---- errors --------------------------------------------------------------------------------

/// Maps an SDK error by its DynamoDB error code.
fn sdk_err<E, R>(err: SdkError<E, R>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let message = err.message().unwrap_or_default().to_owned();
    match err.code() {
        Some("ConditionalCheckFailedException") => TableError::ConditionFailed { current: None },
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
            TableError::Throttled
        }
        // A single-item write racing a transaction on the same item: retryable, like throttling.
        Some("TransactionConflictException") => TableError::Throttled,
        Some("ValidationException") if is_size_error(&message) => TableError::ItemTooLarge,
        Some("ValidationException") => TableError::Invalid(message),
        _ => TableError::Unavailable(DisplayErrorContext(&err).to_string()),
    }
}

fn is_size_error(message: &str) -> bool {
    message.contains("size") && message.contains("exceeded")
}

/// A conditional single-item write that failed its condition carries the old item (ALL_OLD).
fn condition_failed(item: Option<&AttrMap>) -> TableError {
    match item.map(from_attr_map).transpose() {
        Ok(current) => TableError::ConditionFailed { current: current.map(Box::new) },
        Err(e) => e,
    }
}

fn transaction_err(err: SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>) -> TableError {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => canceled(e.cancellation_reasons()),
        _ => sdk_err(err),
    }
}

/// Maps the per-operation cancellation reasons (one per submitted operation, in order).
fn canceled(reasons: &[CancellationReason]) -> TableError {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    let failed: Vec<usize> =
        codes.iter().enumerate().filter(|(_, c)| **c == "ConditionalCheckFailed").map(|(i, _)| i).collect();
    // A conflict with another transaction carries no failed condition: the caller may retry.
    if !failed.is_empty() || codes.contains(&"TransactionConflict") {
        return TableError::TransactionCanceled { failed_conditions: failed };
    }
    if codes.iter().any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"))
    {
        return TableError::Throttled;
    }
    let messages: Vec<&str> = reasons.iter().filter_map(|r| r.message()).collect();
    if messages.iter().any(|m| is_size_error(m)) {
        return TableError::ItemTooLarge;
    }
    if codes.contains(&"ValidationError") {
        return TableError::Invalid(messages.join("; "));
    }
    TableError::Unavailable(format!("transaction canceled: {codes:?}"))
}

// ---- transactions ----------------------------------------------------------------------------

impl DynamoTable {
    fn tx_item(&self, op: &TxOp) -> Result<TransactWriteItem, TableError> {
        let mut e = Expr::default();
        let item = match op {
            TxOp::Put { item, cond } => {
                let cond = cond.as_ref().map(|c| e.cond(c));
                let (names, values) = e.into_maps();
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attr_map(item)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().put(put).build()
            }
            TxOp::Update { key, update, cond } => {
                let expr = e.update(update);
                let cond = cond.as_ref().map(|c| e.cond(c));
                let (names, values) = e.into_maps();
                let upd = DdbUpdate::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .update_expression(expr)
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().update(upd).build()
            }
            TxOp::Delete { key, cond } => {
                let cond = cond.as_ref().map(|c| e.cond(c));
                let (names, values) = e.into_maps();
                let del = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().delete(del).build()
            }
            TxOp::Check { key, cond } => {
                let cond = e.cond(cond);
                let (names, values) = e.into_maps();
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        };
        Ok(item)
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        cursor::validate_key(key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        let item = out.item().map(from_attr_map).transpose()?;
        Ok(item.filter(|i| !i.is_expired(now_epoch())))
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError> {
        cursor::validate_item(&item)?;
        cond.as_ref().map_or(Ok(()), cursor::validate_cond)?;
        let mut e = Expr::default();
        let cond = cond.as_ref().map(|c| e.cond(c));
        let (names, values) = e.into_maps();
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attr_map(&item)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(e)) => Err(condition_failed(e.item())),
                _ => Err(sdk_err(err)),
            },
        }
    }

    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError> {
        cursor::validate_key(key)?;
        cursor::validate_update(&update)?;
        cond.as_ref().map_or(Ok(()), cursor::validate_cond)?;
        let mut e = Expr::default();
        let expr = e.update(&update);
        let cond = cond.as_ref().map(|c| e.cond(c));
        let (names, values) = e.into_maps();
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .update_expression(expr)
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => match out.attributes() {
                Some(attrs) => from_attr_map(attrs),
                // An empty update of a missing item creates it with only its key.
                None => Ok(Item::new(key.clone())),
            },
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => Err(condition_failed(e.item())),
                _ => Err(sdk_err(err)),
            },
        }
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError> {
        cursor::validate_key(key)?;
        cond.as_ref().map_or(Ok(()), cursor::validate_cond)?;
        let mut e = Expr::default();
        let cond = cond.as_ref().map(|c| e.cond(c));
        let (names, values) = e.into_maps();
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => {
                let old = out.attributes().filter(|a| !a.is_empty()).map(from_attr_map).transpose()?;
                // An expired item is already gone as far as reads are concerned.
                Ok(old.filter(|i| !i.is_expired(now_epoch())))
            }
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(e)) => Err(condition_failed(e.item())),
                _ => Err(sdk_err(err)),
            },
        }
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        cursor::validate_query(&query)?;
        let mut start = match &query.cursor {
            Some(c) => Some(cursor_start_key(&CursorKey::decode(c, &query)?, query.index)),
            None => None,
        };
        let now = now_epoch();
        let mut items = Vec::new();
        // DynamoDB applies `Limit` before the filter and the TTL check, so read until one item
        // more than the page is found (proving another page exists) or the partition ends.
        loop {
            let mut e = Expr::default();
            let key_cond = e.key_cond(&query);
            let filter = query.filter.as_ref().map(|f| e.cond(f));
            let (names, values) = e.into_maps();
            let want = (query.limit.saturating_add(1) - items.len()).min(i32::MAX as usize) as i32;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.map(|ix| ix.name().to_owned()))
                .consistent_read(query.index.is_none())
                .key_condition_expression(key_cond)
                .set_filter_expression(filter)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .scan_index_forward(query.forward)
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_err)?;
            for raw in out.items() {
                let item = from_attr_map(raw)?;
                if !item.is_expired(now) {
                    items.push(item);
                }
            }
            match out.last_evaluated_key() {
                Some(lek) if items.len() <= query.limit => start = Some(lek.clone()),
                _ => break,
            }
        }
        let next_cursor = if items.len() > query.limit {
            items.truncate(query.limit);
            let last = items.last().ok_or_else(|| TableError::Invalid("query limit must be at least 1".into()))?;
            Some(CursorKey::of(last, query.index)?.encode(query.index))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        cursor::validate_transaction(&ops)?;
        let items = ops.iter().map(|op| self.tx_item(op)).collect::<Result<Vec<_>, _>>()?;
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(transaction_err)?;
        Ok(())
    }
}

fn cursor_start_key(key: &CursorKey, index: Option<Index>) -> AttrMap {
    key.attributes(index).into_iter().map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attribute_values() {
        let v = json!({"s": "", "i": -7, "f": 1.5, "b": true, "n": null, "l": [1, "x", [], {}], "m": {"k": {"z": 2}}});
        assert_eq!(from_av(&to_av(&v)).unwrap(), v);
        assert_eq!(parse_number("1.0").unwrap(), json!(1));
        assert_eq!(parse_number("18446744073709551615").unwrap(), json!(u64::MAX));
    }

    #[test]
    fn expressions_use_placeholders_only() {
        let mut e = Expr::default();
        let c = e.cond(&Cond::And(vec![Cond::NotExists, Cond::Ne("a b".into(), json!("x")), Cond::eq("a b", 1)]));
        assert_eq!(c, "(attribute_not_exists(#n0)) AND (attribute_type(#n1, :v0) AND #n1 <> :v1) AND (#n1 = :v2)");
        assert_eq!(e.cond(&Cond::And(vec![Cond::And(vec![Cond::Exists])])), "attribute_exists(#n0)");
        let u = e.update(&Update::new().set("x", 1).add("c", -1).append("l", vec![json!(1)]).remove("r"));
        assert_eq!(u, "SET #n2 = :v3, #n3 = list_append(if_not_exists(#n3, :v4), :v5) ADD #n4 :v6 REMOVE #n5");
        let (names, values) = e.into_maps();
        assert_eq!(names.unwrap().get("#n1").map(String::as_str), Some("a b"));
        assert_eq!(values.unwrap().len(), 7);
    }

    #[test]
    fn cancellation_reasons_map_to_errors() {
        let reason = |code: &str, msg: Option<&str>| {
            CancellationReason::builder().code(code).set_message(msg.map(str::to_owned)).build()
        };
        let none = reason("None", None);
        let ccf = reason("ConditionalCheckFailed", Some("The conditional request failed"));
        let conflict = reason("TransactionConflict", None);
        assert!(
            matches!(canceled(&[none.clone(), ccf.clone(), conflict.clone(), ccf]), TableError::TransactionCanceled { failed_conditions } if failed_conditions == [1, 3])
        );
        assert!(
            matches!(canceled(&[none.clone(), conflict]), TableError::TransactionCanceled { failed_conditions } if failed_conditions.is_empty())
        );
        assert!(matches!(canceled(&[reason("ThrottlingError", None), none.clone()]), TableError::Throttled));
        let big = reason("ValidationError", Some("Item size to update has exceeded the maximum allowed size"));
        assert!(matches!(canceled(&[none.clone(), big]), TableError::ItemTooLarge));
        assert!(matches!(canceled(&[reason("ValidationError", Some("bad")), none]), TableError::Invalid(_)));
    }

    #[test]
    fn empty_update_removes_the_noop_attribute() {
        assert_eq!(Expr::default().update(&Update::new()), "REMOVE #n0");
    }
}
