//! [`RateLimiter`] in memory: the local process serves every request itself, so its counters
//! are exact here and cost no table write (a rate limit's count is worthless after its second:
//! a restart forgets nothing that matters).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ports::limiter::{LimiterError, RateLimiter};

/// Callers' seconds kept before the ones that are over are forgotten.
const PRUNE_AT: usize = 4096;

#[derive(Default)]
pub struct MemoryRateLimiter {
    /// Per caller: the latest second it asked for, and how many permits that second handed out.
    counts: Mutex<HashMap<String, (i64, u32)>>,
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn take(&self, caller: &str, second: i64, cap: u32) -> Result<bool, LimiterError> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= PRUNE_AT && !counts.contains_key(caller) {
            counts.retain(|_, (s, _)| *s >= second);
        }
        let (at, taken) = counts.entry(caller.to_owned()).or_insert((second, 0));
        // Only a later second starts afresh. A request that read the clock just before a later
        // one took its permit counts against the current second: never a free pass.
        if *at < second {
            (*at, *taken) = (second, 0);
        }
        if *taken >= cap {
            return Ok(false);
        }
        *taken += 1;
        Ok(true)
    }
}
