//! One SQLite database file shared by an embedded adapter's operations.
//!
//! **One writer thread.** The database's read-write connection belongs to a thread of its own;
//! every write (and every operation that needs the connection: a queue's receive, ack, retry)
//! is a job handed to it over a channel, answered through a oneshot. One connection, used by
//! one thread in arrival order, makes every read-modify-write (conditional writes, transactions,
//! queue receives) trivially atomic — and, unlike a connection behind a mutex taken by a
//! blocking-pool task per write, it costs no task spawn and no lock convoy per write: under
//! load the thread drains whatever is queued without sleeping in between. WAL with
//! `synchronous=NORMAL`: a committed write survives a crash of the process (not of the
//! machine's power), and commits stay in the tens of microseconds.
//!
//! **Group commit.** Writes that are queued when the thread takes its next job run together in
//! ONE immediate transaction with one COMMIT, in arrival order, each inside its own SAVEPOINT:
//! a write that fails is rolled back to its savepoint and fails alone, the others keep their
//! effects and each sees the ones before it — as if they had run one after the other. A
//! caller's future resolves only after the shared COMMIT (a 2xx still means on disk).
//!
//! **Reads** run on read-only connections beside the writer (WAL: a reader never waits for the
//! writer and sees every COMMIT that finished before it began), or on the writer's thread when
//! there are none.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::checkpointer::Checkpoints;
use super::coalesced_wal;
use crate::telemetry::stages::{self, Stage};

/// The default most writes one group commit takes (bounds one group's time).
pub const MAX_GROUP: usize = 512;

#[derive(Clone)]
pub struct Sqlite {
    /// The writer thread's queue. When the last clone is dropped the thread finishes what is
    /// queued and closes the connection.
    jobs: mpsc::Sender<Job>,
    /// Group commits so far (each one transaction and one COMMIT).
    commits: Arc<AtomicU64>,
    /// At most this many writes per group; 1: every write its own transaction.
    max_group: Arc<AtomicUsize>,
    /// Read-only connections for [`Sqlite::read`]. Empty: reads run on the writer's thread.
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<AtomicUsize>,
}

/// What the writer thread runs.
enum Job {
    /// One write of a group commit.
    Grouped(Box<dyn GroupedWrite>),
    /// Runs alone with the connection (in its own transaction, or in none).
    Alone(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// The query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`): statements are planned
/// without looking at the values bound to them. Otherwise SQLite peeks at a bound value while it
/// plans (whether a partial index applies, a `LIMIT ?`, a range's estimate) and marks the
/// statement to be compiled again whenever that parameter gets another value — every use of a
/// cached statement, for the table's writes' reads and the queue's receives (~150 k instructions
/// each, more than running them). Our statements' plans never depend on the values (equalities
/// and ranges on indexed columns; no LIKE), so nothing else changes; the queries' plans are
/// checked by `sqlite_table::tests::queries_are_compiled_once`.
pub(crate) fn plan_without_values(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map(|_| ())
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
        // The writer's WAL writes go out one run per commit (see `coalesced_wal`).
        let mut conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), coalesced_wal::name()?)?;
        plan_without_values(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        // Each write of a group commit runs in a SAVEPOINT, so every page it changes first has
        // its old content saved in the statement journal (to roll that write back alone). SQLite
        // keeps that journal in memory only up to 64 KiB per transaction and then in a temporary
        // file, two `pwrite` calls per page: most of a busy writer's system calls. In memory it
        // is truncated at each RELEASE and never larger than one write's pages.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.execute_batch(schema)?;
        // Checkpoints on a thread of their own (see `checkpointer`); it ends with `conn`.
        Checkpoints::start(path, &mut conn)?;
        let readers = (0..readers)
            .map(|_| {
                let r = Connection::open(path)?;
                plan_without_values(&r)?;
                r.pragma_update(None, "busy_timeout", 5000)?;
                r.pragma_update(None, "query_only", true)?;
                Ok(Mutex::new(r))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (jobs, queue) = mpsc::channel();
        let (commits, max_group) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(MAX_GROUP)));
        let writer = Writer { conn, queue, commits: commits.clone(), max_group: max_group.clone() };
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || writer.run()).map_err(|e| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(format!("cannot start the writer thread: {e}")),
            )
        })?;
        Ok(Self { jobs, commits, max_group, readers: Arc::new(readers), next_reader: Arc::default() })
    }

    /// Runs a SHORT read-only `f` (a point read, a page of a few rows: tens of microseconds) on
    /// the calling thread with a free reader connection, or as [`Sqlite::read`] when none is free
    /// (or there are none). A hand-off to the blocking pool (a task, two thread wake-ups) costs
    /// more than such a read itself; a read that may take long belongs in [`Sqlite::read`], never
    /// here, as it would hold up the async worker it runs on.
    pub async fn read_short<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        let f = {
            let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
            let n = self.readers.len();
            match (0..n).find_map(|i| self.readers[(start + i) % n].try_lock().ok()) {
                Some(reader) => return f(&reader),
                None => f,
            }
        };
        self.read(f).await
    }

    /// Runs the read-only `f` on the blocking pool with a reader connection (a free one if any),
    /// or on the writer's thread when there are no readers.
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        let write = Write { f: Some(f), out: None, sql_err, tx, queued: stages::start() };
        self.submit(Job::Grouped(Box::new(write)));
        // No answer: the writer thread is gone (a write panicked in it); nothing was committed.
        rx.await.unwrap_or_else(|_| Err(sql_err(rusqlite::Error::InvalidQuery)))
    }

    /// Runs `f` with the connection on the writer's thread, alone (between group commits).
    pub async fn call<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&mut Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Job::Alone(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        })));
        rx.await.expect("sqlite task panicked")
    }

    /// [`Sqlite::call`] from synchronous code, waiting on the current thread: for start-up work
    /// (migrations) only.
    pub fn blocking<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&mut Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(Job::Alone(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        })));
        rx.recv().expect("sqlite task panicked")
    }

    fn submit(&self, job: Job) {
        // The thread lives as long as a sender does, so a send can fail only if it panicked
        // outside a job; the job's answer channel is dropped with it and its caller sees that.
        let _ = self.jobs.send(job);
    }
}

/// The writer thread: the connection and the jobs queued for it.
struct Writer {
    conn: Connection,
    queue: mpsc::Receiver<Job>,
    commits: Arc<AtomicU64>,
    max_group: Arc<AtomicUsize>,
}

impl Writer {
    /// Runs jobs in arrival order until every [`Sqlite`] handle is gone. Consecutive grouped
    /// writes that are already queued form one group commit; a job that panics loses its own
    /// answer (its caller sees that), not the thread.
    fn run(mut self) {
        let mut next = None;
        loop {
            let job = match next.take() {
                Some(job) => job,
                None => match self.queue.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                },
            };
            match job {
                Job::Alone(f) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| f(&mut self.conn)));
                }
                Job::Grouped(first) => {
                    let max = self.max_group.load(Ordering::Relaxed).max(1);
                    let mut group = vec![first];
                    while group.len() < max {
                        match self.queue.try_recv() {
                            Ok(Job::Grouped(w)) => group.push(w),
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let _ = catch_unwind(AssertUnwindSafe(|| self.commit_group(group)));
                }
            }
        }
    }

    fn commit_group(&mut self, mut group: Vec<Box<dyn GroupedWrite>>) {
        for w in &mut group {
            w.started();
        }
        let alone = group.len() == 1;
        let outcome = (|| {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if alone {
                // Its own transaction: a failure rolls back the whole of it, no savepoint needed.
                if !group[0].run(&tx) {
                    return tx.rollback();
                }
            } else {
                for w in &mut group {
                    tx.prepare_cached("SAVEPOINT w")?.execute([])?;
                    if !w.run(&tx) {
                        tx.prepare_cached("ROLLBACK TO w")?.execute([])?;
                    }
                    tx.prepare_cached("RELEASE w")?.execute([])?;
                }
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
}

/// One write of a group commit, type-erased.
trait GroupedWrite: Send {
    /// The writer thread took it: the end of its wait.
    fn started(&mut self);
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
    /// When it was queued (with stage timings on).
    queued: Option<Instant>,
}

impl<R: Send, E: Send, F: FnOnce(&Connection) -> Result<R, E> + Send> GroupedWrite for Write<R, E, F> {
    fn started(&mut self) {
        stages::finish(Stage::WriteWait, self.queued.take());
    }

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::adapters::embedded::coalesced_wal::counts;

    /// Writes of a group commit, each changing more pages than SQLite keeps in memory for a
    /// savepoint by default (64 KiB), never put their statement journal in a file.
    #[tokio::test]
    async fn a_group_of_large_writes_journals_its_savepoints_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&dir.path().join("t.db"), "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);").unwrap();
        // ~200 pages of rows: the writes below change pages that exist (new pages need no journal).
        db.call(|c| {
            let tx = c.transaction()?;
            for k in 0..400 {
                tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", (k, "x".repeat(2000)))?;
            }
            tx.commit()
        })
        .await
        .unwrap();
        // The writer busy for a moment, so the writes queue up and run as one group (savepoints).
        let hold = db.call(|_| std::thread::sleep(Duration::from_millis(200)));
        let writes = (0..4).map(|w| {
            db.grouped(
                // ~30 existing pages each, ~120 KiB of old content to keep for a rollback.
                move |c: &Connection| c.execute("UPDATE t SET v = 'y' WHERE k >= ?1 AND k < ?1 + 60", [w * 100]),
                |e| e,
            )
        });
        let before = db.commits.load(Ordering::Relaxed);
        let (_, written) = tokio::join!(hold, futures_util::future::join_all(writes));
        assert!(written.iter().all(Result::is_ok));
        assert_eq!(db.commits.load(Ordering::Relaxed) - before, 1, "one group commit");
        let files = db.call(|_| counts::SUBJOURNAL_FILES.with(std::cell::Cell::get)).await;
        assert_eq!(files, 0, "statement journals written to a file");
        let rows: i64 = db.call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))).await.unwrap();
        assert_eq!(rows, 400);
        let changed: i64 =
            db.call(|c| c.query_row("SELECT count(*) FROM t WHERE v = 'y'", [], |r| r.get(0))).await.unwrap();
        assert_eq!(changed, 240);
    }
}
