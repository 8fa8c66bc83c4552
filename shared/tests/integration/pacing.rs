//! Per-number pacing on both table adapters: under concurrency a second never grants more than
//! the rate (each 100 ms slot its share), 130429 slow-downs cut it to 80% for that number only (at
//! most once a second), and the pair rate spaces messages
//! to one recipient.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use miping::domain::sending::pacing::{self, Permit};
use miping::ports::Clock;
use miping::ports::clock::ManualClock;
use miping::ports::table::Table;

use crate::common::ports_with_clock;

fn clock() -> Arc<ManualClock> {
    // Mid-second, far from any real "now": slot items are unique to this test.
    Arc::new(ManualClock::new(Utc.timestamp_opt(1_900_000_000 + rand::random::<u32>() as i64, 500_000_000).unwrap()))
}

async fn a_second_never_grants_more_than_the_rate(table: Arc<dyn Table>) {
    let clock = clock();
    let (ports, _dir) = ports_with_clock(table, clock.clone());
    let phone = miping::testkit::unique("phone");
    // Start at a whole second: its ten 100 ms slots must grant exactly the rate between them,
    // each slot its share, however many workers race for it.
    clock.advance(chrono::Duration::milliseconds(500));
    let mut granted = 0;
    for slot in 0..10 {
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (ports, phone) = (ports.clone(), phone.clone());
                tokio::spawn(async move { pacing::acquire(&ports, &phone, 20, 8).await.unwrap() })
            })
            .collect();
        let mut in_slot = 0;
        for t in tasks {
            match t.await.unwrap() {
                Permit::Granted => in_slot += 1,
                Permit::NotBefore(at) => {
                    assert_eq!(at, clock.now() + chrono::Duration::milliseconds(100), "the next slot")
                }
            }
        }
        assert_eq!(in_slot, 2, "slot {slot} holds a tenth of 20/s");
        granted += in_slot;
        clock.advance(chrono::Duration::milliseconds(100));
    }
    assert_eq!(granted, 20);
    // The next second has its own capacity.
    assert_eq!(pacing::acquire(&ports, &phone, 20, 8).await.unwrap(), Permit::Granted);
}

async fn slow_down_is_per_number_and_cools_off(table: Arc<dyn Table>) {
    let clock = clock();
    let (ports, _dir) = ports_with_clock(table, clock.clone());
    let (a, b) = (miping::testkit::unique("phone-a"), miping::testkit::unique("phone-b"));
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 80);
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 64);
    // A burst of refusals within the same second slows the number once, not once per refusal.
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 64);
    clock.advance(chrono::Duration::seconds(1));
    pacing::slow_down(&ports, &a).await.unwrap();
    assert_eq!(pacing::effective_rate(&ports, &a, 80).await.unwrap(), 51);
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
            a_second_never_grants_more_than_the_rate($make.await).await
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
