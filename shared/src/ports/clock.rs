//! Time and identifiers, as ports so that tests can control them.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn epoch_seconds(&self) -> i64 {
        self.now().timestamp()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap() = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Identifiers are ULIDs (sortable by creation time) with a Stripe-style type prefix,
/// e.g. `ten_01jd…`, so a stray id in a log says what it is.
pub trait IdGen: Send + Sync + 'static {
    fn new_id(&self, prefix: &str) -> String;
}

/// Monotonic within a process: two ids made in the same millisecond still sort in the order
/// they were made (lists keyed by id are then in creation order).
#[derive(Default)]
pub struct UlidGen(Mutex<ulid::Generator>);

impl IdGen for UlidGen {
    fn new_id(&self, prefix: &str) -> String {
        let ulid = {
            let mut generator = self.0.lock().unwrap_or_else(|p| p.into_inner());
            // Overflow needs 2^80 ids in one millisecond; fall back to a fresh random one.
            generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
        };
        format!("{prefix}_{}", ulid.to_string().to_ascii_lowercase())
    }
}
