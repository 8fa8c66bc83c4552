//! Cloud API sending limits: per-number throughput and the business/consumer pair rate (one
//! message to the same recipient per `pair_interval`).
//!
//! Throughput is a rolling one-second window, as Meta enforces it: a message is accepted only if
//! fewer than `rate` messages of the same number were accepted in the second before it. So no
//! window of one second — wherever it starts — ever holds more than `rate` accepted messages
//! (a token bucket with a burst of `rate` lets through up to twice the rate in its first second).
//! Each number keeps the times of its last `rate` accepts: the check looks at the oldest one, so
//! it costs O(1) and `rate` timestamps of memory (16 KB at 1,000 msg/s).
//!
//! Every accept is also logged per number ([`AcceptLog`]) so a benchmark can measure the rate it
//! achieved from the simulator's own clock instead of polling a counter.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

const WINDOW: Duration = Duration::from_secs(1);
/// Accept times kept per number (16 bytes each, 16 MB at most): ~17 minutes at 1,000 msg/s.
const ACCEPT_LOG_CAPACITY: usize = 1_000_000;
/// The pair map is swept of stale entries when it grows past this many recipients.
const PAIR_SWEEP_AT: usize = 100_000;

#[derive(Debug)]
pub struct Limits {
    /// What accept offsets are measured from (the simulator's start).
    epoch: Instant,
    windows: HashMap<String, VecDeque<Instant>>,
    last_pair_send: HashMap<(String, String), Instant>,
    accepts: HashMap<String, AcceptLog>,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Throughput,
    Pair,
}

/// One number's accepted sends (offsets from the simulator's start) and refusals.
#[derive(Debug, Default, Clone)]
pub struct AcceptLog {
    pub times: VecDeque<Duration>,
    /// Accepts dropped from the front of `times` because of its capacity.
    pub dropped: u64,
    pub throughput_refused: u64,
    pub pair_refused: u64,
}

impl Limits {
    pub fn new(epoch: Instant) -> Self {
        Self { epoch, windows: HashMap::new(), last_pair_send: HashMap::new(), accepts: HashMap::new() }
    }

    /// Admits one message from `phone` to `to`, or says which limit refuses it. A refused message
    /// consumes nothing, as on Meta: a client backing off is not punished further.
    pub fn admit(
        &mut self,
        phone: &str,
        to: &str,
        per_second: u32,
        pair_interval: Duration,
        now: Instant,
    ) -> Result<(), Refusal> {
        let rate = per_second.max(1) as usize;
        let pair = (phone.to_owned(), to.to_owned());
        if let Some(last) = self.last_pair_send.get(&pair)
            && now.saturating_duration_since(*last) < pair_interval
        {
            self.log(phone).pair_refused += 1;
            return Err(Refusal::Pair);
        }
        if !self.windows.contains_key(phone) {
            self.windows.insert(phone.to_owned(), VecDeque::with_capacity(rate.min(4096)));
        }
        let window = self.windows.get_mut(phone).expect("inserted above");
        // A lowered rate only needs the newest `rate` accepts.
        while window.len() > rate {
            window.pop_front();
        }
        if window.len() == rate {
            // The `rate`-th accept before this one must be a full window ago.
            if now.saturating_duration_since(window[0]) < WINDOW {
                self.log(phone).throughput_refused += 1;
                return Err(Refusal::Throughput);
            }
            window.pop_front();
        }
        window.push_back(now);
        if self.last_pair_send.len() >= PAIR_SWEEP_AT {
            self.last_pair_send.retain(|_, at| now.saturating_duration_since(*at) < pair_interval);
        }
        self.last_pair_send.insert(pair, now);
        let offset = now.saturating_duration_since(self.epoch);
        let log = self.log(phone);
        if log.times.len() >= ACCEPT_LOG_CAPACITY {
            log.times.pop_front();
            log.dropped += 1;
        }
        log.times.push_back(offset);
        Ok(())
    }

    fn log(&mut self, phone: &str) -> &mut AcceptLog {
        // Looked up before inserting: no key allocation on the hot path.
        if !self.accepts.contains_key(phone) {
            self.accepts.insert(phone.to_owned(), AcceptLog::default());
        }
        self.accepts.get_mut(phone).expect("inserted above")
    }

    pub fn accept_log(&self, phone: &str) -> AcceptLog {
        self.accepts.get(phone).cloned().unwrap_or_default()
    }

    /// Forgets one number's accept log (a benchmark's second run starts clean); the limiter's
    /// own window is kept, so clearing never lets a burst through.
    pub fn clear_accept_log(&mut self, phone: &str) {
        self.accepts.remove(phone);
    }
}

/// What one number achieved, computed from the accept times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThroughputStats {
    pub accepted: u64,
    pub throughput_refused: u64,
    pub pair_refused: u64,
    /// First and last accept, microseconds since the simulator started.
    pub first_at_us: Option<u64>,
    pub last_at_us: Option<u64>,
    /// The most accepts in any rolling one-second window `[t, t + 1 s)`, and where it starts.
    pub busiest_window: u64,
    pub busiest_window_start_us: Option<u64>,
    /// Accepts per second between the 5% and the 95% mark of the accepts (start-up and tail
    /// left out); `None` with fewer than 20 accepts or a zero span.
    pub steady_mean_per_second: Option<f64>,
}

impl AcceptLog {
    pub fn stats(&self) -> ThroughputStats {
        let times: Vec<Duration> = self.times.iter().copied().collect();
        let (busiest_window, busiest_start) = busiest_window(&times, WINDOW);
        ThroughputStats {
            accepted: times.len() as u64 + self.dropped,
            throughput_refused: self.throughput_refused,
            pair_refused: self.pair_refused,
            first_at_us: times.first().map(micros),
            last_at_us: times.last().map(micros),
            busiest_window,
            busiest_window_start_us: busiest_start.map(|t| micros(&t)),
            steady_mean_per_second: steady_mean(&times),
        }
    }
}

pub fn micros(d: &Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The largest number of `times` (sorted) inside any half-open window `[t, t + width)`, and the
/// first such window's start (windows worth checking start at an accept).
pub fn busiest_window(times: &[Duration], width: Duration) -> (u64, Option<Duration>) {
    let mut best = (0u64, None);
    let mut end = 0;
    for (start, t) in times.iter().enumerate() {
        while end < times.len() && times[end] < *t + width {
            end += 1;
        }
        let count = (end - start) as u64;
        if count > best.0 {
            best = (count, Some(*t));
        }
    }
    best
}

fn steady_mean(times: &[Duration]) -> Option<f64> {
    let n = times.len();
    if n < 20 {
        return None;
    }
    let (lo, hi) = (n / 20, n * 19 / 20);
    let span = times[hi].checked_sub(times[lo])?.as_secs_f64();
    (span > 0.0).then(|| (hi - lo) as f64 / span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn at_most_rate_in_any_one_second_window() {
        let mut l = Limits::default();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(l.admit("p", &format!("r{i}"), 10, Duration::ZERO, t0), Ok(()));
        }
        assert_eq!(l.admit("p", "rx", 10, Duration::ZERO, t0), Err(Refusal::Throughput));
        // Another number has its own window.
        assert_eq!(l.admit("q", "rx", 10, Duration::ZERO, t0), Ok(()));
        // A token bucket would refill one message after 100 ms; the rolling window does not:
        // the ten accepted at t0 are all still inside the second.
        assert_eq!(l.admit("p", "rx", 10, Duration::ZERO, t0 + ms(100)), Err(Refusal::Throughput));
        assert_eq!(l.admit("p", "rx", 10, Duration::ZERO, t0 + ms(999)), Err(Refusal::Throughput));
        // Exactly one second later the window has moved past all of them.
        for i in 0..10 {
            assert_eq!(l.admit("p", &format!("s{i}"), 10, Duration::ZERO, t0 + ms(1000)), Ok(()));
        }
        assert_eq!(l.admit("p", "sx", 10, Duration::ZERO, t0 + ms(1000)), Err(Refusal::Throughput));
    }

    #[test]
    fn a_paced_sender_is_never_refused_and_a_faster_one_is_held_to_the_rate() {
        let t0 = Instant::now();
        // Exactly at the rate (one every 10 ms at 100/s): every message accepted.
        let mut l = Limits::default();
        for i in 0..1000u64 {
            assert_eq!(l.admit("p", &format!("r{i}"), 100, Duration::ZERO, t0 + ms(i * 10)), Ok(()), "message {i}");
        }
        // Twice the rate for 10 s: exactly the rate gets through, and no rolling window of the
        // accepted times holds more than the rate.
        let mut l = Limits::new(t0);
        let mut accepted = Vec::new();
        for i in 0..2000u64 {
            let at = t0 + ms(i * 5);
            if l.admit("p", &format!("r{i}"), 100, Duration::ZERO, at).is_ok() {
                accepted.push(at - t0);
            }
        }
        assert_eq!(accepted.len(), 1000);
        assert_eq!(busiest_window(&accepted, WINDOW).0, 100);
        assert_eq!(l.accept_log("p").stats().busiest_window, 100);
        assert_eq!(l.accept_log("p").stats().throughput_refused, 1000);
    }

    #[test]
    fn a_token_bucket_pattern_is_refused_at_the_window_edge() {
        // A full burst at t0 then one message every 1/rate s: a bucket would accept the 11th at
        // 100 ms (11 in [0, 1 s)); the window refuses every one of those until t0 + 1 s.
        let mut l = Limits::default();
        let t0 = Instant::now();
        for i in 0..10 {
            l.admit("p", &format!("r{i}"), 10, Duration::ZERO, t0).unwrap();
        }
        let refused =
            (1..10).filter(|i| l.admit("p", &format!("x{i}"), 10, Duration::ZERO, t0 + ms(*i * 100)).is_err()).count();
        assert_eq!(refused, 9);
    }

    #[test]
    fn lowering_the_rate_applies_at_once() {
        let mut l = Limits::default();
        let t0 = Instant::now();
        for i in 0..5 {
            l.admit("p", &format!("r{i}"), 10, Duration::ZERO, t0 + ms(i)).unwrap();
        }
        assert_eq!(l.admit("p", "x", 3, Duration::ZERO, t0 + ms(10)), Err(Refusal::Throughput));
        assert_eq!(l.admit("p", "x", 3, Duration::ZERO, t0 + ms(1004)), Ok(()));
    }

    #[test]
    fn pair_interval_applies_per_recipient() {
        let mut l = Limits::default();
        let t0 = Instant::now();
        let gap = Duration::from_secs(6);
        assert_eq!(l.admit("p", "a", 80, gap, t0), Ok(()));
        assert_eq!(l.admit("p", "a", 80, gap, t0 + Duration::from_secs(5)), Err(Refusal::Pair));
        assert_eq!(l.admit("p", "b", 80, gap, t0 + Duration::from_secs(5)), Ok(()));
        assert_eq!(l.admit("p", "a", 80, gap, t0 + Duration::from_secs(6)), Ok(()));
        assert_eq!(l.accept_log("p").stats().pair_refused, 1);
    }

    #[test]
    fn busiest_window_and_steady_mean() {
        assert_eq!(busiest_window(&[], WINDOW), (0, None));
        let times = [ms(0), ms(500), ms(999), ms(1000), ms(1100), ms(1200), ms(3000)];
        // [500, 1500) holds five; [0, 1000) only three, [1000, 2000) three.
        assert_eq!(busiest_window(&times, WINDOW), (5, Some(ms(500))));
        let even: Vec<Duration> = (0..1000).map(|i| ms(i * 4)).collect(); // 250/s
        let log = AcceptLog { times: even.into_iter().collect(), ..AcceptLog::default() };
        let stats = log.stats();
        assert_eq!(stats.accepted, 1000);
        assert_eq!(stats.busiest_window, 250);
        assert_eq!(stats.first_at_us, Some(0));
        assert!((stats.steady_mean_per_second.unwrap() - 250.0).abs() < 1e-9);
    }

    #[test]
    fn clearing_the_log_keeps_the_limit() {
        let mut l = Limits::default();
        let t0 = Instant::now();
        l.admit("p", "a", 1, Duration::ZERO, t0).unwrap();
        l.clear_accept_log("p");
        assert_eq!(l.accept_log("p").stats().accepted, 0);
        assert_eq!(l.admit("p", "b", 1, Duration::ZERO, t0 + ms(10)), Err(Refusal::Throughput));
    }
}
