//! The bound on a balance item's write rate, by construction (docs/billing.md, "Write rates").
//!
//! Every transaction that writes a tenant's balance item (a debit group, a refund group, a
//! credit, a correction) first takes the tenant's turn in this process ([`turn`]). Turns are one
//! at a time per tenant, and each starts at least [`interval`] after the previous one ended. A
//! transaction is attempted inside its turn, so two attempts on one balance item from one process
//! are always at least an interval apart — attempts whose condition fails included (DynamoDB
//! charges those too) — and a process writes a balance item at most `1 s / interval` times a
//! second, whatever the message rate. What arrives for the tenant while the turn is closed waits
//! and is committed together by the next turn (`group`): the busier the tenant, the larger the
//! groups, not the more writes.
//!
//! The interval follows from how many processes can write one balance at the same time,
//! `MIPING_BALANCE_WRITERS` (default 1: the local process; read by the platform, [`set_writers`]). On AWS that is the most concurrent
//! environments of the functions that write balances, per `template.yaml` (the send worker's
//! and the webhook processor's event source mappings' `MaximumConcurrency`, the reconciler, and
//! a reserve for the API's human-driven credits, corrections and cancels), which checks that
//! the figure covers them. Each process then gets an equal share of [`ITEM_WRITES_PER_SECOND`]:
//! `writers × (1 s / interval) ≤ 500`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

/// SPEC: no item written more than 500 times a second.
pub const ITEM_WRITES_PER_SECOND: u32 = 500;

/// How many processes may write one tenant's balance at the same time: 1 (the local process)
/// until the platform sets it from `MIPING_BALANCE_WRITERS` at start-up ([`set_writers`]).
static WRITERS: AtomicU32 = AtomicU32::new(1);

/// Sets [`writers`]; the platform calls it once, before any balance is written (the domain reads
/// no environment: `config::balance_writers_from_env`).
pub fn set_writers(n: u32) {
    WRITERS.store(n.max(1), Ordering::Relaxed);
}

/// How many processes may write one tenant's balance at the same time.
pub fn writers() -> u32 {
    WRITERS.load(Ordering::Relaxed)
}

/// The least time between two balance transactions of one tenant from this process: one second
/// over this process's share of the item's writes.
pub fn interval() -> Duration {
    interval_for(writers())
}

/// The interval for `writers` processes (also what the benchmark prints for AWS's figure).
pub fn interval_for(writers: u32) -> Duration {
    let share = (ITEM_WRITES_PER_SECOND / writers.max(1)).max(1);
    Duration::from_secs(1) / share
}

/// One tenant's gate in this process.
#[derive(Default)]
struct Slot {
    /// Held for the duration of a turn.
    busy: Arc<tokio::sync::Mutex<()>>,
    /// When the last turn ended.
    ended: Mutex<Option<Instant>>,
}

impl Slot {
    fn opens(&self) -> Option<Instant> {
        self.ended.lock().unwrap_or_else(|p| p.into_inner()).map(|end| end + interval())
    }
}

static SLOTS: LazyLock<Mutex<HashMap<String, Arc<Slot>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn slot(tenant_id: &str) -> Arc<Slot> {
    SLOTS.lock().unwrap_or_else(|p| p.into_inner()).entry(tenant_id.to_owned()).or_default().clone()
}

/// The right to attempt one transaction on the tenant's balance item. Its end (the drop, also
/// when the future holding it is cancelled) starts the interval before the next.
pub struct Turn {
    slot: Arc<Slot>,
    _busy: OwnedMutexGuard<()>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Before `_busy` is released (fields drop after this), so the next turn sees it.
        *self.slot.ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// Waits for the tenant's turn: the previous one over and an interval passed since it ended.
pub async fn turn(tenant_id: &str) -> Turn {
    let slot = slot(tenant_id);
    let busy = slot.busy.clone().lock_owned().await;
    if let Some(opens) = slot.opens() {
        tokio::time::sleep_until(opens).await;
    }
    Turn { slot, _busy: busy }
}

/// Waits until the tenant's next turn could start (without taking it): a group's leader waits
/// here, so what arrives meanwhile joins its commit.
pub async fn opened(tenant_id: &str) {
    if let Some(opens) = slot(tenant_id).opens() {
        tokio::time::sleep_until(opens).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_process_gets_its_share_of_the_ceiling() {
        assert_eq!(interval_for(1), Duration::from_millis(2));
        // The AWS figure (template.yaml): 85 writers × 5 a second = 425 ≤ 500.
        assert_eq!(interval_for(85), Duration::from_millis(200));
        for writers in [1, 2, 3, 7, 60, 85, 100, 250, 500] {
            let per_process = Duration::from_secs(1).as_nanos() / interval_for(writers).as_nanos();
            assert!(writers as u128 * per_process <= ITEM_WRITES_PER_SECOND as u128, "{writers}");
        }
    }

    /// Whatever the contention, turns never overlap and each starts an interval or more after
    /// the previous one ended (a lower bound that holds by construction: sleeps never end early
    /// and the clock is monotonic, so this cannot flake on a slow machine).
    #[tokio::test]
    async fn turns_are_one_at_a_time_and_an_interval_apart() {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let spans = spans.clone();
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(i * 300)).await;
                let turn = turn("t_gate_test").await;
                let start = Instant::now();
                tokio::time::sleep(Duration::from_micros(700)).await; // the transaction
                spans.lock().unwrap().push((start, Instant::now()));
                drop(turn);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut spans = spans.lock().unwrap().clone();
        spans.sort();
        assert_eq!(spans.len(), 20);
        for pair in spans.windows(2) {
            assert!(pair[1].0 >= pair[0].1 + interval(), "{:?} then {:?}", pair[0], pair[1]);
        }
    }
}
