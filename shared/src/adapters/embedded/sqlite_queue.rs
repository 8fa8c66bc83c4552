//! The queue port on SQLite, for the local process: every queue lives in one `queue_messages`
//! table (the name leaves `messages` free for the domain, should the table adapter share the
//! database file).
//!
//! A row is live (`dead = 0`) or a dead letter (`dead = 1`). It is deliverable when
//! `visible_at <= now`; a receive bumps `receive_count`, pushes `visible_at` out by the visibility
//! timeout and stamps a fresh receipt, all in one transaction on the single connection, so two
//! receivers can never take the same row. A row that has already been delivered `max_receives`
//! times is turned into a dead letter by the receive that finds it visible again, as the SQS
//! redrive policy does.
//!
//! Receipts are `<id>.<receive_count>.<nonce>`: only the latest delivery's receipt matches the
//! row, so an ack or a retry from a consumer whose delivery timed out (and was redelivered) is a
//! harmless no-op instead of deleting a message someone else is working on.
//!
//! **Fairness.** Every row has a message group (`grp`, `''` for messages without one). A receive
//! walks the groups that have live messages round-robin, starting after the group it served
//! last, and takes one visible message per group per round: with tenants as groups, a tenant
//! with 50,000 queued messages gets the same share of each receive as one with a single message.
//! The walk is a loose index scan (`grp > last ORDER BY grp LIMIT 1`) over
//! `(queue, dead, grp, visible_at, seq)`, so its cost grows with the number of groups, not with
//! the backlog. The round-robin position lives in memory: after a restart it starts over.
//!
//! Times are wall-clock milliseconds since the epoch, so visibility and delays survive a restart.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::Notify;

use super::sqlite::Sqlite;
pub use crate::ports::queue::QueueSettings;
use crate::ports::queue::{Delivery, MAX_DELAY, OutMessage, Queue, QueueError, QueueName, validate};
use crate::telemetry::stages::{self, Stage};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queue_messages (
    seq           INTEGER PRIMARY KEY,
    queue         TEXT    NOT NULL,
    id            TEXT    NOT NULL UNIQUE,
    body          TEXT    NOT NULL,
    sent_at       INTEGER NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT,
    dead          INTEGER NOT NULL DEFAULT 0,
    dead_at       INTEGER,
    grp           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, dead, visible_at, seq);
";

/// Added after the first release: data directories from before it get the column here.
const GROUP_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS queue_messages_group ON queue_messages (queue, dead, grp, visible_at, seq);";

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let has_grp = conn.prepare("SELECT 1 FROM pragma_table_info('queue_messages') WHERE name = 'grp'")?.exists([])?;
    if !has_grp {
        conn.execute_batch("ALTER TABLE queue_messages ADD COLUMN grp TEXT NOT NULL DEFAULT '';")?;
    }
    conn.execute_batch(GROUP_INDEX)
}

/// Longest a waiting receive sleeps between checks when no send wakes it: bounds how late it
/// notices a message whose visibility timeout or delay ran out.
const POLL_FALLBACK: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct SqliteQueue {
    db: Sqlite,
    default: QueueSettings,
    overrides: HashMap<&'static str, QueueSettings>,
    /// Wakes long-polling receivers when a message may have become visible (send, retry now).
    wake: Arc<Notify>,
    /// Per queue, the message group served last (where the next round-robin walk starts).
    cursors: Arc<Mutex<HashMap<&'static str, String>>>,
}

impl SqliteQueue {
    pub fn open(path: &Path, default: QueueSettings) -> Result<Self, QueueError> {
        let db = Sqlite::open(path, SCHEMA).map_err(unavailable)?;
        db.blocking(migrate).map_err(unavailable)?;
        Ok(Self {
            db,
            default,
            overrides: HashMap::new(),
            wake: Arc::new(Notify::new()),
            cursors: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// At most `n` sends per group commit (at least 1; 1 turns group commit off).
    pub fn with_max_group(self, n: usize) -> Self {
        self.db.set_max_group(n);
        self
    }

    /// Gives `queue` its own visibility timeout and redrive limit.
    pub fn with_settings(mut self, queue: QueueName, settings: QueueSettings) -> Self {
        self.overrides.insert(queue.as_str(), settings);
        self
    }

    fn settings(&self, queue: QueueName) -> QueueSettings {
        self.overrides.get(queue.as_str()).copied().unwrap_or(self.default)
    }

    /// One receive attempt, without waiting. When nothing was delivered, also returns when the
    /// next live message becomes visible (for the long-poll sleep).
    async fn try_receive(&self, queue: QueueName, max: usize) -> Result<(Vec<Delivery>, Option<i64>), QueueError> {
        let settings = self.settings(queue);
        let cursor = self.cursors.lock().unwrap_or_else(|p| p.into_inner()).get(queue.as_str()).cloned();
        let received = self
            .db
            .call(move |conn| receive_tx(conn, queue.as_str(), max, settings, now_ms(), cursor))
            .await
            .map_err(unavailable)?;
        if let Some(served) = received.last_group {
            self.cursors.lock().unwrap_or_else(|p| p.into_inner()).insert(queue.as_str(), served);
        }
        Ok((received.deliveries, received.next_visible))
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_batch(&self, queue: QueueName, messages: Vec<OutMessage>) -> Result<(), QueueError> {
        // Validate everything first: the batch is all-or-nothing.
        for m in &messages {
            validate(m)?;
        }
        if messages.is_empty() {
            return Ok(());
        }
        let started = stages::start();
        // Group commit: sends that arrive together (webhooks, send jobs) share one COMMIT.
        let now = now_ms();
        self.db.grouped(move |conn| insert(conn, queue.as_str(), &messages, now), |e| e).await.map_err(unavailable)?;
        stages::finish(Stage::QueueSend, started);
        self.wake.notify_waiters();
        Ok(())
    }

    async fn receive(&self, queue: QueueName, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the query so a send committed after it cannot be missed.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();

            let (got, next_visible) = self.try_receive(queue, max).await?;
            let now = tokio::time::Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let mut nap = (deadline - now).min(POLL_FALLBACK);
            if let Some(at) = next_visible {
                let until = Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0));
                nap = nap.min(until.max(Duration::from_millis(1)));
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let Some(id) = receipt_id(receipt) else { return Ok(()) };
        let (id, receipt) = (id.to_owned(), receipt.to_owned());
        // Acks of handlers that finish together share a group commit, as sends do.
        self.db
            .grouped(
                move |conn| {
                    conn.prepare_cached(
                        "DELETE FROM queue_messages WHERE id = ?1 AND queue = ?2 AND receipt = ?3 AND dead = 0",
                    )?
                    .execute(params![id, queue.as_str(), receipt])
                },
                |e| e,
            )
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn retry_after(&self, queue: QueueName, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let Some(id) = receipt_id(receipt) else { return Ok(()) };
        let (id, receipt) = (id.to_owned(), receipt.to_owned());
        let visible_at = now_ms() + millis(delay.min(MAX_DELAY));
        self.db
            .grouped(
                move |conn| {
                    conn.prepare_cached(
                        "UPDATE queue_messages SET visible_at = ?4
                         WHERE id = ?1 AND queue = ?2 AND receipt = ?3 AND dead = 0",
                    )?
                    .execute(params![id, queue.as_str(), receipt, visible_at])
                },
                |e| e,
            )
            .await
            .map_err(unavailable)?;
        if delay.is_zero() {
            self.wake.notify_waiters();
        }
        Ok(())
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, body, receive_count FROM queue_messages
                     WHERE queue = ?1 AND dead = 1 ORDER BY dead_at, seq LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![queue.as_str(), limit], |r| {
                    Ok(Delivery {
                        id: r.get(0)?,
                        // Dead letters are for inspection: there is no delivery to ack.
                        receipt: String::new(),
                        body: r.get(1)?,
                        receive_count: r.get(2)?,
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .map_err(unavailable)
    }
}

/// Inserts a batch inside the group commit's transaction (its savepoint makes it all-or-nothing).
fn insert(conn: &Connection, queue: &str, messages: &[OutMessage], now: i64) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO queue_messages (queue, id, body, sent_at, visible_at, grp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for m in messages {
        let id = ulid::Ulid::new().to_string();
        stmt.execute(params![queue, id, m.body, now, now + millis(m.delay), m.group.as_deref().unwrap_or("")])?;
    }
    Ok(())
}

struct Received {
    deliveries: Vec<Delivery>,
    /// The group of the last delivery (the next walk starts after it).
    last_group: Option<String>,
    /// When nothing was delivered: when the next live message becomes visible.
    next_visible: Option<i64>,
}

/// A candidate row: `(seq, id, body, receive_count)`.
type Row = (i64, String, String, u32);

/// Delivers up to `max` visible messages in one transaction, one per message group per round,
/// the groups taken in order starting after `cursor`; rows past their receive limit are
/// dead-lettered on the way.
fn receive_tx(
    conn: &mut Connection,
    queue: &str,
    max: usize,
    settings: QueueSettings,
    now: i64,
    cursor: Option<String>,
) -> rusqlite::Result<Received> {
    let tx = conn.transaction()?;
    let mut deliveries = Vec::new();
    let mut last_group = None;
    let hidden_until = now + millis(settings.visibility_timeout);
    {
        let mut first_group =
            tx.prepare_cached("SELECT grp FROM queue_messages WHERE queue = ?1 AND dead = 0 ORDER BY grp LIMIT 1")?;
        let mut group_after = tx.prepare_cached(
            "SELECT grp FROM queue_messages WHERE queue = ?1 AND dead = 0 AND grp > ?2 ORDER BY grp LIMIT 1",
        )?;
        let mut visible = tx.prepare_cached(
            "SELECT seq, id, body, receive_count FROM queue_messages
             WHERE queue = ?1 AND dead = 0 AND grp = ?2 AND visible_at <= ?3 ORDER BY visible_at, seq LIMIT ?4",
        )?;
        let mut deliver = tx.prepare_cached(
            "UPDATE queue_messages SET receive_count = ?2, visible_at = ?3, receipt = ?4 WHERE seq = ?1",
        )?;
        let mut bury =
            tx.prepare_cached("UPDATE queue_messages SET dead = 1, dead_at = ?2, receipt = NULL WHERE seq = ?1")?;

        // The next group with live messages after `g`, wrapping around to the first.
        let mut next = |g: Option<&str>| -> rusqlite::Result<Option<String>> {
            let after = match g {
                Some(g) => group_after.query_row(params![queue, g], |r| r.get(0)).optional()?,
                None => None,
            };
            match after {
                Some(a) => Ok(Some(a)),
                None => first_group.query_row(params![queue], |r| r.get(0)).optional(),
            }
        };

        // Up to `max` groups that have visible messages, each with its first `max` of them.
        let mut candidates: Vec<(String, VecDeque<Row>)> = Vec::new();
        let mut group = next(cursor.as_deref())?;
        let start = group.clone();
        while let Some(g) = group {
            let rows: VecDeque<Row> = visible
                .query_map(params![queue, g, now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let following = next(Some(&g))?;
            if !rows.is_empty() {
                candidates.push((g, rows));
            }
            if candidates.len() >= max || following == start {
                break;
            }
            group = following;
        }

        // Round-robin: one delivery per group per round.
        'rounds: loop {
            let mut progressed = false;
            for (g, rows) in candidates.iter_mut() {
                if deliveries.len() >= max {
                    break 'rounds;
                }
                while let Some((seq, id, body, count)) = rows.pop_front() {
                    if count >= settings.max_receives {
                        bury.execute(params![seq, now])?;
                        continue;
                    }
                    let receive_count = count + 1;
                    let receipt = format!("{id}.{receive_count}.{:016x}", rand::random::<u64>());
                    deliver.execute(params![seq, receive_count, hidden_until, receipt])?;
                    deliveries.push(Delivery { id, receipt, body, receive_count });
                    last_group = Some(g.clone());
                    progressed = true;
                    break;
                }
            }
            if !progressed {
                break;
            }
        }
    }
    let next_visible = if deliveries.is_empty() {
        // Cached like the others: an idle queue's every poll ends here.
        tx.prepare_cached("SELECT MIN(visible_at) FROM queue_messages WHERE queue = ?1 AND dead = 0")?
            .query_row(params![queue], |r| r.get::<_, Option<i64>>(0))
            .optional()?
            .flatten()
    } else {
        None
    };
    tx.commit()?;
    Ok(Received { deliveries, last_group, next_visible })
}

/// The message id a receipt was issued for; `None` for strings this adapter never issued.
fn receipt_id(receipt: &str) -> Option<&str> {
    receipt.split_once('.').map(|(id, _)| id).filter(|id| !id.is_empty())
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable(e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable(format!("sqlite: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: QueueName = QueueName("unit");

    fn open(dir: &tempfile::TempDir, visibility: Duration) -> SqliteQueue {
        let settings = QueueSettings { visibility_timeout: visibility, max_receives: 5 };
        SqliteQueue::open(&dir.path().join("q.db"), settings).expect("open queue")
    }

    // SQS only says a stale receipt "might not" delete the message; this adapter guarantees it
    // does not, so a consumer that timed out cannot drop a message another one is working on.
    #[tokio::test]
    async fn stale_receipt_does_not_ack_the_later_delivery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = open(&dir, Duration::from_millis(50));
        q.send(Q, OutMessage::new("m")).await.expect("send");
        let first = q.receive(Q, 1, Duration::ZERO).await.expect("receive").remove(0);
        let second = q.receive(Q, 1, Duration::from_secs(2)).await.expect("receive").remove(0);
        assert_eq!(second.receive_count, 2);
        q.ack(Q, &first.receipt).await.expect("stale ack is not an error");
        q.retry_after(Q, &first.receipt, Duration::from_secs(60)).await.expect("stale retry is not an error");
        // The message is still there, and the stale retry did not hide it for a minute.
        let third = q.receive(Q, 1, Duration::from_secs(2)).await.expect("receive");
        assert_eq!(third.len(), 1, "a stale receipt must not ack or delay the later delivery");
        assert_eq!(third[0].id, first.id);
    }

    #[tokio::test]
    async fn settings_are_per_queue_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fast = QueueName("fast");
        let q = open(&dir, Duration::from_secs(30))
            .with_settings(fast, QueueSettings { visibility_timeout: Duration::from_millis(20), max_receives: 1 });
        q.send_batch(fast, vec![OutMessage::new("f")]).await.expect("send");
        q.send_batch(Q, vec![OutMessage::new("s")]).await.expect("send");
        assert_eq!(q.receive(fast, 1, Duration::ZERO).await.expect("receive").len(), 1);
        assert_eq!(q.receive(Q, 1, Duration::ZERO).await.expect("receive").len(), 1);
        drop(q);

        let q = open(&dir, Duration::from_secs(30))
            .with_settings(fast, QueueSettings { visibility_timeout: Duration::from_millis(20), max_receives: 1 });
        tokio::time::sleep(Duration::from_millis(40)).await;
        // `fast` allows one receive: the second attempt dead-letters; `unit` is still hidden.
        assert!(q.receive(fast, 1, Duration::ZERO).await.expect("receive").is_empty());
        assert_eq!(q.dead_letters(fast, 10).await.expect("dead letters").len(), 1);
        assert!(q.receive(Q, 1, Duration::ZERO).await.expect("receive").is_empty());
    }

    #[test]
    fn receipt_ids() {
        assert_eq!(receipt_id("01ABC.2.ff"), Some("01ABC"));
        assert_eq!(receipt_id("garbage"), None);
        assert_eq!(receipt_id(".1.2"), None);
    }
}
