//! Small helpers every layer uses, owned by none of them.

use std::time::Duration;

use rand::Rng;

use crate::ports::queue::MAX_DELAY;

/// Lowercase hex of `bytes` (digests in keys, signatures and ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// Exponential backoff with full jitter: uniform in `[0, min(MAX_DELAY, 1 s × 2^(n-1))]`.
/// Full jitter spreads retries of a burst of failures (e.g. an upstream outage) evenly instead
/// of having them all come back at once.
pub fn backoff(receive_count: u32) -> Duration {
    let exp = receive_count.saturating_sub(1).min(20);
    let ceiling = BACKOFF_BASE.saturating_mul(1 << exp).min(MAX_DELAY);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
}
