//! The single-table port on SQLite, for the local process.
//!
//! One `items` table keyed by (pk, sk) holds each item as JSON text, with the index key
//! attributes and the TTL copied into columns so queries run on SQLite indexes. Conditions and
//! updates are evaluated in Rust: every write runs on the one writer thread that holds the only
//! read-write connection ([`Sqlite::grouped`]), so reading the item, evaluating the condition and
//! writing the result inside one SQLite transaction is atomic, as DynamoDB's conditional writes are.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params, params_from_iter};
use serde_json::Value;

use super::sqlite::Sqlite;
use crate::adapters::cursor::{self, CursorKey};
use crate::ports::table::{Cond, Index, Item, Key, Page, Query, SkCond, Table, TableError, TxOp, Update};
use crate::telemetry::stages::{self, Stage};

/// The `items` table's columns and key: one definition for [`SCHEMA`] and [`migrate`].
macro_rules! items_columns {
    () => {
        "pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    data TEXT NOT NULL,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    gsi3pk TEXT, gsi3sk TEXT,
    ttl INTEGER,
    PRIMARY KEY (pk, sk)"
    };
}

/// A rowid table with (pk, sk) as its unique key, not a `WITHOUT ROWID` table: there the whole
/// row is the B-tree's key, so a message item's kilobyte or two of JSON sits in the B-tree's
/// cells, spills to overflow pages, and every seek by (pk, sk) read each cell it compared with
/// in full into a fresh buffer (`sqlite3BtreeIndexMoveto` → `accessPayload` + malloc: ~750 k
/// instructions per `trigger-message`, ~280 k per `POST /messages`). Now the (pk, sk) index
/// holds the short keys and the rows live in the rowid B-tree. [`migrate`] moves a table of
/// the old shape over once.
const SCHEMA: &str = concat!(
    "CREATE TABLE IF NOT EXISTS items (",
    items_columns!(),
    ");
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi3 ON items (gsi3pk, gsi3sk, pk, sk) WHERE gsi3pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_ttl ON items (ttl) WHERE ttl IS NOT NULL;
"
);

/// Moves a `WITHOUT ROWID` `items` table (data directories from before the rowid table, see
/// [`SCHEMA`]) into a rowid table of the same columns and rows, in one transaction; the indexes
/// go with the old table and [`SCHEMA`] creates them again. Nothing to do otherwise.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let without_rowid: Option<bool> = conn
        .query_row("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = 'items'", [], |r| r.get(0))
        .optional()?;
    if without_rowid != Some(true) {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(concat!(
        "CREATE TABLE items_rowid (",
        items_columns!(),
        ");
         INSERT INTO items_rowid (pk, sk, data, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, ttl)
             SELECT pk, sk, data, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, ttl FROM items ORDER BY pk, sk;
         DROP TABLE items;
         ALTER TABLE items_rowid RENAME TO items;"
    ))?;
    tx.commit()
}

/// How often (seconds) a write also deletes expired rows; reads hide them in the meantime.
const PURGE_INTERVAL_SECS: i64 = 60;

#[derive(Clone)]
pub struct SqliteTable {
    db: Sqlite,
    /// Epoch second of the last purge of expired rows.
    last_purge: Arc<AtomicI64>,
}

pub use super::sqlite::MAX_GROUP;

/// Read-only connections by default: gets and queries run beside the writer's group commits.
pub const READERS: usize = 2;

/// The largest page (without a filter) read on the calling thread rather than the blocking pool.
const SHORT_QUERY_LIMIT: usize = 16;

impl SqliteTable {
    /// Opens (creating if needed) the table database at `path`.
    pub fn open(path: &Path) -> Result<Self, TableError> {
        Self::open_with_readers(path, READERS)
    }

    /// [`SqliteTable::open`] with `readers` read-only connections for gets and queries (0: they
    /// share the writer's connection).
    pub fn open_with_readers(path: &Path, readers: usize) -> Result<Self, TableError> {
        if path.exists() {
            migrate(&mut Connection::open(path).map_err(sql_err)?).map_err(sql_err)?;
        }
        let db = Sqlite::open_with_readers(path, SCHEMA, readers).map_err(sql_err)?;
        Ok(Self { db, last_purge: Arc::new(AtomicI64::new(0)) })
    }

    /// At most `n` writes per group commit (at least 1; 1 turns group commit off).
    pub fn with_max_group(self, n: usize) -> Self {
        self.db.set_max_group(n);
        self
    }

    /// How many group commits ran (tests: writes that arrive together share one).
    pub fn group_commits(&self) -> u64 {
        self.db.group_commits()
    }

    /// Runs `f` as one write of a group commit ([`Sqlite::grouped`]): its own savepoint inside
    /// a transaction shared with the writes that arrived with it, answered after the COMMIT.
    async fn write<R, F>(&self, f: F) -> Result<R, TableError>
    where
        F: FnOnce(&Connection, i64) -> Result<R, TableError> + Send + 'static,
        R: Send + 'static,
    {
        let now = now_epoch();
        let purge = self.purge_due(now);
        let started = stages::start();
        let out = self
            .db
            .grouped(
                move |conn| {
                    if purge {
                        conn.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl <= ?1", params![now])
                            .map_err(sql_err)?;
                    }
                    f(conn, now)
                },
                sql_err,
            )
            .await;
        stages::finish(Stage::TableWrite, started);
        out
    }

    /// True for one caller per interval (the one that wins the compare-exchange).
    fn purge_due(&self, now: i64) -> bool {
        let last = self.last_purge.load(AtomicOrdering::Relaxed);
        now - last >= PURGE_INTERVAL_SECS
            && self.last_purge.compare_exchange(last, now, AtomicOrdering::Relaxed, AtomicOrdering::Relaxed).is_ok()
    }
}

fn now_epoch() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn sql_err(e: rusqlite::Error) -> TableError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => TableError::Throttled,
        _ => TableError::Unavailable(e.to_string()),
    }
}

// ---- rows ------------------------------------------------------------------------------

fn parse_item(data: &str) -> Result<Item, TableError> {
    match serde_json::from_str(data).map_err(|e| TableError::Corrupt(e.to_string()))? {
        Value::Object(map) => Ok(Item(map)),
        _ => Err(TableError::Corrupt("stored item is not a JSON object".into())),
    }
}

/// The stored item, expired or not (conditions see expired items, as in DynamoDB).
fn load(conn: &Connection, key: &Key) -> Result<Option<Item>, TableError> {
    // Cached statements: a bulk transaction runs these hundreds of thousands of times, and
    // compiling the SQL each time cost more than running it.
    let mut stmt = conn.prepare_cached("SELECT data FROM items WHERE pk = ?1 AND sk = ?2").map_err(sql_err)?;
    let data: Option<String> = stmt.query_row(params![key.pk, key.sk], |r| r.get(0)).optional().map_err(sql_err)?;
    data.as_deref().map(parse_item).transpose()
}

/// The index key columns of `item` for `index`: both attributes, or none (sparse index).
fn index_columns(item: &Item, index: Index) -> (Option<&str>, Option<&str>) {
    match (item.get_str(index.pk_attr()), item.get_str(index.sk_attr())) {
        (Some(p), Some(s)) => (Some(p), Some(s)),
        _ => (None, None),
    }
}

const STORE_SQL: &str =
    "INSERT OR REPLACE INTO items (pk, sk, data, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, ttl)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// The item's JSON as stored, checked as [`cursor::validate_item`] checks an item: written out
/// once, its length is the size measure (it used to be written out twice: once to measure it,
/// once to store it).
fn encode(item: &Item) -> Result<String, TableError> {
    cursor::validate_item_attrs(item)?;
    let data = serde_json::to_string(&item.0).map_err(|e| TableError::Invalid(e.to_string()))?;
    cursor::check_size(data.len())?;
    Ok(data)
}

/// Stores `item` as `data`, its JSON from [`encode`].
fn store(conn: &Connection, item: &Item, data: &str) -> Result<(), TableError> {
    let key = item.key().ok_or_else(|| TableError::Invalid("item without a key".into()))?;
    let (g1p, g1s) = index_columns(item, Index::Gsi1);
    let (g2p, g2s) = index_columns(item, Index::Gsi2);
    let (g3p, g3s) = index_columns(item, Index::Gsi3);
    let mut stmt = conn.prepare_cached(STORE_SQL).map_err(sql_err)?;
    stmt.execute(params![key.pk, key.sk, data, g1p, g1s, g2p, g2s, g3p, g3s, item.ttl()]).map_err(sql_err)?;
    Ok(())
}

fn remove(conn: &Connection, key: &Key) -> Result<(), TableError> {
    let mut stmt = conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2").map_err(sql_err)?;
    stmt.execute(params![key.pk, key.sk]).map_err(sql_err)?;
    Ok(())
}

/// Fails with `ConditionFailed` (carrying the current item) when `cond` does not hold.
fn check(cond: Option<&Cond>, current: &Option<Item>) -> Result<(), TableError> {
    match cond {
        Some(c) if !eval(c, current.as_ref()) => {
            Err(TableError::ConditionFailed { current: current.clone().map(Box::new) })
        }
        _ => Ok(()),
    }
}

// ---- conditions --------------------------------------------------------------------------

/// Evaluates a condition on the item as stored (`None`: no item), with DynamoDB's rules:
/// a comparison with a missing attribute or a value of another type is false.
pub(crate) fn eval(cond: &Cond, item: Option<&Item>) -> bool {
    let attr = |n: &str| item.and_then(|i| i.get(n));
    let cmp = |n: &str, v: &Value| attr(n).and_then(|a| compare(a, v));
    match cond {
        Cond::Exists => item.is_some(),
        Cond::NotExists => item.is_none(),
        Cond::AttrExists(n) => attr(n).is_some(),
        Cond::AttrNotExists(n) => attr(n).is_none(),
        Cond::Eq(n, v) => cmp(n, v).is_some_and(|o| o.is_eq()),
        Cond::Ne(n, v) => cmp(n, v).is_some_and(|o| o.is_ne()),
        Cond::Lt(n, v) => ordered(attr(n), v).is_some_and(|o| o.is_lt()),
        Cond::Le(n, v) => ordered(attr(n), v).is_some_and(|o| o.is_le()),
        Cond::Gt(n, v) => ordered(attr(n), v).is_some_and(|o| o.is_gt()),
        Cond::Ge(n, v) => ordered(attr(n), v).is_some_and(|o| o.is_ge()),
        Cond::Contains(n, v) => match (attr(n), v) {
            (Some(Value::String(a)), Value::String(sub)) => a.contains(sub.as_str()),
            (Some(Value::Array(list)), v) => list.iter().any(|e| compare(e, v).is_some_and(|o| o.is_eq())),
            _ => false,
        },
        Cond::And(cs) => cs.iter().all(|c| eval(c, item)),
        Cond::Or(cs) => cs.iter().any(|c| eval(c, item)),
        Cond::Not(c) => !eval(c, item),
    }
}

/// Ordering comparisons exist only between two numbers or two strings.
fn ordered(a: Option<&Value>, b: &Value) -> Option<std::cmp::Ordering> {
    match (a?, b) {
        (x @ Value::Number(_), y @ Value::Number(_)) | (x @ Value::String(_), y @ Value::String(_)) => compare(x, y),
        _ => None,
    }
}

/// `None` when the values have different types (or are incomparable); for lists and maps only
/// equality is meaningful (`Equal` or `Less` standing for "different").
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::{Equal, Less};
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(if x == y { Equal } else { Less }),
        (Value::Null, Value::Null) => Some(Equal),
        (Value::Array(x), Value::Array(y)) => {
            let same = x.len() == y.len() && x.iter().zip(y).all(|(p, q)| compare(p, q).is_some_and(|o| o.is_eq()));
            Some(if same { Equal } else { Less })
        }
        (Value::Object(x), Value::Object(y)) => {
            let same = x.len() == y.len()
                && x.iter().all(|(k, p)| y.get(k).and_then(|q| compare(p, q)).is_some_and(|o| o.is_eq()));
            Some(if same { Equal } else { Less })
        }
        _ => None,
    }
}

// ---- updates ----------------------------------------------------------------------------

/// Applies `update` to the stored item (or a new one holding only the key: upsert), with
/// DynamoDB's typing rules: `ADD` needs a number, `list_append` a list.
pub(crate) fn apply_update(current: Option<Item>, key: &Key, update: &Update) -> Result<Item, TableError> {
    let mut item = current.unwrap_or_else(|| Item::new(key.clone()));
    for (n, v) in &update.set {
        item.0.insert(n.clone(), v.clone());
    }
    for (n, v) in &update.set_if_absent {
        item.0.entry(n.clone()).or_insert_with(|| v.clone());
    }
    for (n, delta) in &update.add {
        let sum = match item.get(n) {
            None => Value::from(*delta),
            Some(Value::Number(x)) => match x.as_i64() {
                Some(x) => {
                    Value::from(x.checked_add(*delta).ok_or_else(|| TableError::Invalid(format!("ADD overflows {n}")))?)
                }
                None => Value::from(x.as_f64().unwrap_or(0.0) + *delta as f64),
            },
            Some(_) => return Err(TableError::Invalid(format!("ADD on non-number attribute {n}"))),
        };
        item.0.insert(n.clone(), sum);
    }
    for (n, values) in &update.append {
        match item.0.entry(n.clone()).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(list) => list.extend(values.iter().cloned()),
            _ => return Err(TableError::Invalid(format!("list_append on non-list attribute {n}"))),
        }
    }
    for n in &update.remove {
        item.0.remove(n);
    }
    // Checked (`encode`) when it is stored.
    Ok(item)
}

// ---- queries ----------------------------------------------------------------------------

/// SQL for one query page. Column names come from fixed lists, never from the caller; every
/// value is a bound parameter.
struct QuerySql {
    sql: String,
    params: Vec<SqlValue>,
}

impl QuerySql {
    fn bind(&mut self, v: impl Into<SqlValue>) -> String {
        self.params.push(v.into());
        format!("?{}", self.params.len())
    }
}

fn index_cols(index: Option<Index>) -> (&'static str, &'static str) {
    match index {
        None => ("pk", "sk"),
        Some(Index::Gsi1) => ("gsi1pk", "gsi1sk"),
        Some(Index::Gsi2) => ("gsi2pk", "gsi2sk"),
        Some(Index::Gsi3) => ("gsi3pk", "gsi3sk"),
    }
}

fn build_query(q: &Query, after: Option<&CursorKey>, now: i64) -> QuerySql {
    let (pcol, scol) = index_cols(q.index);
    let mut s = QuerySql { sql: String::new(), params: Vec::new() };
    let p = s.bind(q.pk.clone());
    let t = s.bind(now);
    // `CAST(? AS TEXT)`, not a bare parameter: with a bare `col = ?` SQLite's planner looks at the
    // bound value while it checks the partial indexes, and a statement planned with a bound
    // value is compiled again on every use (sqlite3_stmt_status REPREPARE) — which cost more than
    // running the query. The cast changes nothing else: the column is TEXT, and the index on it
    // still serves the equality (see `tests::queries_are_compiled_once`).
    let mut sql = format!("SELECT data FROM items WHERE {pcol} = CAST({p} AS TEXT) AND (ttl IS NULL OR ttl > {t})");
    match &q.sk {
        SkCond::Any => {}
        SkCond::Eq(v) => sql += &format!(" AND {scol} = {}", s.bind(v.clone())),
        SkCond::BeginsWith(v) => {
            let b = s.bind(v.clone());
            // The range term lets SQLite seek in the index; substr makes it exact.
            sql += &format!(" AND {scol} >= {b} AND substr({scol}, 1, length({b})) = {b}");
        }
        SkCond::Between(a, b) => sql += &format!(" AND {scol} BETWEEN {} AND {}", s.bind(a.clone()), s.bind(b.clone())),
        SkCond::Lt(v) => sql += &format!(" AND {scol} < {}", s.bind(v.clone())),
        SkCond::Le(v) => sql += &format!(" AND {scol} <= {}", s.bind(v.clone())),
        SkCond::Gt(v) => sql += &format!(" AND {scol} > {}", s.bind(v.clone())),
        SkCond::Ge(v) => sql += &format!(" AND {scol} >= {}", s.bind(v.clone())),
    }
    let op = if q.forward { ">" } else { "<" };
    let dir = if q.forward { "ASC" } else { "DESC" };
    match (after, q.index) {
        (Some(c), None) => sql += &format!(" AND sk {op} {}", s.bind(c.sk.clone())),
        (Some(c), Some(_)) => {
            let isk = c.index_key.as_ref().map_or(String::new(), |(_, isk)| isk.clone());
            let (a, b, d) = (s.bind(isk), s.bind(c.pk.clone()), s.bind(c.sk.clone()));
            sql += &format!(" AND ({scol}, pk, sk) {op} ({a}, {b}, {d})");
        }
        (None, _) => {}
    }
    sql += &match q.index {
        None => format!(" ORDER BY sk {dir}"),
        Some(_) => format!(" ORDER BY {scol} {dir}, pk {dir}, sk {dir}"),
    };
    if q.filter.is_none() {
        // One more than the page tells whether another page exists. A literal, not a bound
        // parameter: SQLite plans with a bound LIMIT's value, and a statement planned with a
        // bound value is compiled again on every use (sqlite3_stmt_status REPREPARE), which
        // cost more than the query itself. An integer, so nothing of the caller's reaches SQL.
        sql += &format!(" LIMIT {}", i64::try_from(q.limit).unwrap_or(i64::MAX).saturating_add(1));
    }
    s.sql = sql;
    s
}

/// Reads up to `limit + 1` matching items, applying the filter in Rust as rows stream in.
fn run_query(conn: &Connection, q: &Query, after: Option<&CursorKey>, now: i64) -> Result<Page, TableError> {
    let QuerySql { sql, params } = build_query(q, after, now);
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut rows = stmt.query(params_from_iter(params)).map_err(sql_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let data: String = row.get(0).map_err(sql_err)?;
        let item = parse_item(&data)?;
        if q.filter.as_ref().is_none_or(|f| eval(f, Some(&item))) {
            items.push(item);
            if items.len() > q.limit {
                break;
            }
        }
    }
    let next_cursor = if items.len() > q.limit {
        items.truncate(q.limit);
        let last = items.last().ok_or_else(|| TableError::Invalid("query limit must be at least 1".into()))?;
        Some(CursorKey::of(last, q.index)?.encode(q.index))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

// ---- transactions -------------------------------------------------------------------------

fn op_cond(op: &TxOp) -> Option<&Cond> {
    match op {
        TxOp::Put { cond, .. } | TxOp::Update { cond, .. } | TxOp::Delete { cond, .. } => cond.as_ref(),
        TxOp::Check { cond, .. } => Some(cond),
    }
}

fn run_transaction(conn: &Connection, ops: &[TxOp]) -> Result<(), TableError> {
    let mut currents = Vec::with_capacity(ops.len());
    let mut failed = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let key = op.key().ok_or_else(|| TableError::Invalid("transaction put without a key".into()))?;
        // The stored item matters to a condition and to an update; a plain put or delete does
        // not need it read and parsed.
        let needed = op_cond(op).is_some() || matches!(op, TxOp::Update { .. });
        let current = if needed { load(conn, &key)? } else { None };
        if op_cond(op).is_some_and(|c| !eval(c, current.as_ref())) {
            failed.push(i);
        }
        currents.push((key, current));
    }
    if !failed.is_empty() {
        return Err(TableError::TransactionCanceled { failed_conditions: failed });
    }
    for (op, (key, current)) in ops.iter().zip(currents) {
        match op {
            TxOp::Put { item, .. } => store(conn, item, &encode(item)?)?,
            TxOp::Update { update, .. } => {
                let item = apply_update(current, &key, update)?;
                store(conn, &item, &encode(&item)?)?
            }
            TxOp::Delete { .. } => remove(conn, &key)?,
            TxOp::Check { .. } => {}
        }
    }
    Ok(())
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        cursor::validate_key(key)?;
        let key = key.clone();
        let now = now_epoch();
        // A point read: on the calling thread (see `Sqlite::read_short`).
        let item = stages::timed(Stage::TableRead, self.db.read_short(move |conn| load(conn, &key))).await?;
        Ok(item.filter(|i| !i.is_expired(now)))
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError> {
        // Written out here, on the caller's thread, not on the one writer thread.
        let data = encode(&item)?;
        cond.as_ref().map_or(Ok(()), cursor::validate_cond)?;
        let key = item.key().ok_or_else(|| TableError::Invalid("item without a key".into()))?;
        self.write(move |conn, _| {
            // Read (and parse) the stored item only for a condition to check.
            if cond.is_some() {
                check(cond.as_ref(), &load(conn, &key)?)?;
            }
            store(conn, &item, &data)
        })
        .await
    }

    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError> {
        cursor::validate_key(key)?;
        cursor::validate_update(&update)?;
        cond.as_ref().map_or(Ok(()), cursor::validate_cond)?;
        let key = key.clone();
        self.write(move |conn, _| {
            let current = load(conn, &key)?;
            check(cond.as_ref(), &current)?;
            let item = apply_update(current, &key, &update)?;
            store(conn, &item, &encode(&item)?)?;
            Ok(item)
        })
        .await
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError> {
        cursor::validate_key(key)?;
        cond.as_ref().map_or(Ok(()), cursor::validate_cond)?;
        let key = key.clone();
        self.write(move |conn, now| {
            let current = load(conn, &key)?;
            check(cond.as_ref(), &current)?;
            remove(conn, &key)?;
            // An expired item is already gone as far as reads are concerned.
            Ok(current.filter(|i| !i.is_expired(now)))
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        cursor::validate_query(&query)?;
        let after = query.cursor.as_deref().map(|c| CursorKey::decode(c, &query)).transpose()?;
        let now = now_epoch();
        // A page of a few rows without a filter reads at most that many: short enough to run on
        // the calling thread. A filter may scan any number of rows, a big page parses many items.
        let short = query.filter.is_none() && query.limit <= SHORT_QUERY_LIMIT;
        let run = move |conn: &Connection| run_query(conn, &query, after.as_ref(), now);
        let read = async { if short { self.db.read_short(run).await } else { self.db.read(run).await } };
        stages::timed(Stage::TableRead, read).await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        cursor::validate_transaction(&ops)?;
        self.write(move |conn, _| run_transaction(conn, &ops)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        match v {
            Value::Object(m) => Item(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn comparisons_follow_dynamodb_typing() {
        let i = item(json!({"PK": "p", "SK": "s", "n": 5, "f": 1.5, "s": "b", "l": [1, "x"]}));
        assert!(eval(&Cond::eq("n", 5.0), Some(&i)));
        assert!(eval(&Cond::Lt("f".into(), json!(2)), Some(&i)));
        assert!(!eval(&Cond::Ne("n".into(), json!("5")), Some(&i)), "different types: false");
        assert!(!eval(&Cond::Ne("missing".into(), json!(1)), Some(&i)), "missing: false");
        assert!(eval(&Cond::Eq("l".into(), json!([1.0, "x"])), Some(&i)));
        assert!(!eval(&Cond::Gt("s".into(), json!(1)), Some(&i)));
        assert!(eval(&Cond::Not(Box::new(Cond::Exists)), None));
    }

    /// Writes that arrive together share group commits (fewer COMMITs than writes), and a
    /// failed condition inside a group fails only its own write; with a group of 1 every write
    /// commits alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits() {
        let dir = tempfile::tempdir().expect("dir");
        for (max_group, grouped) in [(MAX_GROUP, true), (1, false)] {
            let table = SqliteTable::open(&dir.path().join(format!("t{max_group}.db")))
                .expect("open")
                .with_max_group(max_group);
            let before = table.group_commits();
            let tasks: Vec<_> = (0..200)
                .map(|i| {
                    let table = table.clone();
                    tokio::spawn(async move {
                        // Every tenth write is on key 0 with NotExists: only the first can win.
                        let key = Key::new("p", if i % 10 == 0 { "s0".to_owned() } else { format!("s{i}") });
                        table.put(Item::new(key).with("i", i), Some(Cond::NotExists)).await
                    })
                })
                .collect();
            let mut ok = 0;
            for t in tasks {
                match t.await.expect("task") {
                    Ok(()) => ok += 1,
                    Err(TableError::ConditionFailed { .. }) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
            assert_eq!(ok, 181, "180 distinct keys and one winner on s0");
            let commits = table.group_commits() - before;
            if grouped {
                assert!(commits < 200, "200 concurrent writes took {commits} commits");
            } else {
                assert_eq!(commits, 200);
            }
        }
    }

    /// The queries every request makes (a page of a partition, of an index) are compiled once and
    /// then reused, and an index query still runs on its index.
    #[test]
    fn queries_are_compiled_once() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(SCHEMA).expect("schema");
        for i in 0..5 {
            let item = item(json!({"PK": "p", "SK": format!("s{i}"), "GSI1PK": "g", "GSI1SK": format!("x{i}")}));
            store(&conn, &item, &encode(&item).expect("encode")).expect("store");
        }
        let queries = [Query::table("p").begins_with("s").limit(8), Query::index(Index::Gsi1, "g").limit(8)];
        for q in &queries {
            for _ in 0..5 {
                assert_eq!(run_query(&conn, q, None, 0).expect("query").items.len(), 5);
            }
            let QuerySql { sql, .. } = build_query(q, None, 0);
            let stmt = conn.prepare_cached(&sql).expect("cached");
            assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sql}");
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .and_then(|mut s| {
                    s.query_map(params_from_iter(build_query(q, None, 0).params), |r| r.get(3))?.collect()
                })
                .expect("plan");
            assert!(plan.iter().all(|step| !step.starts_with("SCAN")), "{sql}: {plan:?}");
        }
    }

    #[test]
    fn statements_are_compiled_once_whatever_is_bound() {
        // Each statement's REPREPARE count after 20 uses with 20 different values, on a
        // connection with or without the planner's stability guarantee (`Sqlite::open` sets it).
        const LIMITED: &str = "SELECT data FROM items WHERE gsi1pk = CAST(?1 AS TEXT) ORDER BY gsi1sk LIMIT ?2";
        let reprepares = |stable: bool| -> Vec<(&'static str, i32)> {
            let conn = Connection::open_in_memory().expect("open");
            if stable {
                crate::adapters::embedded::sqlite::plan_without_values(&conn).expect("qpsg");
            }
            conn.execute_batch(SCHEMA).expect("schema");
            for i in 0..20 {
                let item = item(json!({"PK": format!("p{i}"), "SK": "s", "GSI1PK": "g", "GSI1SK": format!("x{i}")}));
                store(&conn, &item, &encode(&item).expect("encode")).expect("store");
                assert!(load(&conn, &Key::new(format!("p{i}"), "s")).expect("load").is_some());
                conn.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl <= ?1", params![i]).expect("purge");
                let mut page = conn.prepare_cached(LIMITED).expect("page");
                let _ = page
                    .query_map(params!["g", if i % 2 == 0 { 1 } else { 10 }], |r| r.get::<_, String>(0))
                    .expect("page")
                    .count();
            }
            ["SELECT data FROM items WHERE pk = ?1 AND sk = ?2", STORE_SQL, LIMITED]
                .into_iter()
                .map(|sql| {
                    (sql, conn.prepare_cached(sql).expect("cached").get_status(rusqlite::StatementStatus::RePrepare))
                })
                .collect()
        };
        for (sql, n) in reprepares(true) {
            assert_eq!(n, 0, "{sql}");
        }
        // What the guarantee prevents: a `LIMIT ?` bound 1, then 10 (as the queue's receives
        // with different batch sizes do) compiles the statement again at each change.
        let without = reprepares(false);
        assert!(without.iter().any(|(sql, n)| *sql == LIMITED && *n >= 19), "{without:?}");
    }

    #[tokio::test]
    async fn a_without_rowid_table_is_moved_to_a_rowid_table() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("table.db");
        {
            // The table as it was created before, with two items (one in an index).
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(&SCHEMA.replacen("PRIMARY KEY (pk, sk));", "PRIMARY KEY (pk, sk)) WITHOUT ROWID;", 1))
                .expect("old schema");
            let wr: bool =
                conn.query_row("SELECT wr FROM pragma_table_list WHERE name = 'items'", [], |r| r.get(0)).expect("wr");
            assert!(wr, "the old shape");
            for (i, v) in [
                json!({"PK": "p", "SK": "a", "GSI1PK": "g", "GSI1SK": "1", "v": 1}),
                json!({"PK": "p", "SK": "b", "v": 2}),
            ]
            .into_iter()
            .enumerate()
            {
                let it = item(v);
                store(&conn, &it, &encode(&it).expect("encode")).unwrap_or_else(|e| panic!("{i}: {e}"));
            }
        }
        let table = SqliteTable::open(&path).expect("migrated");
        let a = table.get(&Key::new("p", "a")).await.expect("get").expect("a");
        assert_eq!(a.get("v"), Some(&json!(1)));
        assert_eq!(table.query(Query::table("p")).await.expect("query").items.len(), 2);
        assert_eq!(table.query(Query::index(Index::Gsi1, "g")).await.expect("index").items.len(), 1);
        table.put(item(json!({"PK": "p", "SK": "a", "v": 3})), None).await.expect("replace");
        assert_eq!(table.query(Query::table("p")).await.expect("query").items.len(), 2);
        assert_eq!(table.query(Query::index(Index::Gsi1, "g")).await.expect("index").items.len(), 0);
        let conn = Connection::open(&path).expect("open");
        let wr: bool =
            conn.query_row("SELECT wr FROM pragma_table_list WHERE name = 'items'", [], |r| r.get(0)).expect("wr");
        assert!(!wr, "a rowid table now");
        let indexes: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'items_%'", [], |r| {
                r.get(0)
            })
            .expect("indexes");
        assert_eq!(indexes, 4, "the four indexes again");
        // Opening it again leaves it as it is.
        drop(table);
        SqliteTable::open(&path).expect("again");
    }

    #[test]
    fn add_needs_a_number_and_append_a_list() {
        let key = Key::new("p", "s");
        let i = item(json!({"PK": "p", "SK": "s", "s": "x"}));
        assert!(matches!(apply_update(Some(i.clone()), &key, &Update::new().add("s", 1)), Err(TableError::Invalid(_))));
        assert!(matches!(apply_update(Some(i), &key, &Update::new().append("s", vec![])), Err(TableError::Invalid(_))));
        let fresh = apply_update(None, &key, &Update::new().add("c", 2).append("l", vec![json!(1)])).unwrap();
        assert_eq!(fresh.get("c"), Some(&json!(2)));
        assert_eq!(fresh.get("l"), Some(&json!([1])));
    }
}
