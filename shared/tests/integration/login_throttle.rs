//! Sign-in throttling on both table adapters, with a manual clock: the waits double after the
//! free attempts, a success starts the pair over, concurrent attempts each take their own slot,
//! and one address has a budget across emails.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use miping::domain::login_throttle::{self, LoginThrottle};
use miping::http::ApiError;
use miping::ports::clock::ManualClock;
use miping::ports::table::Table;

use crate::common::ports_with_clock;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.timestamp_opt(1_900_000_000 + rand::random::<u32>() as i64, 0).unwrap()))
}

/// The wait a refusal asks for (panics on anything but 429 `login_throttled`).
fn retry_after(result: Result<login_throttle::Attempt, miping::domain::Error>) -> u64 {
    let e = ApiError::from(result.err().expect("refused"));
    assert_eq!((e.status.as_u16(), e.code), (429, "login_throttled"));
    e.retry_after.expect("Retry-After")
}

async fn waits_double_after_the_free_attempts(table: Arc<dyn Table>) {
    let clock = clock();
    let (ports, _dir) = ports_with_clock(table, clock.clone());
    let cfg = LoginThrottle { free_attempts: 3, base_delay: Duration::from_secs(10), ..Default::default() };
    let email = miping::testkit::unique("guess") + "@example.test";
    for _ in 0..3 {
        let _ = login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await.unwrap();
    }
    for wait in [10, 20, 40, 80] {
        assert_eq!(retry_after(login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await), wait);
        // Not yet, one second before the end of the wait.
        clock.advance(chrono::Duration::seconds(wait as i64 - 1));
        assert_eq!(retry_after(login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await), 1);
        clock.advance(chrono::Duration::seconds(1));
        let _ = login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await.unwrap();
    }
    // The same email from another address is not slowed; a success there does not clear this pair.
    let other = login_throttle::claim(&ports, &cfg, &email, "203.0.113.5").await.unwrap();
    other.succeeded(&ports).await.unwrap();
    assert_eq!(retry_after(login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await), 160);
    // A success on the pair starts it over.
    clock.advance(chrono::Duration::seconds(160));
    let ok = login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await.unwrap();
    ok.succeeded(&ports).await.unwrap();
    for _ in 0..3 {
        let _ = login_throttle::claim(&ports, &cfg, &email, "198.51.100.1").await.unwrap();
    }
}

async fn concurrent_attempts_each_take_a_slot(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with_clock(table, clock());
    let cfg = LoginThrottle { free_attempts: 4, base_delay: Duration::from_secs(60), ..Default::default() };
    let email = miping::testkit::unique("burst") + "@example.test";
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (ports, cfg, email) = (ports.clone(), cfg.clone(), email.clone());
            tokio::spawn(async move { login_throttle::claim(&ports, &cfg, &email, "198.51.100.2").await.is_ok() })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += usize::from(t.await.unwrap());
    }
    assert_eq!(granted, 4, "exactly the free attempts, however many race");
}

async fn one_address_has_a_budget_across_emails(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with_clock(table, clock());
    let cfg = LoginThrottle { address_limit: 5, ..Default::default() };
    let address = miping::testkit::unique("addr");
    for i in 0..5 {
        let _ = login_throttle::claim(&ports, &cfg, &format!("user{i}@example.test"), &address).await.unwrap();
    }
    let wait = retry_after(login_throttle::claim(&ports, &cfg, "user9@example.test", &address).await);
    assert!(wait >= 1 && wait <= cfg.address_window.as_secs());
    // Another address is not affected, and a success gives its slot back: after one, the full
    // budget of failures is still there.
    let other = miping::testkit::unique("addr");
    let ok = login_throttle::claim(&ports, &cfg, "user9@example.test", &other).await.unwrap();
    ok.succeeded(&ports).await.unwrap();
    for i in 10..15 {
        let _ = login_throttle::claim(&ports, &cfg, &format!("user{i}@example.test"), &other).await.unwrap();
    }
    retry_after(login_throttle::claim(&ports, &cfg, "user15@example.test", &other).await);
}

macro_rules! suite {
    ($make:expr) => {
        #[tokio::test]
        async fn waits_double() {
            waits_double_after_the_free_attempts($make.await).await
        }
        #[tokio::test(flavor = "multi_thread")]
        async fn concurrent_attempts() {
            concurrent_attempts_each_take_a_slot($make.await).await
        }
        #[tokio::test]
        async fn address_budget() {
            one_address_has_a_budget_across_emails($make.await).await
        }
    };
}

crate::common::on_both_tables!(suite);
