//! Per-stage timings for the intake benchmark (`infra/bench.sh intake`): where a request's time
//! goes. Off unless [`enable`] was called (the local process does when `MIPING_STAGE_TIMINGS`
//! names a file to write them to): then each stage adds its count and its time to two atomics.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The stages measured. Nested stages overlap (a session lookup's reads are table reads too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A whole HTTP request, from routing to the response.
    Request,
    /// Resolving the caller: a session token (signature, session, user, tenant) or an API key.
    Auth,
    /// One table `get` or `query`.
    TableRead,
    /// One table write (put, update, delete, transaction), waiting for the store included.
    TableWrite,
    /// The part of [`Stage::TableWrite`] spent waiting for the store's writer (queued).
    WriteWait,
    /// One SQLite COMMIT (one per write, or one per group of writes).
    Commit,
    /// One queue send (a webhook body, a send job).
    QueueSend,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Request,
        Stage::Auth,
        Stage::TableRead,
        Stage::TableWrite,
        Stage::WriteWait,
        Stage::Commit,
        Stage::QueueSend,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Request => "request",
            Stage::Auth => "auth",
            Stage::TableRead => "table_read",
            Stage::TableWrite => "table_write",
            Stage::WriteWait => "write_wait",
            Stage::Commit => "commit",
            Stage::QueueSend => "queue_send",
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static COUNTS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];
static NANOS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

/// Starts counting (for the rest of the process's life).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Adds one occurrence of `stage` that took `took`.
pub fn record(stage: Stage, took: Duration) {
    if enabled() {
        COUNTS[stage as usize].fetch_add(1, Ordering::Relaxed);
        NANOS[stage as usize].fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// The start of a stage, when counting (`None` otherwise: no clock read).
pub fn start() -> Option<Instant> {
    enabled().then(Instant::now)
}

/// Records `stage` as having run since `started` (from [`start`]).
pub fn finish(stage: Stage, started: Option<Instant>) {
    if let Some(t) = started {
        record(stage, t.elapsed());
    }
}

/// Runs `f`, recording its time as `stage`.
pub async fn timed<F: Future>(stage: Stage, f: F) -> F::Output {
    let t = start();
    let out = f.await;
    finish(stage, t);
    out
}

/// Every stage's (name, count, total nanoseconds) so far.
pub fn snapshot() -> Vec<(&'static str, u64, u64)> {
    Stage::ALL
        .iter()
        .map(|s| (s.name(), COUNTS[*s as usize].load(Ordering::Relaxed), NANOS[*s as usize].load(Ordering::Relaxed)))
        .collect()
}

/// [`snapshot`] as a JSON object: `{"request": {"count": n, "nanos": t}, ...}`.
pub fn snapshot_json() -> serde_json::Value {
    snapshot()
        .into_iter()
        .map(|(name, count, nanos)| (name.to_owned(), serde_json::json!({"count": count, "nanos": nanos})))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_once_enabled() {
        let before = snapshot()[Stage::Commit as usize].1;
        enable();
        record(Stage::Commit, Duration::from_micros(5));
        let (name, count, nanos) = snapshot()[Stage::Commit as usize];
        assert_eq!(name, "commit");
        assert!(count > before);
        assert!(nanos >= 5_000);
    }
}
