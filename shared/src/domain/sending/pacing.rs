//! Pacing one WhatsApp number at its allowed rate, shared by every concurrent worker (Lambdas or
//! in-process tasks), with no hot item.
//!
//! **What Meta enforces.** A number may have at most `rate` messages accepted in any one-second
//! window, wherever it starts (a rolling window: the simulator's `limits` does the same). Counting
//! sends in fixed slots is not enough: with `rate/10` per 100 ms slot, sends bunched at the end
//! of one slot and the start of the slot a second later put up to `1.1 × rate` into one rolling
//! second (that was 0.3% 130429 at 80 msg/s, and each 130429 slowed the number down).
//!
//! **The grid.** Each number has a grid of permits evenly spaced in time: permit `n` (counted from
//! the Unix epoch) is due at `n / (rate × (1 − headroom))` s ([`Grid`]). A send takes one permit
//! and goes to Meta at its due time, not before. Evenly spaced instants put at most
//! `⌈rate × (1 − headroom)⌉ ≤ rate` into any one-second window. The headroom
//! ([`HEADROOM_PER_MILLE`], 0.5%) is the margin for what lies between a permit's instant and
//! Meta's clock taking the message (timer wake-up, the HTTP request): with permits spaced a
//! little more than `1/rate` apart, `rate` sends in a row span `1 s + 5 ms`, so a send may reach
//! Meta up to 5 ms later than the one `rate` sends before it without being refused.
//!
//! **Reserving ahead.** A send reserves the first free permit due between [`LEAD`] (5 ms) and
//! [`HORIZON`] (250 ms) ahead, does its claim and debit meanwhile, and waits for the permit's
//! instant before calling Meta. With a backlog the workers keep the next permits reserved, so a permit never goes by
//! unused while a job is on its way to it (the fixed slots lost a slot's capacity whenever its
//! jobs came late). A permit whose instant has passed is never handed out: the counter skips
//! it. When everything within the horizon is taken the job is handed back to the queue
//! ([`Reservation::Full`]).
//!
//! **The counters.** A number's permits due within one 100 ms slot are held by counter items
//! `PACE#<phone>#<slot>` / `SHARD#<n>`, each for a run of at most 16 consecutive permits; an
//! item's `count` is the next of its permits not handed out. A take is one conditional write,
//! `ADD count 1` while `from ≤ count < cap` (from: the first permit not yet past); a counter
//! behind `from` is moved up with `SET count = from + 1` while `count < from`. Concurrent
//! workers in any number of processes get distinct permits from these conditions alone. At 1,000
//! msg/s an item takes ~16 writes in its ~16 ms of use, then TTL removes it. A process remembers,
//! per number, up to when it found every permit taken (counts only grow, so that stays true) and
//! starts its next reservation there: one write per send in the common case.
//!
//! **Late sends.** A process can be stalled past a permit's instant (a busy machine, a paused
//! Lambda), and the sends it held then leave together; a request can also take a while to
//! reach Meta. One that Meta takes more than the headroom's 5 ms late would share a rolling
//! second with the permit `rate` after its own. That permit is a second ahead, not reserved
//! yet, so the late send takes it out, with any others due up to a second after Meta answered
//! it ([`sent`]; Meta took it at the latest then): the stall costs its length of the rate, as
//! it would at Meta, but no 130429.
//!
//! **Slow-down.** When Meta answers 130429 (throughput) for a number anyway, its rate drops for a
//! cool-down (an item `PACEADJ#<phone>` with the factor and an expiry), read by every worker —
//! only that number slows down: to 95% on a first refusal, then by 20% for each further second
//! with refusals ([`slow_down`]). 131056 (pair rate) marks the recipient pair instead.
//!
//! **Spreading a backlog.** A send that finds the horizon full is handed back to the queue, not
//! slept on (the worker serves other numbers meanwhile). Handing every such job back to "the
//! next second" would make a 50,000-message backlog at 80/s come back ~600 times per message;
//! [`spread`] instead books them into consecutive future 100 ms slots, as many as the grid
//! holds there, so each comes back about once, at about its turn. The booking is a
//! process-local hint: permits are still taken from the counters when the job returns, so
//! concurrent workers that over-book a slot only cause a second hand-back, never a send above
//! the rate.
//!
//! **Pair rate.** Meta allows about one message every 6 s from a number to the same recipient:
//! `PAIR#<phone>#<recipient>` holds the earliest next send, claimed with a conditional update.
//!
//! (An API key's request rate is not paced but limited per second: the `RateLimiter` port.)

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::Value;

use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Key, TableError, Update};

/// Meta's pair rate: about one message every 6 s to one recipient.
pub const PAIR_INTERVAL: Duration = Duration::from_secs(6);
/// How long a 130429 slow-down lasts.
pub const COOL_DOWN: Duration = Duration::from_secs(10);
/// A number's rate after a first 130429 (see [`slow_down`]).
pub const FIRST_SLOW_DOWN: f64 = 0.95;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Send now.
    Granted,
    /// Not before this instant (the caller re-queues the message with that delay, or sleeps).
    NotBefore(DateTime<Utc>),
}

/// The counter item of a number's permits in one 100 ms slot (`shard`: its run of at most 16).
pub fn slot_key(phone: &str, slot: i64, shard: u32) -> Key {
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
    // (The nudge keeps 80 × 0.95, a hair below 76 in binary floating point, at 76.)
    Ok(((allowed_per_second as f64) * factor + 1e-9).floor().max(1.0) as u32)
}

/// Share of a number's rate the grid leaves unused, in thousandths: the margin that absorbs the
/// jitter between a permit's due time and Meta's clock taking the message (see the module docs).
pub const HEADROOM_PER_MILLE: u32 = 5;
/// How far ahead of now a send may reserve its permit (and then wait for it): a backlog keeps
/// the next permits reserved, so none passes unused while a job is on its way to it.
pub const HORIZON: Duration = Duration::from_millis(250);
/// The soonest a reserved permit is due: the claim and debit that come before the send fit in
/// it, so a send is not late for a permit it reserved just now.
pub const LEAD: Duration = Duration::from_millis(5);
/// Length of a pacing slot: the counters of one 100 ms of a number's grid share a partition key.
pub const SLOT_MS: i64 = 100;
const SLOT_US: i128 = SLOT_MS as i128 * 1000;
/// Most permits one counter item holds: at 1,000 msg/s an item lives ~16 ms and takes ~16 writes.
const PER_ITEM: i128 = 16;
const MICROS_PER_KILOSECOND: i128 = 1_000_000_000;

/// A number's permit grid at `rate` messages per second: permit `n` (counted from the Unix
/// epoch) is due at `n / (rate × (1 − HEADROOM_PER_MILLE/1000))` seconds. Evenly spaced permits
/// put at most `rate × (1 − headroom)` (rounded up, so never more than `rate`) in any window of
/// one second, wherever it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Permits per 1,000 s.
    per_kilosecond: i128,
}

/// The permits `[start, stop)` one counter item holds: the `sub`-th run of at most [`PER_ITEM`]
/// of the permits due within the 100 ms slot `slot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    pub slot: i64,
    pub sub: i64,
    pub start: i128,
    pub stop: i128,
}

impl Grid {
    pub fn new(rate: u32) -> Self {
        Self { per_kilosecond: i128::from(rate.max(1)) * i128::from(1000 - HEADROOM_PER_MILLE) }
    }

    /// When permit `n` is due, in microseconds since the epoch.
    pub fn due(self, n: i128) -> i128 {
        (n * MICROS_PER_KILOSECOND).div_euclid(self.per_kilosecond)
    }

    /// The first permit due at or after `t` (microseconds since the epoch).
    pub fn first_from(self, t: i128) -> i128 {
        -(-t * self.per_kilosecond).div_euclid(MICROS_PER_KILOSECOND)
    }

    /// The counter item that holds permit `n`.
    pub fn counter(self, n: i128) -> Counter {
        let slot = self.due(n).div_euclid(SLOT_US);
        let base = self.first_from(slot * SLOT_US);
        let end = self.first_from((slot + 1) * SLOT_US);
        let sub = (n - base) / PER_ITEM;
        let start = base + sub * PER_ITEM;
        Counter { slot: slot as i64, sub: sub as i64, start, stop: (start + PER_ITEM).min(end) }
    }

    /// Permits due within the 100 ms slot `slot`.
    pub fn slot_capacity(self, slot: i64) -> u32 {
        let slot = i128::from(slot);
        (self.first_from((slot + 1) * SLOT_US) - self.first_from(slot * SLOT_US)) as u32
    }
}

/// A number's permit for one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Send at this instant (not before, and as close to it as the sender can).
    Due(DateTime<Utc>),
    /// Every permit within [`HORIZON`] is taken: the first one that may be free is due then.
    Full(DateTime<Utc>),
}

fn from_micros(t: i128) -> DateTime<Utc> {
    i64::try_from(t).ok().and_then(DateTime::<Utc>::from_timestamp_micros).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Reserves the first free permit of `phone`'s grid at `rate` that is due from [`LEAD`] to
/// `horizon` ahead. See the module docs.
pub async fn reserve(ports: &Ports, phone: &str, rate: u32, horizon: Duration) -> Result<Reservation, TableError> {
    let grid = Grid::new(rate);
    let now = i128::from(ports.clock.now().timestamp_micros());
    let limit = now + horizon.as_micros() as i128;
    let mut n = grid.first_from((now + LEAD.as_micros() as i128).max(taken::until(phone)));
    loop {
        let due = grid.due(n);
        if due > limit {
            return Ok(Reservation::Full(from_micros(due)));
        }
        let c = grid.counter(n);
        // Only this run's permits within the horizon.
        let bound = c.stop.min(grid.first_from(limit + 1));
        let key = slot_key(phone, c.slot, c.sub as u32);
        let ttl = c.slot * SLOT_MS / 1000 + 60;
        match take(ports, &key, (n - c.start) as i64, (bound - c.start) as i64, ttl).await? {
            Some((i, item)) => {
                let due = grid.due(c.start + i128::from(i));
                taken::note(phone, due + 1, now);
                // Taken out by a late send a second before (see `sent`): look past them.
                match (item.get_i64(SKIP_FROM), item.get_i64(SKIP_TO)) {
                    (Some(from), Some(to)) if (from..to).contains(&i) => n = c.start + i128::from(to),
                    _ => return Ok(Reservation::Due(from_micros(due))),
                }
            }
            None => {
                n = bound;
                taken::note(phone, grid.due(n), now);
            }
        }
    }
}

/// A send on the permit due at `due` that Meta answered at `answered`: if that is later than
/// the headroom allows, the permits from the `rate`-th after its own that are due up to a second
/// after `answered` are taken out (at most a second's worth), so no rolling second holds it and
/// `rate` more.
///
/// Meta counts a second from when it took the message: somewhere between the request leaving
/// and its answer, so the answer is the bound that is always safe (a stall between the two,
/// on a busy machine, made the occasional 130429 when this counted from the request leaving).
/// Permits `rate` apart are `1.005 s` apart, so a send up to 5 ms late is absorbed; one later
/// than that would share a second with the permit `rate` after its own. That permit is a second
/// ahead, beyond [`HORIZON`], so not reserved yet: its counter item records the range taken
/// out, and a reservation that lands in it looks past it.
pub async fn sent(
    ports: &Ports,
    phone: &str,
    rate: u32,
    due: DateTime<Utc>,
    answered: DateTime<Utc>,
) -> Result<(), TableError> {
    let grid = Grid::new(rate);
    let due = i128::from(due.timestamp_micros());
    let until = i128::from(answered.timestamp_micros()).min(due + 1_000_000) + 1_000_000;
    // The `rate`-th permit after this one is the first a second from `answered` may not hold.
    let mut n = grid.first_from(due) + i128::from(rate.max(1));
    let end = grid.first_from(until);
    while n < end {
        let c = grid.counter(n);
        let range = ((n - c.start) as i64, (end.min(c.stop) - c.start) as i64);
        skip(ports, &slot_key(phone, c.slot, c.sub as u32), range, c.slot * SLOT_MS / 1000 + 60).await?;
        n = c.stop;
    }
    Ok(())
}

/// A counter item's permits `[SKIP_FROM, SKIP_TO)` are taken out (by late sends a second before).
const SKIP_FROM: &str = "skip_from";
const SKIP_TO: &str = "skip_to";

/// Takes out permits `[from, to)` of a counter item: one range per item, widened to cover an
/// earlier one (two late sends whose followers share an item are rare; the permits between
/// them are taken out too). Each write is conditional on the range it read.
async fn skip(ports: &Ports, key: &Key, (from, to): (i64, i64), ttl: i64) -> Result<(), TableError> {
    let mut current: Option<(i64, i64)> = None;
    for _ in 0..4 {
        let (f, t, cond) = match current {
            None => (from, to, Cond::AttrNotExists(SKIP_TO.into())),
            Some((f0, t0)) if f0 <= from && to <= t0 => return Ok(()),
            Some((f0, t0)) => {
                (f0.min(from), t0.max(to), Cond::And(vec![Cond::eq(SKIP_FROM, f0), Cond::eq(SKIP_TO, t0)]))
            }
        };
        let update = Update::new().set(SKIP_FROM, f).set(SKIP_TO, t).set("ttl", ttl);
        match ports.table.update(key, update, Some(cond)).await {
            Ok(_) => return Ok(()),
            Err(TableError::ConditionFailed { current: item }) => {
                current = item.and_then(|i| i.get_i64(SKIP_FROM).zip(i.get_i64(SKIP_TO)));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The first free permit at index `from` or later of a counter item holding `cap` (its `count`
/// is the next index not yet handed out), with the item as written, or `None` when it is full. The common case is one
/// write: `ADD count 1` while `from ≤ count < cap` (a missing item counts 0: `ADD` creates it).
/// A counter behind `from` has permits whose time has passed: `SET count = from + 1` skips them.
/// A failed condition returns the current count, so each retry knows which of the two to do;
/// the count only grows, so this ends.
async fn take(ports: &Ports, key: &Key, from: i64, cap: i64, ttl: i64) -> Result<Option<(i64, Item)>, TableError> {
    let mut behind = false;
    for _ in 0..=cap + 1 {
        let attempt = if behind {
            let skip = Update::new().set("count", from + 1).set("ttl", ttl);
            let cond = Cond::Or(vec![Cond::AttrNotExists("count".into()), Cond::lt("count", from)]);
            ports.table.update(key, skip, Some(cond)).await.map(|item| (from, item))
        } else {
            let add = Update::new().add("count", 1).set("ttl", ttl);
            let open = Cond::And(vec![Cond::ge("count", from), Cond::lt("count", cap)]);
            let cond = if from == 0 { Cond::Or(vec![Cond::AttrNotExists("count".into()), open]) } else { open };
            ports.table.update(key, add, Some(cond)).await.map(|item| (item.get_i64("count").unwrap_or(1) - 1, item))
        };
        match attempt {
            Ok(taken) => return Ok(Some(taken)),
            Err(TableError::ConditionFailed { current }) => {
                let count = current.and_then(|item| item.get_i64("count")).unwrap_or(0);
                if count >= cap {
                    return Ok(None);
                }
                behind = count < from;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Per number, a time before which this process knows every permit is taken (or past): where
/// the next reservation starts looking. Only ever "taken", never "free" — a counter's count
/// only grows, so a hint from another moment or another rate can make a reservation skip a
/// permit, never take one twice.
mod taken {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    static UNTIL: LazyLock<Mutex<HashMap<String, i128>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    /// Numbers tracked before hints in the past are forgotten.
    const PRUNE_AT: usize = 10_000;

    pub fn until(phone: &str) -> i128 {
        UNTIL.lock().unwrap_or_else(|p| p.into_inner()).get(phone).copied().unwrap_or(i128::MIN)
    }

    pub fn note(phone: &str, until: i128, now: i128) {
        let mut map = UNTIL.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT {
            map.retain(|_, t| *t > now);
        }
        match map.get_mut(phone) {
            Some(t) => *t = (*t).max(until),
            None => {
                map.insert(phone.to_owned(), until);
            }
        }
    }
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
    let grid = Grid::new(rate);
    let slot = {
        let mut bookings = BOOKINGS.lock().unwrap_or_else(|p| p.into_inner());
        if bookings.len() >= BOOKINGS_PRUNE_AT {
            bookings.retain(|_, (s, _)| *s >= first);
        }
        let booking = bookings.entry(phone.to_owned()).or_insert((first, 0));
        if booking.0 < first {
            *booking = (first, 0);
        }
        while booking.1 >= grid.slot_capacity(booking.0) && booking.0 < last {
            *booking = (booking.0 + 1, 0);
        }
        booking.1 += 1;
        booking.0
    };
    let within = rand::thread_rng().gen_range(0..SLOT_MS);
    DateTime::<Utc>::from_timestamp_millis(slot * SLOT_MS + within).unwrap_or(not_before)
}

/// Meta answered 130429 for this number: slow it down for [`COOL_DOWN`] — to 95% on a first
/// refusal, then by a further 20% for each second that brings more while it cools down
/// (compounding at most once per second however many sends were refused at once: a burst of
/// concurrent refusals must not throttle the number to a crawl), never below 1/16.
///
/// A lone refusal of a number sent on its grid is a send that reached Meta later than the
/// headroom absorbs (a stalled process): slowing the number by 20% for 10 s for it would cost
/// more than the refusal. A number whose real limit is lower than its rate (or that another
/// sender shares) keeps being refused every second, and is slowed by 20% a second from then on.
pub async fn slow_down(ports: &Ports, phone: &str) -> Result<(), TableError> {
    let now_ms = ports.clock.now().timestamp_millis();
    let now = now_ms / 1000;
    let (current, changed_ms) = match ports.table.get(&adjust_key(phone)).await? {
        Some(item) if item.get_i64("until").unwrap_or(0) > now => {
            (item.get("factor").and_then(Value::as_f64).unwrap_or(1.0), item.get_i64("changed_ms").unwrap_or(0))
        }
        _ => (1.0, 0),
    };
    let (factor, changed_ms) = if changed_ms == 0 {
        (FIRST_SLOW_DOWN, now_ms)
    } else if now_ms - changed_ms >= 1000 {
        ((current * 0.8).max(1.0 / 16.0), now_ms)
    } else {
        (current, changed_ms)
    };
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
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const RATES: [u32; 9] = [1, 7, 20, 25, 80, 200, 999, 1000, 5000];
    /// Mid-2030 in microseconds: far from the epoch, where the products are largest.
    const T0: i128 = 1_900_000_000_000_000;

    /// The most of `times` (sorted) within any window `[t, t + width)`.
    fn busiest(times: &[i128], width: i128) -> usize {
        let mut end = 0;
        let mut best = 0;
        for (start, t) in times.iter().enumerate() {
            while end < times.len() && times[end] < t + width {
                end += 1;
            }
            best = best.max(end - start);
        }
        best
    }

    #[test]
    fn the_grid_is_evenly_spaced_and_its_inverse_exact() {
        for rate in RATES {
            let grid = Grid::new(rate);
            let first = grid.first_from(T0);
            assert!(grid.due(first) >= T0 && grid.due(first - 1) < T0, "rate {rate}");
            for n in first..first + 3000 {
                let due = grid.due(n);
                assert_eq!(grid.first_from(due), n, "rate {rate}, permit {n}");
                assert_eq!(grid.first_from(due + 1), n + 1, "rate {rate}, permit {n}");
                // Spacing is 1 / (rate × 0.995) s, rounded down to the microsecond.
                let gap = grid.due(n + 1) - due;
                let exact = 1_000_000_000 / (i128::from(rate) * 995);
                assert!(gap == exact || gap == exact + 1, "rate {rate}: gap {gap}");
            }
        }
    }

    #[test]
    fn no_rolling_second_holds_more_than_the_rate_and_the_headroom_is_all_that_is_left() {
        let mut rng = StdRng::seed_from_u64(20);
        for rate in RATES {
            let grid = Grid::new(rate);
            // Every permit due over 30 s from a random start.
            let from = grid.first_from(T0 + rng.gen_range(0..1_000_000_000));
            let times: Vec<i128> = (from..grid.first_from(grid.due(from) + 30_000_000)).map(|n| grid.due(n)).collect();
            let most = busiest(&times, 1_000_000);
            assert!(most <= rate as usize, "rate {rate}: {most} in one second");
            // Capacity used: at least the rate less the headroom (rounded down) in every second.
            let least = (rate * (1000 - HEADROOM_PER_MILLE) / 1000) as usize;
            assert!(times.len() >= least * 30, "rate {rate}: {} in 30 s", times.len());
            // The margin: `rate` + 1 permits in a row span more than 1.005 s, so one of them may
            // reach Meta up to 5 ms later than the one `rate` before it and still not make
            // `rate` + 1 within a second.
            for w in times.windows(rate as usize + 1) {
                assert!(w[rate as usize] - w[0] >= 1_005_000, "rate {rate}");
            }
        }
    }

    #[test]
    fn counters_cut_each_slot_into_runs_of_at_most_16() {
        for rate in RATES {
            let grid = Grid::new(rate);
            let first = grid.first_from(T0);
            let mut n = first;
            let mut per_slot: HashMap<i64, u32> = HashMap::new();
            let mut previous: Option<Counter> = None;
            while n < first + 5000 {
                let c = grid.counter(n);
                assert_eq!(c.start, n, "rate {rate}: each run starts where the last stopped");
                assert!(c.stop > c.start && c.stop - c.start <= PER_ITEM, "rate {rate}: {c:?}");
                for m in c.start..c.stop {
                    assert_eq!(grid.counter(m), c, "rate {rate}: permit {m} is in its run");
                    assert_eq!(grid.due(m).div_euclid(SLOT_US), i128::from(c.slot), "rate {rate}: in its slot");
                }
                if let Some(p) = previous {
                    let next_sub = if p.slot == c.slot { p.sub + 1 } else { 0 };
                    assert_eq!(c.sub, next_sub, "rate {rate}: runs numbered within their slot");
                }
                *per_slot.entry(c.slot).or_default() += (c.stop - c.start) as u32;
                previous = Some(c);
                n = c.stop;
            }
            let last = previous.unwrap().slot;
            for (slot, count) in per_slot.into_iter().filter(|(s, _)| *s != last) {
                assert_eq!(count, grid.slot_capacity(slot), "rate {rate}, slot {slot}");
            }
        }
    }

    #[test]
    fn deferred_sends_are_booked_as_the_grid_holds_them() {
        let phone = format!("spread-{}", rand::random::<u64>());
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let grid = Grid::new(20);
        let t = t0.timestamp_millis() / SLOT_MS;
        let slots: Vec<i64> = (0..45).map(|_| spread(&phone, 20, t0).timestamp_millis() / SLOT_MS).collect();
        // Each slot gets as many as the grid holds there (two at 20/s, one now and then).
        let mut expected = Vec::new();
        let mut slot = t;
        while expected.len() < 45 {
            expected.extend(std::iter::repeat_n(slot, grid.slot_capacity(slot) as usize));
            slot += 1;
        }
        expected.truncate(45);
        assert_eq!(slots, expected);
        // 40 bookings at 20/s reach about two seconds out.
        assert!((19..=21).contains(&(slots[39] - t)), "{}", slots[39] - t);
        // Once time has moved past the bookings, they start again from there.
        let later = t0 + chrono::Duration::seconds(10);
        assert_eq!(spread(&phone, 20, later).timestamp_millis() / SLOT_MS, t + 100);
    }
}
