//! One SQLite database file shared by an embedded adapter's operations.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool while holding the
//! connection; a single connection per database makes every read-modify-write (conditional
//! writes, transactions, queue receives) trivially atomic. WAL with `synchronous=NORMAL`:
//! a committed write survives a crash of the process (not of the machine's power), and
//! commits stay in the tens of microseconds.
//!
//! Writes go through [`Sqlite::grouped`]: group commit. Writes that arrive while the connection
//! is busy queue up, then run together in ONE immediate transaction with one COMMIT, in arrival
//! order, each inside its own SAVEPOINT: a write that fails is rolled back to its savepoint and
//! fails alone, the others keep their effects and each sees the ones before it — as if they had
//! run one after the other. A caller's future resolves only after the shared COMMIT.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};

use crate::telemetry::stages::{self, Stage};

/// The default most writes one group commit takes (bounds one group's time).
pub const MAX_GROUP: usize = 512;

#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    /// Writes waiting for the next group commit.
    pending: Arc<Mutex<Vec<Box<dyn GroupedWrite>>>>,
    /// Group commits so far (each one transaction and one COMMIT).
    commits: Arc<AtomicU64>,
    /// At most this many writes per group; 1: every write its own transaction.
    max_group: Arc<AtomicUsize>,
    /// Read-only connections for [`Sqlite::read`] (WAL: readers never wait for the writer, and
    /// each read sees every COMMIT that finished before it began). Empty: reads use the writer.
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<AtomicUsize>,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` and runs `schema` (idempotent DDL).
    pub fn open(path: &Path, schema: &str) -> rusqlite::Result<Self> {
        Self::open_with_readers(path, schema, 0)
    }

    /// [`Sqlite::open`] plus `readers` read-only connections for [`Sqlite::read`].
    pub fn open_with_readers(path: &Path, schema: &str, readers: usize) -> rusqlite::Result<Self> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        conn.execute_batch(schema)?;
        let readers = (0..readers)
            .map(|_| {
                let r = Connection::open(path)?;
                r.pragma_update(None, "busy_timeout", 5000)?;
                r.pragma_update(None, "query_only", true)?;
                Ok(Mutex::new(r))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            pending: Arc::default(),
            commits: Arc::default(),
            max_group: Arc::new(AtomicUsize::new(MAX_GROUP)),
            readers: Arc::new(readers),
            next_reader: Arc::default(),
        })
    }

    /// Runs the read-only `f` on the blocking pool with a reader connection (a free one if any),
    /// or with the writer's connection when there are no readers.
    pub async fn read<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        if self.readers.is_empty() {
            return self.call(move |conn| f(conn)).await;
        }
        let (readers, start) = (self.readers.clone(), self.next_reader.fetch_add(1, Ordering::Relaxed));
        tokio::task::spawn_blocking(move || {
            let n = readers.len();
            let free = (0..n).find_map(|i| readers[(start + i) % n].try_lock().ok());
            let guard = free.unwrap_or_else(|| readers[start % n].lock().unwrap_or_else(|p| p.into_inner()));
            f(&guard)
        })
        .await
        .expect("sqlite task panicked")
    }

    /// At most `n` writes per group commit (at least 1; 1 turns group commit off).
    pub fn set_max_group(&self, n: usize) {
        self.max_group.store(n.max(1), Ordering::Relaxed);
    }

    /// How many group commits ran.
    pub fn group_commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Runs `f` as one write of a group commit (see the module docs); `sql_err` turns a failed
    /// BEGIN, SAVEPOINT or COMMIT into the caller's error.
    pub async fn grouped<R, E, F>(&self, f: F, sql_err: fn(rusqlite::Error) -> E) -> Result<R, E>
    where
        F: FnOnce(&Connection) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: Send + 'static,
    {
        let started = stages::start();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let write = Write { f: Some(f), out: None, sql_err, tx };
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(write));
        let this = self.clone();
        // This task runs whatever is queued when it gets the connection: its own write, unless an
        // earlier task's group took it already (then it finds later writes, or nothing).
        self.call(move |conn| this.commit_group(conn, started)).await;
        rx.await.unwrap_or_else(|_| Err(sql_err(rusqlite::Error::InvalidQuery)))
    }

    fn commit_group(&self, conn: &mut Connection, started: Option<Instant>) {
        let mut group = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let take = pending.len().min(self.max_group.load(Ordering::Relaxed));
            pending.drain(..take).collect::<Vec<_>>()
        };
        if group.is_empty() {
            return;
        }
        stages::finish(Stage::WriteWait, started);
        let outcome = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for w in &mut group {
                tx.prepare_cached("SAVEPOINT w")?.execute([])?;
                if !w.run(&tx) {
                    tx.prepare_cached("ROLLBACK TO w")?.execute([])?;
                }
                tx.prepare_cached("RELEASE w")?.execute([])?;
            }
            let committing = stages::start();
            tx.commit()?;
            stages::finish(Stage::Commit, committing);
            Ok::<(), rusqlite::Error>(())
        })();
        self.commits.fetch_add(1, Ordering::Relaxed);
        for w in group {
            w.deliver(outcome.as_ref().err());
        }
    }

    /// Runs `f` with the connection on the current thread: for start-up work (migrations) only.
    pub fn blocking<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&mut Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still sound
            // (SQLite rolls back the open transaction when the Transaction guard drops).
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .expect("sqlite task panicked")
    }
}

/// One write of a group commit, type-erased.
trait GroupedWrite: Send {
    /// Runs the write inside the group's transaction; false when it failed (to be rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the group's COMMIT is done (or failed).
    fn deliver(self: Box<Self>, failed: Option<&rusqlite::Error>);
}

struct Write<R, E, F> {
    f: Option<F>,
    out: Option<Result<R, E>>,
    sql_err: fn(rusqlite::Error) -> E,
    tx: tokio::sync::oneshot::Sender<Result<R, E>>,
}

impl<R: Send, E: Send, F: FnOnce(&Connection) -> Result<R, E> + Send> GroupedWrite for Write<R, E, F> {
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(f) = self.f.take() else { return false };
        let out = f(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn deliver(self: Box<Self>, failed: Option<&rusqlite::Error>) {
        let answer = match (self.out, failed) {
            // Its own failure stands whatever happened to the group (it changed nothing).
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(e)) => Err((self.sql_err)(copy_err(e))),
            (None, None) => Err((self.sql_err)(rusqlite::Error::InvalidQuery)),
        };
        let _ = self.tx.send(answer);
    }
}

/// The group's failure, for each of its writes (rusqlite errors are not `Clone`): the SQLite
/// code and message are what callers look at.
fn copy_err(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, msg) => rusqlite::Error::SqliteFailure(*code, msg.clone()),
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}
