//! [`RateLimiter`] on the table: what every Lambda instance shares on AWS (DynamoDB).
//!
//! A caller's second is split over up to [`MAX_SHARDS`] counter items (`RATE#<caller>#<second>`,
//! `SHARD#<n>`), each holding its share of the cap; a request starts at a random shard and takes
//! a permit with one conditional `ADD` (count below the shard's share), moving to the next shard
//! only when that one is full. A busy key's writes spread over its shards instead of one hot
//! item, and the sum of the shares is the cap, so no second ever hands out more. The items
//! carry a TTL a minute after their second.

use std::sync::Arc;

use async_trait::async_trait;
use rand::Rng;

use crate::ports::limiter::{LimiterError, RateLimiter};
use crate::ports::table::{Cond, Key, Table, TableError, Update};

/// Most counter items of one caller's second.
pub const MAX_SHARDS: u32 = 4;
/// A shard is worth its write from this many permits on (below, one item).
const PER_SHARD: u32 = 16;
/// How long a second's counters stay before the table's TTL removes them.
const TTL_SECONDS: i64 = 60;

pub struct TableRateLimiter {
    table: Arc<dyn Table>,
}

impl TableRateLimiter {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }
}

fn counter_key(caller: &str, second: i64, shard: u32) -> Key {
    Key::new(format!("RATE#{caller}#{second}"), format!("SHARD#{shard}"))
}

/// `cap` split over `shards` as evenly as possible (the first `cap % shards` get one more).
pub fn share_per_shard(cap: u32, shards: u32) -> Vec<i64> {
    let base = cap / shards;
    let extra = cap % shards;
    (0..shards).map(|i| i64::from(base + u32::from(i < extra))).collect()
}

fn limiter_error(e: TableError) -> LimiterError {
    match e {
        TableError::Throttled | TableError::Unavailable(_) | TableError::TransactionCanceled { .. } => {
            LimiterError::Unavailable(e.to_string())
        }
        other => LimiterError::Failed(other.to_string()),
    }
}

#[async_trait]
impl RateLimiter for TableRateLimiter {
    async fn take(&self, caller: &str, second: i64, cap: u32) -> Result<bool, LimiterError> {
        if cap == 0 {
            return Ok(false);
        }
        let shards = cap.div_ceil(PER_SHARD).clamp(1, MAX_SHARDS);
        let shares = share_per_shard(cap, shards);
        let start = rand::thread_rng().gen_range(0..shards);
        for i in 0..shards {
            let shard = (start + i) % shards;
            let add = Update::new().add("count", 1).set("ttl", second + TTL_SECONDS);
            let open = Cond::Or(vec![Cond::AttrNotExists("count".into()), Cond::lt("count", shares[shard as usize])]);
            match self.table.update(&counter_key(caller, second, shard), add, Some(open)).await {
                Ok(_) => return Ok(true),
                // This shard's share is taken: the next one may have some left.
                Err(TableError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(limiter_error(e)),
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_cap() {
        assert_eq!(share_per_shard(80, 4), vec![20; 4]);
        assert_eq!(share_per_shard(18, 4), vec![5, 5, 4, 4]);
        assert_eq!(share_per_shard(20, 8), vec![3, 3, 3, 3, 2, 2, 2, 2]);
        for cap in [1u32, 3, 17, 1000] {
            let shards = cap.div_ceil(PER_SHARD).clamp(1, MAX_SHARDS);
            assert_eq!(share_per_shard(cap, shards).iter().sum::<i64>(), i64::from(cap));
        }
    }
}
