//! Cloud API sending limits: per-number throughput (token bucket, burst = rate) and the
//! business/consumer pair rate (one message to the same recipient per `pair_interval`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Limits {
    buckets: HashMap<String, Bucket>,
    last_pair_send: HashMap<(String, String), Instant>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Throughput,
    Pair,
}

impl Limits {
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
        let pair = (phone.to_owned(), to.to_owned());
        if let Some(last) = self.last_pair_send.get(&pair)
            && now.duration_since(*last) < pair_interval
        {
            return Err(Refusal::Pair);
        }
        let rate = f64::from(per_second.max(1));
        let bucket = self.buckets.entry(phone.to_owned()).or_insert(Bucket { tokens: rate, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Err(Refusal::Throughput);
        }
        bucket.tokens -= 1.0;
        self.last_pair_send.insert(pair, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_rate() {
        let mut l = Limits::default();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(l.admit("p", &format!("r{i}"), 10, Duration::ZERO, t0), Ok(()));
        }
        assert_eq!(l.admit("p", "rx", 10, Duration::ZERO, t0), Err(Refusal::Throughput));
        // Another number has its own bucket.
        assert_eq!(l.admit("q", "rx", 10, Duration::ZERO, t0), Ok(()));
        // 100 ms at 10/s refills one message.
        assert_eq!(l.admit("p", "rx", 10, Duration::ZERO, t0 + Duration::from_millis(100)), Ok(()));
        assert_eq!(l.admit("p", "ry", 10, Duration::ZERO, t0 + Duration::from_millis(100)), Err(Refusal::Throughput));
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
    }
}
