//! The rate limiter conformance suite on both adapters: in memory (the local process) and on the
//! table (what every Lambda instance shares: DynamoDB on moto, and SQLite for good measure).
//! A second hands out exactly its cap, however many ask at once; callers and seconds count
//! apart; and a second's permits never carry over.

use std::sync::Arc;

use miping::adapters::embedded::memory_limiter::MemoryRateLimiter;
use miping::adapters::table_limiter::TableRateLimiter;
use miping::ports::limiter::RateLimiter;
use miping::testkit::unique;

/// How many of `asks` concurrent takes of `caller`'s `second` were granted.
async fn granted(limiter: &Arc<dyn RateLimiter>, caller: &str, second: i64, cap: u32, asks: usize) -> usize {
    let takes = (0..asks).map(|_| {
        let (limiter, caller) = (limiter.clone(), caller.to_owned());
        tokio::spawn(async move { limiter.take(&caller, second, cap).await.expect("take") })
    });
    let mut n = 0;
    for t in takes {
        n += usize::from(t.await.expect("task"));
    }
    n
}

async fn a_second_hands_out_exactly_its_cap(limiter: Arc<dyn RateLimiter>) {
    let second = chrono::Utc::now().timestamp();
    // One shard (3), several shards with an uneven split (37 over 3), and more shards than
    // the cap spreads over (100 over 4).
    for cap in [3u32, 37, 100] {
        let caller = unique("APIKEY:key");
        assert_eq!(granted(&limiter, &caller, second, cap, cap as usize + 25).await, cap as usize, "cap {cap}");
        // Full: every further ask is refused.
        assert!(!limiter.take(&caller, second, cap).await.unwrap(), "cap {cap}: full");
    }
}

async fn callers_and_seconds_count_apart(limiter: Arc<dyn RateLimiter>) {
    let second = chrono::Utc::now().timestamp();
    let (busy, quiet) = (unique("APIKEY:busy"), unique("APIKEY:quiet"));
    assert_eq!(granted(&limiter, &busy, second, 2, 5).await, 2);
    // Another caller has its own budget in the same second.
    assert!(limiter.take(&quiet, second, 2).await.unwrap());
    // The next second starts afresh, and nothing from the full one carries over.
    assert_eq!(granted(&limiter, &busy, second + 1, 2, 5).await, 2);
    assert!(!limiter.take(&busy, second + 1, 2).await.unwrap());
}

async fn a_cap_of_zero_refuses(limiter: Arc<dyn RateLimiter>) {
    assert!(!limiter.take(&unique("APIKEY:none"), chrono::Utc::now().timestamp(), 0).await.unwrap());
}

macro_rules! limiter_suite {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_second_hands_out_exactly_its_cap() {
            super::a_second_hands_out_exactly_its_cap($make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn callers_and_seconds_count_apart() {
            super::callers_and_seconds_count_apart($make.await).await;
        }
        #[tokio::test]
        async fn a_cap_of_zero_refuses() {
            super::a_cap_of_zero_refuses($make.await).await;
        }
    };
}

mod memory {
    use super::*;
    limiter_suite!(async { Arc::new(MemoryRateLimiter::new()) as Arc<dyn RateLimiter> });
}

mod table_on_sqlite {
    use super::*;
    limiter_suite!(async { Arc::new(TableRateLimiter::new(miping::testkit::sqlite_table())) as Arc<dyn RateLimiter> });
}

mod table_on_dynamodb {
    use super::*;
    limiter_suite!(async {
        Arc::new(TableRateLimiter::new(miping::testkit::dynamodb_table().await)) as Arc<dyn RateLimiter>
    });
}
