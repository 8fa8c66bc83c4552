//! One SQLite database file shared by an embedded adapter's operations.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool while holding the
//! connection; a single connection per database makes every read-modify-write (conditional
//! writes, transactions, queue receives) trivially atomic. WAL with `synchronous=NORMAL`:
//! a committed write survives a crash of the process (not of the machine's power), and
//! commits stay in the tens of microseconds.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` and runs `schema` (idempotent DDL).
    pub fn open(path: &Path, schema: &str) -> rusqlite::Result<Self> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "busy_timeout", 5000)?;
        conn.execute_batch(schema)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
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
