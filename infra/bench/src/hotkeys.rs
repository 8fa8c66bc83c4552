//! `miping-bench hotkeys [--rate R] [--messages N]`: one tenant sending at R msg/s (default
//! 1,000) through the real pipeline on the embedded store — bulk-lane send jobs (one contact
//! each: the message joins the contact's conversation once sent), the simulator's
//! `sent`/`delivered`/`read` webhooks, the status transitions with their counters, debits from
//! prepaid credits and the tenant's status callbacks to a local receiver — with a counting
//! decorator in front of the table port. Every successful write is counted against
//!
//! - its item key (SPEC: at most 500 writes/s per item),
//! - the table partition (`PK`) and the partition of EACH index the item is in before or after
//!   the write (`GSI1PK`, `GSI2PK`, `GSI3PK`; DynamoDB writes an index when the item enters it,
//!   leaves it, or changes while in it: every projection is `ALL`) — at most 1,000 writes/s per
//!   partition.
//!
//! To see the index partitions an update or delete leaves, the decorator reads the item before
//! the write (and after a transaction): the benchmark's own reads, not the platform's.
//!
//! Figures per key, measured at the rate the run achieved: `writes` in the run; `/s` = writes
//! per real second on average; `peak/s` = the most writes the key took in one wall-clock second.
//! Then `per msg` = writes / messages and `@1000/s` = per msg × 1,000: what one tenant at 1,000
//! msg/s puts on a key written a fixed number of times per message (a message's shard, counter,
//! ledger entry: those land wherever they land at any rate). That projection is wrong for keys
//! whose writes follow time, not messages, so they are not projected:
//!
//! - the credit balance item (`TENANT#<t>` | `BALANCE`) is written by groups of debits and
//!   refunds, at most once per `billing::gate` interval per process, so its share per message
//!   falls as the rate rises. Its figure is the gate's bound, and the run checks the argument
//!   rather than a projection: no two of its writes closer than the interval (`closest`), so at
//!   most 1 s / interval per second from this process at any rate; on AWS every writing
//!   environment has its own gate, `MIPING_BALANCE_WRITERS` (85 in template.yaml) × its share;
//! - a key bucketed by time (the pacing slots, one partition per number and second) takes the
//!   message rate in its second whatever its share: read its `peak/s` against the rate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use miping::ports::Table;
use miping::ports::table::{Cond, Index, Item, Key, Page, Query, TableError, TxOp, Update};
use serde_json::json;

use miping::domain::billing;
use miping::store::keys;

use crate::sending::Env;

/// `MIPING_BALANCE_WRITERS` in template.yaml: the environments that can write one balance at once.
const AWS_BALANCE_WRITERS: u32 = 85;

type R<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let (mut rate, mut messages) = (1000u32, 10_000usize);
    while let Some(a) = args.next() {
        let mut num = || args.next().and_then(|n| n.parse::<u64>().ok()).ok_or(format!("{a} N"));
        match a.as_str() {
            "--rate" => rate = num()? as u32,
            "--messages" => messages = num()? as usize,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let counts = Arc::new(Counts::default());
    let wrap = {
        let counts = counts.clone();
        Box::new(move |inner: Arc<dyn Table>| Arc::new(Counting { inner, counts }) as Arc<dyn Table>)
    };
    let env = Env::start_with(Some(wrap)).await?;
    env.sim().set_throughput(rate);
    let (tenant, token) = env.api.tenant("hotkeys").await?;
    env.set_rate(&tenant, rate).await?;
    env.api
        .post(
            &format!("/admin/tenants/{tenant}/credits"),
            &env.api.admin,
            json!({"amount": "1000000.00", "description": "bench"}),
        )
        .await?;
    let received = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let receiver = callback_receiver(received.clone()).await?;
    let (status, v) = env
        .api
        .call(
            reqwest::Method::PUT,
            "/settings/callback",
            &token,
            Some(json!({"url": format!("http://{receiver}/hook"), "secret": "bench-callback-secret-0123456789"})),
        )
        .await?;
    if status != 200 {
        return Err(format!("PUT /settings/callback: {status} {v}"));
    }
    println!(
        "one tenant at {rate} msg/s: {messages} bulk-lane template messages to as many contacts (each joins its \
         conversation when sent), the simulator's sent/delivered/read webhooks, prepaid debits, status callbacks to a \
         local receiver; every table write counted"
    );

    counts.on.store(true, Ordering::SeqCst);
    let started = Instant::now();
    env.bulk_to(&tenant, "1555", messages, true).await?;
    // Done when every message reached `read` or `failed` (the simulator fails numbers ending 0000).
    let deadline = started + Duration::from_secs(600 + 10 * messages as u64 / rate.max(1) as u64);
    let today = chrono::Utc::now().date_naive();
    let range =
        format!("/analytics/daily?from={}&to={}", today.pred_opt().unwrap_or(today), today.succ_opt().unwrap_or(today));
    let last = loop {
        let (_, v) = env.api.call(reqwest::Method::GET, &range, &token, None).await?;
        let sum = |f: &str| v["items"].as_array().map(|d| d.iter().filter_map(|x| x[f].as_i64()).sum::<i64>());
        let (read, failed) = (sum("read").unwrap_or(0), sum("failed").unwrap_or(0));
        if read + failed >= messages as i64 {
            break (read, failed);
        }
        if Instant::now() > deadline {
            return Err(format!("only {read} read and {failed} failed of {messages} before the deadline"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // The callbacks of the last statuses: until none came for 3 seconds.
    let mut seen = received.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = received.load(Ordering::SeqCst);
        if now == seen {
            break;
        }
        seen = now;
    }
    counts.on.store(false, Ordering::SeqCst);
    let elapsed = started.elapsed().as_secs_f64();
    let achieved = messages as f64 / elapsed;
    println!(
        "  {messages} messages ({} read, {} failed) in {elapsed:.1} s: {achieved:.0} msg/s end to end (webhooks and \
         callbacks included); {} callbacks received; {} table writes counted",
        last.0,
        last.1,
        seen,
        counts.total()
    );
    let gate = billing::gate::interval();
    let balance = keys::balance(&tenant);
    let balance_item = format!("{} | {}", balance.pk, balance.sk);
    let gated = |key: &str| key == balance_item;
    let show = |title: &str, ceiling: u64, map: &HashMap<String, KeyCount>| {
        // A gated key's figure is its bound; every other key's its per-message projection.
        let figure = |k: &str, c: &KeyCount| {
            if gated(k) { 1.0 / gate.as_secs_f64() } else { c.total as f64 * 1000.0 / messages as f64 }
        };
        let mut rows: Vec<(f64, &String, &KeyCount)> = map.iter().map(|(k, c)| (figure(k, c), k, c)).collect();
        rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let over = rows.iter().filter(|r| r.0 > ceiling as f64 || r.2.peak > ceiling).count();
        println!(
            "\n  {title}: top 10 of {} by writes/s at 1,000 msg/s [ceiling {ceiling}; {over} over, projected or measured]",
            map.len()
        );
        println!("    {:>8} {:>8} {:>7} {:>7} {:>7}  key", "@1000/s", "writes", "/s", "peak/s", "per msg");
        for (figure, k, c) in rows.iter().take(10) {
            let figure = if gated(k) { format!("≤{figure:.0}") } else { format!("{figure:.0}") };
            println!(
                "    {:>8} {:>8} {:>7.0} {:>7} {:>7.3}  {k}",
                figure,
                c.total,
                c.total as f64 / elapsed,
                c.peak,
                c.total as f64 / messages as f64
            );
        }
    };
    let snapshot = counts.snapshot();
    if let Some(c) = snapshot.items.get(&balance_item) {
        let closest = c.closest.unwrap_or(Duration::MAX);
        let aws = billing::gate::interval_for(AWS_BALANCE_WRITERS);
        println!(
            "\n  credit balance item {} | {}: {} writes, {:.0}/s on average and {} in the busiest second at {achieved:.0} \
             msg/s; the closest two {:.1} ms apart, the gate's interval {:.1} ms: {} -> at most {:.0} writes/s from \
             this process at any rate [≤ 500]; on AWS {AWS_BALANCE_WRITERS} writing environments × {:.0}/s = {:.0}/s",
            balance.pk,
            balance.sk,
            c.total,
            c.total as f64 / elapsed,
            c.peak,
            closest.as_secs_f64() * 1000.0,
            gate.as_secs_f64() * 1000.0,
            if closest >= gate { "holds" } else { "VIOLATED" },
            1.0 / gate.as_secs_f64(),
            1.0 / aws.as_secs_f64(),
            AWS_BALANCE_WRITERS as f64 / aws.as_secs_f64(),
        );
    }
    show("item keys (PK | SK)", 500, &snapshot.items);
    show("table partitions (PK)", 1000, &snapshot.partitions[0]);
    for (i, index) in Index::ALL.iter().enumerate() {
        show(&format!("{} partitions ({})", index.name(), index.pk_attr()), 1000, &snapshot.partitions[i + 1]);
    }
    env.platform.stop().await.map_err(err)?;
    Ok(())
}

/// A callback receiver that answers 204 to everything and counts what it got.
async fn callback_receiver(received: Arc<std::sync::atomic::AtomicU64>) -> R<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    let app = axum::Router::new().fallback(move || {
        received.fetch_add(1, Ordering::SeqCst);
        async { axum::http::StatusCode::NO_CONTENT }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

#[derive(Clone, Copy, Default)]
struct KeyCount {
    total: u64,
    peak: u64,
    second: u64,
    in_second: u64,
    /// The shortest time between two of the key's writes.
    closest: Option<Duration>,
    last: Option<Instant>,
}

impl KeyCount {
    /// `n` writes by a call that started `at`.
    fn add(&mut self, second: u64, n: u64, at: Instant) {
        if let Some(last) = self.last {
            let gap = at.saturating_duration_since(last);
            self.closest = Some(self.closest.map_or(gap, |c| c.min(gap)));
        }
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        self.total += n;
        if self.second != second {
            self.second = second;
            self.in_second = 0;
        }
        self.in_second += n;
        self.peak = self.peak.max(self.in_second);
    }
}

#[derive(Clone, Default)]
struct Snapshot {
    items: HashMap<String, KeyCount>,
    /// The table's partitions, then GSI1, GSI2, GSI3.
    partitions: [HashMap<String, KeyCount>; 4],
}

#[derive(Default)]
struct Counts {
    on: AtomicBool,
    map: Mutex<Snapshot>,
    start: std::sync::OnceLock<Instant>,
}

impl Counts {
    fn second(&self) -> u64 {
        self.start.get_or_init(Instant::now).elapsed().as_secs()
    }

    fn total(&self) -> u64 {
        self.map.lock().unwrap().items.values().map(|c| c.total).sum()
    }

    fn snapshot(&self) -> Snapshot {
        self.map.lock().unwrap().clone()
    }

    /// One successful write of the item at `key`, which was `before` and is `after` (`None`:
    /// absent), by the call to the table that started `at` (what the closest-writes figure
    /// compares: the gate spaces the calls, not this decorator's bookkeeping after them).
    fn write(&self, key: &Key, before: Option<&Item>, after: Option<&Item>, at: Instant) {
        if !self.on.load(Ordering::Relaxed) {
            return;
        }
        let second = self.second();
        let mut map = self.map.lock().unwrap();
        map.items.entry(format!("{} | {}", key.pk, key.sk)).or_default().add(second, 1, at);
        map.partitions[0].entry(key.pk.clone()).or_default().add(second, 1, at);
        if before.is_some() && before == after {
            return; // nothing changed: no index write
        }
        for (i, index) in Index::ALL.iter().enumerate() {
            let place = |item: Option<&Item>| {
                item.and_then(|it| {
                    Some((it.get_str(index.pk_attr())?.to_owned(), it.get_str(index.sk_attr())?.to_owned()))
                })
            };
            match (place(before), place(after)) {
                (None, None) => {}
                (Some((pk, _)), None) | (None, Some((pk, _))) => {
                    map.partitions[i + 1].entry(pk).or_default().add(second, 1, at)
                }
                (Some((old_pk, old_sk)), Some((pk, sk))) => {
                    // A changed index key is a delete of the old entry and a put of the new one.
                    if old_pk != pk || old_sk != sk {
                        map.partitions[i + 1].entry(old_pk).or_default().add(second, 1, at);
                    }
                    map.partitions[i + 1].entry(pk).or_default().add(second, 1, at);
                }
            }
        }
    }
}

/// The table port with every successful write counted (see the module doc).
struct Counting {
    inner: Arc<dyn Table>,
    counts: Arc<Counts>,
}

impl Counting {
    async fn before(&self, key: &Key) -> Result<Option<Item>, TableError> {
        if self.counts.on.load(Ordering::Relaxed) { self.inner.get(key).await } else { Ok(None) }
    }
}

#[async_trait]
impl Table for Counting {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError> {
        let key = item.key().ok_or_else(|| TableError::Invalid("item without a key".into()))?;
        let before = self.before(&key).await?;
        let at = Instant::now();
        self.inner.put(item.clone(), cond).await?;
        self.counts.write(&key, before.as_ref(), Some(&item), at);
        Ok(())
    }

    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError> {
        let before = self.before(key).await?;
        let at = Instant::now();
        let after = self.inner.update(key, update, cond).await?;
        self.counts.write(key, before.as_ref(), Some(&after), at);
        Ok(after)
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError> {
        let at = Instant::now();
        let before = self.inner.delete(key, cond).await?;
        if before.is_some() {
            self.counts.write(key, before.as_ref(), None, at);
        }
        Ok(before)
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let mut befores = Vec::with_capacity(ops.len());
        for op in &ops {
            befores.push(match op {
                TxOp::Check { .. } => None,
                _ => match op.key() {
                    Some(k) => self.before(&k).await?,
                    None => None,
                },
            });
        }
        let writes: Vec<(Key, Option<Item>)> = ops
            .iter()
            .zip(befores)
            .filter_map(|(op, before)| match op {
                TxOp::Check { .. } => None,
                TxOp::Put { item, .. } => Some((item.key()?, before)),
                TxOp::Update { key, .. } | TxOp::Delete { key, .. } => Some((key.clone(), before)),
            })
            .collect();
        let deletes: Vec<bool> = ops
            .iter()
            .filter(|op| !matches!(op, TxOp::Check { .. }))
            .map(|op| matches!(op, TxOp::Delete { .. }))
            .collect();
        let at = Instant::now();
        self.inner.transact(ops).await?;
        for ((key, before), delete) in writes.into_iter().zip(deletes) {
            let after =
                if delete || !self.counts.on.load(Ordering::Relaxed) { None } else { self.inner.get(&key).await? };
            self.counts.write(&key, before.as_ref(), after.as_ref(), at);
        }
        Ok(())
    }
}
