//! Per-number pacing on both table adapters: concurrent reservations get distinct permits of the
//! number's grid, all of them while demand lasts, none in the past, never more than the rate in
//! any rolling second, a late send's followers a second later included; 130429 slow-downs cut it to 95%, then by 20% a second, for that number
//! only, and the pair rate spaces messages
//! to one recipient.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use miping::domain::sending::pacing::{self, Grid, Permit, Reservation};
use miping::ports::Clock;
use miping::ports::Ports;
use miping::ports::clock::ManualClock;
use miping::ports::table::Table;

use crate::common::ports_with_clock;

fn clock() -> Arc<ManualClock> {
    // Mid-second, far from any real "now": slot items are unique to this test.
    Arc::new(ManualClock::new(Utc.timestamp_opt(1_900_000_000 + rand::random::<u32>() as i64, 500_000_000).unwrap()))
}

/// Concurrent workers reserving `rate`'s permits while the clock moves on: `demand` reservations
/// at once every `step_ms`, for `steps` steps; each one due between now and the horizon, or
/// full only when nothing is free within it. Returns the granted due times (µs), sorted.
async fn reserve_for(
    ports: &Ports,
    clock: &ManualClock,
    phone: &str,
    rate: u32,
    (steps, step_ms, demand): (usize, i64, usize),
) -> Vec<i64> {
    let mut granted = Vec::new();
    for _ in 0..steps {
        let now = clock.now();
        let horizon = now + chrono::Duration::from_std(pacing::HORIZON).unwrap();
        let tasks: Vec<_> = (0..demand)
            .map(|_| {
                let (ports, phone) = (ports.clone(), phone.to_owned());
                tokio::spawn(async move { pacing::reserve(&ports, &phone, rate, pacing::HORIZON).await.unwrap() })
            })
            .collect();
        for t in tasks {
            match t.await.unwrap() {
                Reservation::Due(due) => {
                    assert!(due >= now && due <= horizon, "due {due} outside [{now}, {horizon}]");
                    granted.push(due.timestamp_micros());
                }
                Reservation::Full(at) => assert!(at > horizon, "full, yet a permit at {at} is within reach"),
            }
        }
        clock.advance(chrono::Duration::milliseconds(step_ms));
    }
    granted.sort_unstable();
    granted
}

/// The most of `times` (sorted, µs) within any one-second window `[t, t + 1 s)`.
fn busiest_second(times: &[i64]) -> usize {
    let mut end = 0;
    (0..times.len())
        .map(|start| {
            while end < times.len() && times[end] < times[start] + 1_000_000 {
                end += 1;
            }
            end - start
        })
        .max()
        .unwrap_or(0)
}

async fn reservations_keep_to_the_grid(table: Arc<dyn Table>) {
    for rate in [80, 200] {
        let clock = clock();
        let (ports, _dir) = ports_with_clock(table.clone(), clock.clone());
        let phone = miping::testkit::unique("phone");
        let grid = Grid::new(rate);
        // Demand well above the rate (12 every 10 ms): every permit from the first one a
        // reservation may take (LEAD ahead) to the last step is handed out, once, on the grid.
        let start = clock.now().timestamp_micros() + pacing::LEAD.as_micros() as i64;
        let granted = reserve_for(&ports, &clock, &phone, rate, (60, 10, 12)).await;
        let end = clock.now().timestamp_micros();
        let mut distinct = granted.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), granted.len(), "rate {rate}: a permit handed out twice");
        let on_grid: Vec<i64> =
            (grid.first_from(start.into())..grid.first_from(end.into())).map(|n| grid.due(n) as i64).collect();
        let used: Vec<i64> = granted.iter().copied().filter(|t| *t < end).collect();
        assert_eq!(used, on_grid, "rate {rate}: every permit used, none off the grid");
        assert!(busiest_second(&granted) <= rate as usize, "rate {rate}");

        // Sparse demand that comes late in each step: permits that went by unused are skipped,
        // never handed out in the past, and no second ever holds more than the rate.
        let granted = reserve_for(&ports, &clock, &phone, rate, (40, 37, 3)).await;
        let all: Vec<i64> = used.into_iter().chain(granted).collect();
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len(), "rate {rate}: a permit handed out twice");
        assert!(busiest_second(&distinct) <= rate as usize, "rate {rate}");
    }
}

/// Reserves every permit over `steps` × 10 ms (more demand than permits), returning each one's
/// due time in µs.
async fn reserve_all(ports: &Ports, clock: &ManualClock, phone: &str, rate: u32, steps: usize) -> Vec<i64> {
    let mut got = Vec::new();
    for _ in 0..steps {
        for _ in 0..4 {
            if let Reservation::Due(due) = pacing::reserve(ports, phone, rate, pacing::HORIZON).await.unwrap() {
                got.push(due.timestamp_micros());
            }
        }
        clock.advance(chrono::Duration::milliseconds(10));
    }
    got.sort_unstable();
    got
}

async fn a_late_send_takes_out_the_permits_a_second_after_it(table: Arc<dyn Table>) {
    let rate = 80;
    let clock = clock();
    let (ports, _dir) = ports_with_clock(table, clock.clone());
    let phone = miping::testkit::unique("phone");
    let grid = Grid::new(rate);
    // A second of permits (and the 250 ms ahead), all sent on time but one: the 31st leaves 20 ms
    // late (a stalled process). The 80th permit after it is not reserved yet.
    let first = reserve_all(&ports, &clock, &phone, rate, 100).await;
    let late_due = first[30];
    let left = late_due + 20_000;
    let at = |t: i64| chrono::DateTime::from_timestamp_micros(t).unwrap();
    for due in &first {
        let left = if *due == late_due { left } else { *due };
        pacing::sent(&ports, &phone, rate, at(*due), at(left)).await.unwrap();
    }
    let mut sends: Vec<i64> = first.iter().map(|due| if *due == late_due { left } else { *due }).collect();
    let then = reserve_all(&ports, &clock, &phone, rate, 150).await;
    // Left at their instants, the permits reserved then never make more than 80 in a second
    // with the late one: the two that would (the 80th and 81st after it, due within a second of
    // when it left) are not handed out; every other one is.
    sends.extend(&then);
    sends.sort_unstable();
    assert_eq!(busiest_second(&sends), rate as usize);
    let n = grid.first_from(late_due.into());
    let skipped: Vec<i128> = (n + 80..n + 82).collect();
    let expected: Vec<i64> = (grid.first_from(then[0].into())..=grid.first_from(then[then.len() - 1].into()))
        .filter(|m| !skipped.contains(m))
        .map(|m| grid.due(m) as i64)
        .collect();
    assert_eq!(then, expected);
    let with_them: Vec<i64> = {
        let mut all = sends.clone();
        all.extend(skipped.iter().map(|m| grid.due(*m) as i64));
        all.sort_unstable();
        all
    };
    assert_eq!(busiest_second(&with_them), rate as usize + 1, "without the skip, 81 in one second");
}

async fn slow_down_is_per_number_and_cools_off(table: Arc<dyn Table>) {
    let clock = clock();
    let (ports, _dir) = ports_with_clock(table, clock.clone());
    let (a, b) = (miping::testkit::unique("phone-a"), miping::testkit::unique("phone-b"));
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 80);
    // A first refusal: 95%.
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 76);
    // A burst of refusals within the same second slows the number once, not once per refusal.
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 76);
    // Refusals that go on, second after second: 20% less each time.
    clock.advance(chrono::Duration::seconds(1));
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 60);
    clock.advance(chrono::Duration::seconds(1));
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 48);
    assert_eq!(pacing::effective_rate(&ports, &b, 80).await.unwrap(), 80, "other numbers keep their rate");
    clock.advance(chrono::Duration::from_std(pacing::COOL_DOWN).unwrap() + chrono::Duration::seconds(1));
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 80);
}

async fn pairs_are_spaced(table: Arc<dyn Table>) {
    let clock = clock();
    let (ports, _dir) = ports_with_clock(table, clock.clone());
    let phone = miping::testkit::unique("phone");
    let interval = Duration::from_secs(6);
    assert_eq!(pacing::acquire_pair(&ports, &phone, "15550001111", interval).await.unwrap(), Permit::Granted);
    let Permit::NotBefore(at) = pacing::acquire_pair(&ports, &phone, "15550001111", interval).await.unwrap() else {
        panic!("a second message to the same recipient must wait")
    };
    assert_eq!((at - clock.now()).num_seconds(), 6);
    assert_eq!(pacing::acquire_pair(&ports, &phone, "15550002222", interval).await.unwrap(), Permit::Granted);
    clock.advance(chrono::Duration::seconds(6));
    assert_eq!(pacing::acquire_pair(&ports, &phone, "15550001111", interval).await.unwrap(), Permit::Granted);
    pacing::pair_backoff(&ports, &phone, "15550002222", interval).await.unwrap();
    assert!(matches!(
        pacing::acquire_pair(&ports, &phone, "15550002222", interval).await.unwrap(),
        Permit::NotBefore(_)
    ));
}

macro_rules! suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn capacity() {
            reservations_keep_to_the_grid($make.await).await
        }
        #[tokio::test]
        async fn late_send() {
            a_late_send_takes_out_the_permits_a_second_after_it($make.await).await
        }
        #[tokio::test]
        async fn slow_down() {
            slow_down_is_per_number_and_cools_off($make.await).await
        }
        #[tokio::test]
        async fn pairs() {
            pairs_are_spaced($make.await).await
        }
    };
}

crate::common::on_both_tables!(suite);
