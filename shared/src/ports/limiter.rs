//! Request rate limits: how many requests a caller (an API key) may make in one second.
//!
//! A counter per caller and second hands out at most `cap` permits; a permit it refuses is a 429
//! with `Retry-After` at the edge. The counters are not data: a second's count is worthless a
//! second later, so nothing here needs to survive a restart. What matters is that every
//! instance serving the caller counts against the same counter:
//! - on AWS, every Lambda instance shares the counters as table items (sharded, so a busy key
//!   has no hot item): `adapters::table_limiter`;
//! - the local process is its table's only writer and its own only instance, so it counts in
//!   memory, exactly, with no table write per request: `adapters::embedded::memory_limiter`.

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimiterError {
    /// The counters cannot be reached or are throttled: worth a retry.
    #[error("rate limit counters unavailable: {0}")]
    Unavailable(String),
    /// Anything else the counters' store answered.
    #[error("rate limit counters failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one of the `cap` permits of `caller`'s counter for the epoch second `second`.
    /// `Ok(false)`: that second's permits are all taken (the caller may try the next second).
    async fn take(&self, caller: &str, second: i64, cap: u32) -> Result<bool, LimiterError>;
}
