//! Sign-in throttling. Two counters, both claimed *before* the password is checked (so N
//! parallel guesses take N distinct slots, never N passes of one check):
//!
//! - per (email, client address): the first [`LoginThrottle::free_attempts`] attempts are
//!   immediate; from then on each attempt sets a wait before the next one that doubles
//!   (`base_delay`, 2×, 4× … capped at `max_delay`). The claim is a write conditional on the
//!   count read (optimistic concurrency): of two concurrent attempts one wins, the other re-reads.
//!   A success clears the pair. Someone guessing one user's password from one address is slowed
//!   exponentially; the owner signing in from their own address is not affected.
//! - per client address, across emails: at most `address_limit` failures in a fixed window of
//!   `address_window` (an `ADD` conditional on the limit; a success gives its slot back), so one
//!   address cannot try a password on thousands of accounts.
//!
//! Refusals are 429 `login_throttled` with `Retry-After`, and are the same for a known and an
//! unknown email (they happen before the user is looked up).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Key, TableError, Update};
use crate::store::keys;

/// The throttle's parameters (configuration; tests shorten or tighten them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Attempts per (email, address) before waits start.
    pub free_attempts: u32,
    /// The first wait; each further attempt doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a pair's count is remembered after its last attempt.
    pub pair_memory: Duration,
    /// Failed sign-ins one address may make across all emails per window.
    pub address_limit: u32,
    pub address_window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            pair_memory: Duration::from_secs(60 * 60),
            address_limit: 100,
            address_window: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginThrottle {
    /// The wait an attempt numbered `attempt` (1-based) imposes on the next one.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        if attempt < self.free_attempts {
            return Duration::ZERO;
        }
        let doublings = (attempt - self.free_attempts).min(30);
        self.base_delay.saturating_mul(1u32 << doublings).min(self.max_delay)
    }
}

/// Optimistic retries before concurrent attempts on one pair are refused outright.
const CLAIM_ROUNDS: usize = 4;

fn throttled(wait_secs: i64) -> Error {
    Error::too_many(
        "login_throttled",
        "too many sign-in attempts; wait before trying again",
        u64::try_from(wait_secs).unwrap_or(1).max(1),
    )
}

/// The slots an attempt holds; give them back on success with [`Attempt::succeeded`].
#[must_use]
pub struct Attempt {
    pair: Key,
    address: Key,
}

/// Claims an attempt for `email` from `client` (an address bucket), or answers 429.
pub async fn claim(ports: &Ports, cfg: &LoginThrottle, email: &str, client: &str) -> Result<Attempt, Error> {
    let now = ports.clock.now();
    let address = claim_address(ports, cfg, client, now).await?;
    let pair = keys::login_attempts(email, client);
    match claim_pair(ports, cfg, &pair, now).await {
        Ok(()) => Ok(Attempt { pair, address }),
        Err(e) => {
            // Refused before any password check: this attempt does not count against the address.
            release_address(ports, &address).await;
            Err(e)
        }
    }
}

impl Attempt {
    /// The password was right: the pair starts over and the address gets its slot back.
    pub async fn succeeded(self, ports: &Ports) -> Result<(), TableError> {
        ports.table.delete(&self.pair, None).await?;
        release_address(ports, &self.address).await;
        Ok(())
    }
}

async fn claim_address(ports: &Ports, cfg: &LoginThrottle, client: &str, now: DateTime<Utc>) -> Result<Key, Error> {
    let window = cfg.address_window.as_secs().max(1) as i64;
    let index = now.timestamp() / window;
    let window_end = (index + 1) * window;
    let key = keys::login_address_window(client, index);
    let update = Update::new().add("failures", 1).set("ttl", window_end);
    let under_limit =
        Cond::Or(vec![Cond::AttrNotExists("failures".into()), Cond::lt("failures", i64::from(cfg.address_limit))]);
    match ports.table.update(&key, update, Some(under_limit)).await {
        Ok(_) => Ok(key),
        Err(TableError::ConditionFailed { .. }) => Err(throttled(window_end - now.timestamp())),
        Err(e) => Err(e.into()),
    }
}

async fn release_address(ports: &Ports, key: &Key) {
    // Best effort: a lost give-back only makes the window a little stricter.
    if let Err(e) = ports.table.update(key, Update::new().add("failures", -1), Some(Cond::Exists)).await
        && !e.is_condition_failure()
    {
        tracing::warn!(error = %e, "could not give back a sign-in slot");
    }
}

async fn claim_pair(ports: &Ports, cfg: &LoginThrottle, key: &Key, now: DateTime<Utc>) -> Result<(), Error> {
    let epoch = now.timestamp();
    let mut current = ports.table.get(key).await?;
    for _ in 0..CLAIM_ROUNDS {
        let attempts = current.as_ref().and_then(|i| i.get_i64("attempts")).unwrap_or(0);
        let blocked_until = current.as_ref().and_then(|i| i.get_i64("blocked_until")).unwrap_or(0);
        if blocked_until > epoch {
            return Err(throttled(blocked_until - epoch));
        }
        let attempt = u32::try_from(attempts + 1).unwrap_or(u32::MAX);
        let wait = cfg.delay_after(attempt);
        let next_blocked = if wait.is_zero() { 0 } else { epoch + wait.as_secs().max(1) as i64 };
        let item = Item::new(key.clone())
            .with("attempts", i64::from(attempt))
            .with("blocked_until", next_blocked)
            .with_ttl(epoch.max(next_blocked) + cfg.pair_memory.as_secs() as i64);
        // Conditional on what was read: two concurrent attempts cannot both take this count.
        let cond = match current {
            None => Cond::expired_or_absent(epoch),
            Some(_) => Cond::eq("attempts", attempts),
        };
        match ports.table.put(item, Some(cond)).await {
            Ok(()) => return Ok(()),
            Err(TableError::ConditionFailed { current: now_there }) => {
                current = now_there.map(|b| *b).filter(|i| !i.is_expired(epoch));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Lost every round to concurrent attempts on this pair: that is a burst, refuse it.
    Err(throttled(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_after_the_free_attempts_and_is_capped() {
        let cfg = LoginThrottle::default();
        let secs: Vec<u64> = (1..=12).map(|n| cfg.delay_after(n).as_secs()).collect();
        assert_eq!(secs, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128]);
        assert_eq!(cfg.delay_after(40), cfg.max_delay);
        assert_eq!(cfg.delay_after(u32::MAX), cfg.max_delay);
    }
}
