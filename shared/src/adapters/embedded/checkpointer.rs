//! WAL checkpoints on a thread of their own, not on the writer's.
//!
//! In WAL mode every COMMIT appends the pages it changed to the `-wal` file; a checkpoint
//! copies them back into the database file (then the WAL starts over). SQLite's default runs a
//! checkpoint inside the COMMIT that takes the WAL past 1,000 pages, on the writing connection:
//! here that is the one writer thread every write waits for, so each checkpoint (4 MB copied and
//! two fsyncs) stalled every write queued behind it, and a small WAL meant the pages every
//! write touches (the tails of the tables and indexes, the counters) were copied again at every
//! checkpoint. Measured on the intake bench: the checkpoints were about a third of the server's
//! CPU per `POST /messages`, and with a large WAL on the writer each checkpoint stalled the
//! writes queued behind it for ~80 ms (their p99).
//!
//! So the writer's connection only reports the WAL's size after each COMMIT (SQLite's WAL hook,
//! which replaces its autocheckpoint), and once the WAL holds [`CHECKPOINT_PAGES`] this thread,
//! with a connection of its own, runs PASSIVE checkpoints: each copies what was committed when
//! it began while the writer goes on committing (readers and the writer never wait for it),
//! at most one every [`PAUSE`], until a checkpoint has copied all of the WAL and the writer's
//! next transaction starts it over.
//!
//! Under writes that never pause, that moment may not come (each checkpoint ends with the
//! writer in the middle of the next COMMIT). Then the WAL grows to [`WRITER_CHECKPOINT_PAGES`]
//! and the writer checkpoints itself after a COMMIT, as SQLite's default would: it copies only
//! what the thread has not copied yet, and its next transaction starts the WAL over. Copying
//! that remainder on the writer at every round instead (measured) stalled the writes queued
//! behind it for its fsyncs: p99 14 → 25 ms for `POST /messages`.
//!
//! Durability is unchanged: a COMMIT is in the WAL when it returns (`synchronous=NORMAL`), and
//! a checkpoint only moves committed pages.

use std::ffi::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;

/// WAL pages (4 KiB each: 32 MiB) at which the checkpoint thread copies the WAL back. Pages
/// rewritten within that span are copied once; a crash recovery reads about this much.
pub const CHECKPOINT_PAGES: c_int = 8_000;
/// WAL pages from which the writer checkpoints itself after a COMMIT (writes that never pause:
/// see the module docs). 128 MiB.
pub const WRITER_CHECKPOINT_PAGES: c_int = 4 * CHECKPOINT_PAGES;
/// The least time between two of the thread's checkpoints: what the writer commits meanwhile
/// is copied once, with one pair of fsyncs.
pub const PAUSE: Duration = Duration::from_millis(10);

/// The checkpoint thread of one database.
#[derive(Clone, Default)]
pub struct Checkpoints {
    /// Checkpoints the thread ran.
    pub background: Arc<AtomicU64>,
    /// Checkpoints the writer ran itself.
    pub by_writer: Arc<AtomicU64>,
    /// Pages in the WAL after the last COMMIT.
    pages: Arc<AtomicI32>,
}

impl Checkpoints {
    /// Pages in the WAL after the last COMMIT.
    pub fn wal_pages(&self) -> c_int {
        self.pages.load(Ordering::Relaxed)
    }

    /// Starts the checkpoint thread for the database at `path` and hooks `writer` (the one
    /// connection that writes) to it. The thread ends when `writer` is closed.
    pub fn start(path: &Path, writer: &mut Connection) -> rusqlite::Result<Self> {
        Self::start_with(path, writer, CHECKPOINT_PAGES, WRITER_CHECKPOINT_PAGES)
    }

    /// [`Checkpoints::start`] with other thresholds (tests).
    pub fn start_with(
        path: &Path,
        writer: &mut Connection,
        background_at: c_int,
        writer_at: c_int,
    ) -> rusqlite::Result<Self> {
        // After a burst that outran the checkpoints, the WAL file is cut back to the writer's
        // bound (in bytes: the database's own page size, 4 KiB unless it was created otherwise).
        let page_bytes: i64 = writer.pragma_query_value(None, "page_size", |r| r.get(0))?;
        writer.pragma_update(None, "journal_size_limit", i64::from(writer_at).saturating_mul(page_bytes))?;
        let own = Connection::open(path)?;
        own.busy_timeout(std::time::Duration::from_secs(5))?;
        // A connection opens the WAL when it first reads the database: until then a checkpoint
        // on it does nothing (and says so only by counting -1 pages).
        own.pragma_update(None, "journal_mode", "WAL")?;
        let counts = Self::default();
        // One pending wake-up is enough: the thread checkpoints everything committed so far.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let (by_writer, last) = (counts.by_writer.clone(), counts.pages.clone());
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            last.store(pages, Ordering::Relaxed);
            if pages >= writer_at {
                // Busy (the thread holds the checkpoint lock) is fine: the next COMMIT retries.
                if wal.checkpoint_v2(CheckpointMode::PASSIVE).is_ok() {
                    by_writer.fetch_add(1, Ordering::Relaxed);
                }
            } else if pages >= background_at {
                let _ = wake.try_send(());
            }
            Ok(())
        }))?;
        let background = counts.background.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Ends when the hook (holding the sender) goes with the writer's connection.
                for () in woken.iter() {
                    match own.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                        Ok((log, _)) if log < 0 => tracing::warn!("WAL checkpoint on a database not in WAL mode"),
                        Ok(_) => {
                            background.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries"),
                    }
                    std::thread::sleep(PAUSE);
                }
            })
            .map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(format!("cannot start the checkpoint thread: {e}")),
                )
            })?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn open(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)").unwrap();
        conn
    }

    /// One 4 KiB row per COMMIT: at least a page each.
    fn commit_pages(conn: &Connection, n: usize) {
        for _ in 0..n {
            conn.execute("INSERT INTO t (b) VALUES (zeroblob(4000))", []).unwrap();
        }
    }

    #[test]
    fn the_thread_checkpoints_and_the_writer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = open(&path);
        // The writer's own bound out of reach: only the thread may checkpoint.
        let counts = Checkpoints::start_with(&path, &mut conn, 100, c_int::MAX).unwrap();
        commit_pages(&conn, 20);
        let pages = counts.wal_pages();
        assert!((20..100).contains(&pages), "{pages}");
        assert_eq!(counts.background.load(Ordering::Relaxed), 0, "no checkpoint below the threshold");
        commit_pages(&conn, 1000);
        // Once a checkpoint has copied all of it, the next COMMIT starts the WAL over (without
        // checkpoints it would hold every one of these rows' pages).
        let (deadline, mut rows) = (Instant::now() + Duration::from_secs(10), 1020);
        while counts.wal_pages() >= 100 && Instant::now() < deadline {
            std::thread::sleep(PAUSE * 2);
            commit_pages(&conn, 1);
            rows += 1;
        }
        assert!(counts.wal_pages() < 100, "the WAL started over: {} pages", counts.wal_pages());
        assert!(counts.background.load(Ordering::Relaxed) > 0);
        assert_eq!(counts.by_writer.load(Ordering::Relaxed), 0);
        // Everything committed is there, read by another connection.
        let other = Connection::open(&path).unwrap();
        let n: i64 = other.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, rows);
    }

    #[test]
    fn a_writer_past_the_bound_checkpoints_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = open(&path);
        // The thread's threshold out of reach: the writer's bound is what keeps the WAL small.
        let counts = Checkpoints::start_with(&path, &mut conn, c_int::MAX, 200).unwrap();
        let mut most = 0;
        for _ in 0..1000 {
            commit_pages(&conn, 1);
            most = most.max(counts.wal_pages());
        }
        assert!(counts.by_writer.load(Ordering::Relaxed) >= 4, "{:?}", counts.by_writer);
        assert!(most <= 210, "the WAL stays at the bound: at most {most} pages");
        assert_eq!(counts.background.load(Ordering::Relaxed), 0);
    }
}
