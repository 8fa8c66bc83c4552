//! Pacing one WhatsApp number at its allowed rate, shared by every concurrent worker (Lambdas or
//! in-process tasks), with no hot item.
//!
//! **Number rate.** Time is cut into 100 ms slots ([`SLOT_MS`]) holding a tenth of the rate
//! each (every second holds exactly `rate`). A slot's capacity is split over up to `shards`
//! counter items `PACE#<phone>#<slot>#<shard>` (at most 16 permits each); a send takes a permit
//! by an atomic `ADD count 1` conditional on `count < capacity_of_shard`, trying shards from a
//! random start. Each counter lives for one slot (then TTL removes it), so at 1,000 msg/s
//! (100 per slot, 7 shards) no item takes more than ~15 writes in its 100 ms life (~150/s), and
//! a full slot simply means "come back for a later one". Workers never coordinate beyond these
//! conditional writes.
//!
//! **Slow-down.** When Meta answers 130429 (throughput) for a number, its rate drops to 80% for
//! a cool-down (an item `PACEADJ#<phone>` with the factor and an expiry), read by every worker —
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

/// Most counter items per slot (a slot of 100 permits at 1,000 msg/s uses 7).
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

fn slot_key(phone: &str, slot: i64, shard: u32) -> Key {
    Key::new(format!("PACE#{phone}#{slot}"), format!("SHARD#{shard}"))
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

/// Length of a pacing slot. Meta meters a number with a token bucket about one second deep:
/// whole-second slots would let one second's sends bunch up at its end and the next second's at
/// its start (two seconds' worth within moments: 130429). Tenth-of-a-second slots keep the sends
/// even.
pub const SLOT_MS: i64 = 100;
const SLOTS_PER_SECOND: i64 = 1000 / SLOT_MS;
/// Most permits one counter item gives per slot: keeps each item under ~160 writes/s.
const MAX_PER_SHARD: u32 = 16;

/// The capacity of slot `slot` (counted from the epoch) at `rate` per second: the rate's share,
/// with the remainder spread so every whole second holds exactly `rate`.
pub fn slot_capacity(rate: u32, slot: i64) -> u32 {
    capacity_in(rate, slot, SLOTS_PER_SECOND)
}

/// A slot's share of `rate` when a second holds `slots_per_second` slots.
fn capacity_in(rate: u32, slot: i64, slots_per_second: i64) -> u32 {
    let r = i64::from(rate);
    let within = slot.rem_euclid(slots_per_second);
    ((within + 1) * r / slots_per_second - within * r / slots_per_second) as u32
}

/// Takes one permit for `phone` at `rate` messages per second, from the current slot's counters
/// (at most `shards` of them).
pub async fn acquire(ports: &Ports, phone: &str, rate: u32, shards: u32) -> Result<Permit, TableError> {
    acquire_in_slots(ports, phone, rate, shards, SLOT_MS).await
}

/// The same counters with slots of `slot_ms` (a divisor of 1,000). Whole-second slots
/// (`slot_ms = 1000`) are a plain per-second window that allows a burst of `rate` at once: what
/// a request rate limit (API keys) wants, unlike a number's even pacing towards Meta.
pub async fn acquire_in_slots(
    ports: &Ports,
    id: &str,
    rate: u32,
    shards: u32,
    slot_ms: i64,
) -> Result<Permit, TableError> {
    let now = ports.clock.now();
    let slot = now.timestamp_millis().div_euclid(slot_ms);
    let capacity = capacity_in(rate.max(1), slot, 1000 / slot_ms);
    if capacity > 0 {
        let shards = capacity.div_ceil(MAX_PER_SHARD).clamp(1, shards.max(1));
        let per_shard = capacity_per_shard(capacity, shards);
        let start = rand::thread_rng().gen_range(0..shards);
        for i in 0..shards {
            let shard = (start + i) % shards;
            let key = slot_key(id, slot, shard);
            if take(ports, &key, per_shard[shard as usize], slot * slot_ms / 1000).await? {
                return Ok(Permit::Granted);
            }
        }
    }
    // This slot is full: try from the next one.
    Ok(Permit::NotBefore(DateTime::<Utc>::from_timestamp_millis((slot + 1) * slot_ms).unwrap_or(now)))
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

/// Per number, the future slot this process is booking deferred sends into, and how many it
/// booked there.
static BOOKINGS: LazyLock<Mutex<HashMap<String, (i64, u32)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
/// Numbers tracked before bookings in the past are forgotten.
const BOOKINGS_PRUNE_AT: usize = 10_000;

/// When a send refused by a full slot should come back: the first slot from `not_before` that
/// this process has booked fewer than its capacity into, at a random point within it so the
/// returns (and the number's sends) stay even. At most
/// [`MAX_DELAY`](crate::ports::queue::MAX_DELAY) ahead; see the module docs.
pub fn spread(phone: &str, rate: u32, not_before: DateTime<Utc>) -> DateTime<Utc> {
    let first = not_before.timestamp_millis().div_euclid(SLOT_MS);
    let last = first + crate::ports::queue::MAX_DELAY.as_millis() as i64 / SLOT_MS - 1;
    let rate = rate.max(1);
    let slot = {
        let mut bookings = BOOKINGS.lock().unwrap_or_else(|p| p.into_inner());
        if bookings.len() >= BOOKINGS_PRUNE_AT {
            bookings.retain(|_, (s, _)| *s >= first);
        }
        let booking = bookings.entry(phone.to_owned()).or_insert((first, 0));
        if booking.0 < first {
            *booking = (first, 0);
        }
        while booking.1 >= slot_capacity(rate, booking.0) && booking.0 < last {
            *booking = (booking.0 + 1, 0);
        }
        booking.1 += 1;
        booking.0
    };
    let within = rand::thread_rng().gen_range(0..SLOT_MS);
    DateTime::<Utc>::from_timestamp_millis(slot * SLOT_MS + within).unwrap_or(not_before)
}

/// Meta answered 130429 for this number: slow it to 80% for [`COOL_DOWN`], compounding at most
/// once per second however many sends were refused at once (a burst of concurrent refusals
/// must not throttle the number to a crawl), never below 1/16.
pub async fn slow_down(ports: &Ports, phone: &str) -> Result<(), TableError> {
    let now_ms = ports.clock.now().timestamp_millis();
    let now = now_ms / 1000;
    let (current, changed_ms) = match ports.table.get(&adjust_key(phone)).await? {
        Some(item) if item.get_i64("until").unwrap_or(0) > now => {
            (item.get("factor").and_then(Value::as_f64).unwrap_or(1.0), item.get_i64("changed_ms").unwrap_or(0))
        }
        _ => (1.0, 0),
    };
    let (factor, changed_ms) =
        if now_ms - changed_ms >= 1000 { ((current * 0.8).max(1.0 / 16.0), now_ms) } else { (current, changed_ms) };
    let until = now + COOL_DOWN.as_secs() as i64;
    let item = Item::new(adjust_key(phone))
        .with("factor", factor)
        .with("changed_ms", changed_ms)
        .with("until", until)
        .with_ttl(until + 60);
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
        // 20/s: two per 100 ms slot.
        let slots: Vec<i64> = (0..45).map(|_| spread(&phone, 20, t0).timestamp_millis() / SLOT_MS).collect();
        let t = t0.timestamp_millis() / SLOT_MS;
        for (i, s) in slots.iter().enumerate() {
            assert_eq!(*s, t + i as i64 / 2, "booking {i}");
        }
        // 40 bookings at 20/s reach two seconds out.
        assert_eq!(slots[39] - t, 19);
        // Once time has moved past the bookings, they start again from there.
        let later = t0 + chrono::Duration::seconds(10);
        assert_eq!(spread(&phone, 20, later).timestamp_millis() / SLOT_MS, t + 100);
    }

    #[test]
    fn slots_hold_exactly_the_rate_each_second() {
        for rate in [1, 7, 20, 25, 80, 999, 1000] {
            let per_second: u32 = (0..10).map(|slot| slot_capacity(rate, 17_000_000_000 + slot)).sum();
            assert_eq!(per_second, rate, "rate {rate}");
            assert!((0..10).all(|slot| slot_capacity(rate, slot) <= rate.div_ceil(10)));
        }
    }

    #[test]
    fn capacity_is_split_exactly() {
        assert_eq!(capacity_per_shard(80, 8), vec![10; 8]);
        assert_eq!(capacity_per_shard(20, 8), vec![3, 3, 3, 3, 2, 2, 2, 2]);
        assert_eq!(capacity_per_shard(1000, 8).iter().sum::<i64>(), 1000);
        assert_eq!(capacity_per_shard(3, 3).iter().sum::<i64>(), 3);
    }
}
