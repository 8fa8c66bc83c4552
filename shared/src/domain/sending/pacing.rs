//! Pacing one WhatsApp number at its allowed rate, shared by every concurrent worker (Lambdas or
//! in-process tasks), with no hot item.
//!
//! **Number rate.** Time is cut into one-second slots. A slot's capacity (`rate`) is split over
//! `shards` counter items `PACE#<phone>#<second>#<shard>`; a send takes a permit by an atomic
//! `ADD count 1` conditional on `count < capacity_of_shard`, trying shards from a random start.
//! Each counter item lives for one second (then TTL removes it), so at 1,000 msg/s with 8 shards
//! no item is written more than ~125 times per second, and a full second simply means "wait for
//! the next slot". Workers never coordinate beyond these conditional writes.
//!
//! **Slow-down.** When Meta answers 130429 (throughput) for a number, its rate is halved for a
//! cool-down (an item `PACEADJ#<phone>` with the factor and an expiry), read by every worker —
//! only that number slows down. 131056 (pair rate) marks the recipient pair instead.
//!
//! **Spreading a backlog.** A send that finds its second full is handed back to the queue, not
//! slept on (the worker serves other numbers meanwhile). Handing every such job back to "the
//! next second" would make a 50,000-message backlog at 80/s come back ~600 times per message;
//! [`spread`] instead books them into consecutive future seconds, `rate` per second, so each
//! comes back about once, at about its turn. The booking is a process-local hint: permits are
//! still taken from the slot counters when the job returns, so concurrent workers that over-book
//! a second only cause a second hand-back, never a send above the rate.
//!
//! **Pair rate.** Meta allows about one message every 6 s from a number to the same recipient:
//! `PAIR#<phone>#<recipient>` holds the earliest next send, claimed with a conditional update.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::Value;

use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Key, TableError, Update};

/// Counter items per second-slot. 8 keeps each item under ~125 writes/s at 1,000 msg/s.
pub const DEFAULT_SHARDS: u32 = 8;
/// Meta's pair rate: about one message every 6 s to one recipient.
pub const PAIR_INTERVAL: Duration = Duration::from_secs(6);
/// How long a 130429 slow-down lasts.
pub const COOL_DOWN: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Send now.
    Granted,
    /// Not before this instant (the caller re-queues the message with that delay, or sleeps).
    NotBefore(DateTime<Utc>),
}

fn slot_key(phone: &str, second: i64, shard: u32) -> Key {
    Key::new(format!("PACE#{phone}#{second}"), format!("SHARD#{shard}"))
}

fn adjust_key(phone: &str) -> Key {
    Key::new(format!("PACEADJ#{phone}"), "PACEADJ")
}

fn pair_key(phone: &str, recipient: &str) -> Key {
    Key::new(format!("PAIR#{phone}#{recipient}"), "PAIR")
}

/// The effective rate of a number now: its allowed rate, reduced while cooling down.
pub async fn effective_rate(ports: &Ports, phone: &str, allowed_per_second: u32) -> Result<u32, TableError> {
    let now = ports.clock.epoch_seconds();
    let factor = match ports.table.get(&adjust_key(phone)).await? {
        Some(item) if item.get_i64("until").unwrap_or(0) > now => {
            item.get("factor").and_then(Value::as_f64).unwrap_or(1.0)
        }
        _ => 1.0,
    };
    Ok(((allowed_per_second as f64) * factor).floor().max(1.0) as u32)
}

/// Takes one permit for `phone` at `rate` messages per second.
pub async fn acquire(ports: &Ports, phone: &str, rate: u32, shards: u32) -> Result<Permit, TableError> {
    let now = ports.clock.now();
    let second = now.timestamp();
    let shards = shards.clamp(1, rate.max(1));
    let per_shard = capacity_per_shard(rate, shards);
    let start = rand::thread_rng().gen_range(0..shards);
    for i in 0..shards {
        let shard = (start + i) % shards;
        let cap = per_shard[shard as usize];
        if cap == 0 {
            continue;
        }
        let key = slot_key(phone, second, shard);
        if take(ports, &key, cap, second).await? {
            return Ok(Permit::Granted);
        }
    }
    // This second is full: the next slot starts at the next whole second.
    Ok(Permit::NotBefore(DateTime::<Utc>::from_timestamp(second + 1, 0).unwrap_or(now)))
}

/// One permit from a slot counter: `ADD count 1` only while `count < cap`. The counter item is
/// created first (with `count = 0`, a no-op when it exists) so the conditional `ADD` always
/// works on an existing item: its condition then serializes concurrent takers.
async fn take(ports: &Ports, key: &Key, cap: i64, second: i64) -> Result<bool, TableError> {
    for _ in 0..2 {
        let add = Update::new().add("count", 1);
        match ports.table.update(key, add, Some(Cond::lt("count", cap))).await {
            Ok(_) => return Ok(true),
            Err(TableError::ConditionFailed { current: Some(_) }) => return Ok(false),
            Err(TableError::ConditionFailed { current: None }) => {
                let slot = Item::new(key.clone()).with("count", 0).with_ttl(second + 60);
                match ports.table.put(slot, Some(Cond::NotExists)).await {
                    Ok(()) | Err(TableError::ConditionFailed { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// `rate` split over `shards` as evenly as possible (the first `rate % shards` get one more).
pub fn capacity_per_shard(rate: u32, shards: u32) -> Vec<i64> {
    let base = rate / shards;
    let extra = rate % shards;
    (0..shards).map(|i| i64::from(base + u32::from(i < extra))).collect()
}

/// Per number, the future second this process is booking deferred sends into, and how many it
/// booked there.
static BOOKINGS: LazyLock<Mutex<HashMap<String, (i64, u32)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
/// Numbers tracked before bookings in the past are forgotten.
const BOOKINGS_PRUNE_AT: usize = 10_000;

/// When a send refused by a full slot should come back: the first future second (from
/// `not_before`) that this process has booked fewer than `rate` sends into, at a random point
/// within it so the returns (and the number's sends) are even across the second. At most
/// [`MAX_DELAY`](crate::ports::queue::MAX_DELAY) ahead; see the module docs.
pub fn spread(phone: &str, rate: u32, not_before: DateTime<Utc>) -> DateTime<Utc> {
    let first = not_before.timestamp();
    let last = first + crate::ports::queue::MAX_DELAY.as_secs() as i64 - 1;
    let rate = rate.max(1);
    let second = {
        let mut bookings = BOOKINGS.lock().unwrap_or_else(|p| p.into_inner());
        if bookings.len() >= BOOKINGS_PRUNE_AT {
            bookings.retain(|_, (s, _)| *s >= first);
        }
        let booking = bookings.entry(phone.to_owned()).or_insert((first, 0));
        if booking.0 < first {
            *booking = (first, 0);
        }
        if booking.1 >= rate {
            *booking = ((booking.0 + 1).min(last), 0);
        }
        booking.1 += 1;
        booking.0
    };
    let within = rand::thread_rng().gen_range(0..1000);
    DateTime::<Utc>::from_timestamp_millis(second * 1000 + within).unwrap_or(not_before)
}

/// Meta answered 130429 for this number: halve its rate for [`COOL_DOWN`] (compounding while
/// it keeps happening, never below 1/16).
pub async fn slow_down(ports: &Ports, phone: &str) -> Result<(), TableError> {
    let now = ports.clock.epoch_seconds();
    let current = match ports.table.get(&adjust_key(phone)).await? {
        Some(item) if item.get_i64("until").unwrap_or(0) > now => {
            item.get("factor").and_then(Value::as_f64).unwrap_or(1.0)
        }
        _ => 1.0,
    };
    let factor = (current / 2.0).max(1.0 / 16.0);
    let until = now + COOL_DOWN.as_secs() as i64;
    let item = Item::new(adjust_key(phone)).with("factor", factor).with("until", until).with_ttl(until + 60);
    ports.table.put(item, None).await
}

/// Claims the pair (number → recipient) for a send now, or says when it is free.
pub async fn acquire_pair(
    ports: &Ports,
    phone: &str,
    recipient: &str,
    interval: Duration,
) -> Result<Permit, TableError> {
    let now = ports.clock.now();
    let now_ms = now.timestamp_millis();
    let next = now_ms + interval.as_millis() as i64;
    let key = pair_key(phone, recipient);
    let update = Update::new().set("next_ms", next).set("ttl", next / 1000 + 60);
    let cond = Cond::Or(vec![Cond::AttrNotExists("next_ms".into()), Cond::Le("next_ms".into(), Value::from(now_ms))]);
    match ports.table.update(&key, update, Some(cond)).await {
        Ok(_) => Ok(Permit::Granted),
        Err(TableError::ConditionFailed { current }) => {
            let at = current.and_then(|i| i.get_i64("next_ms")).unwrap_or(next);
            Ok(Permit::NotBefore(DateTime::<Utc>::from_timestamp_millis(at).unwrap_or(now)))
        }
        Err(e) => Err(e),
    }
}

/// Meta answered 131056 for this pair: push its next slot back a full interval.
pub async fn pair_backoff(ports: &Ports, phone: &str, recipient: &str, interval: Duration) -> Result<(), TableError> {
    let next = ports.clock.now().timestamp_millis() + interval.as_millis() as i64;
    let item = Item::new(pair_key(phone, recipient)).with("next_ms", next).with_ttl(next / 1000 + 60);
    ports.table.put(item, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_sends_are_booked_rate_per_second() {
        let phone = format!("spread-{}", rand::random::<u64>());
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let seconds: Vec<i64> = (0..25).map(|_| spread(&phone, 10, t0).timestamp()).collect();
        let t = t0.timestamp();
        assert!(seconds[..10].iter().all(|&s| s == t));
        assert!(seconds[10..20].iter().all(|&s| s == t + 1));
        assert!(seconds[20..].iter().all(|&s| s == t + 2));
        // Once time has moved past the bookings, they start again at the new second.
        let later = t0 + chrono::Duration::seconds(10);
        assert_eq!(spread(&phone, 10, later).timestamp(), t + 10);
    }

    #[test]
    fn capacity_is_split_exactly() {
        assert_eq!(capacity_per_shard(80, 8), vec![10; 8]);
        assert_eq!(capacity_per_shard(20, 8), vec![3, 3, 3, 3, 2, 2, 2, 2]);
        assert_eq!(capacity_per_shard(1000, 8).iter().sum::<i64>(), 1000);
        assert_eq!(capacity_per_shard(3, 3).iter().sum::<i64>(), 3);
    }
}
