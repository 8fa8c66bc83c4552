//! Nothing stranded, on both table adapters (SQLite, DynamoDB on moto): the reconciler finds
//! work left between a commit and its queue hand-off through its sparse indexes (never a scan)
//! and queues it again once per grace; parked (held) messages are found per tenant and released
//! only when the tenant may send; a refund left pending by a failure is settled once, by the
//! job's redelivery or by the reconciler; a late inbound message never moves the service
//! window back. Time is a manual clock: no test waits for a grace to pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use miping::ports::Ports;
use miping::ports::clock::ManualClock;
use miping::ports::table::{Cond, Item, Key, Page, Query, Table, TableError, TxOp, Update};

/// Counts the table calls (what a reconciler run costs) and can fail refund transactions (a
/// ledger that is briefly unavailable).
struct Instrumented {
    inner: Arc<dyn Table>,
    reads: AtomicUsize,
    writes: AtomicUsize,
    fail_refunds: AtomicBool,
}

impl Instrumented {
    fn counts(&self) -> (usize, usize) {
        (self.reads.load(Ordering::SeqCst), self.writes.load(Ordering::SeqCst))
    }
}

#[async_trait]
impl Table for Instrumented {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.put(item, cond).await
    }
    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.update(key, update, cond).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key, cond).await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let refund = ops.iter().any(|op| op.key().is_some_and(|k| k.sk == "REFUND"));
        if refund && self.fail_refunds.load(Ordering::SeqCst) {
            return Err(TableError::Unavailable("injected: ledger unavailable".into()));
        }
        self.inner.transact(ops).await
    }
}

struct Env {
    ports: Ports,
    table: Arc<Instrumented>,
    clock: Arc<ManualClock>,
}

async fn env_with(table: impl std::future::Future<Output = Arc<dyn Table>>) -> Env {
    let table = Arc::new(Instrumented {
        inner: table.await,
        reads: AtomicUsize::new(0),
        writes: AtomicUsize::new(0),
        fail_refunds: AtomicBool::new(false),
    });
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let (ports, dir) = crate::common::ports_with_clock(table.clone(), clock.clone());
    // Kept for the test process, as the adapters' files must outlive every use of `ports`.
    std::mem::forget(dir);
    Env { ports, table, clock }
}

macro_rules! stranded_work_suite {
    ($make:expr) => {
        async fn env() -> super::Env {
            super::env_with($make).await
        }
        #[tokio::test]
        async fn a_stranded_message_is_requeued_once_per_grace() {
            super::cases::stranded_message(env().await).await;
        }
        #[tokio::test]
        async fn stalled_fanouts_are_resumed_and_unfinished_cancels_swept_again() {
            super::cases::stalled_campaigns(env().await).await;
        }
        #[tokio::test]
        async fn an_idle_run_costs_the_same_whatever_the_table_holds() {
            super::cases::idle_cost(env().await).await;
        }
        #[tokio::test]
        async fn parked_messages_are_released_per_tenant_once_it_may_send() {
            super::cases::parked(env().await).await;
        }
        #[tokio::test]
        async fn a_refund_interrupted_by_a_failure_is_settled_once() {
            super::cases::pending_refund(env().await).await;
        }
        #[tokio::test]
        async fn a_late_inbound_message_never_moves_the_window_back() {
            super::cases::late_inbound(env().await).await;
        }
    };
}

mod cases {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use miping::domain::billing::{self, DebitRequest, EntryKind, Reference};
    use miping::domain::campaigns::fanout::FanoutJob;
    use miping::domain::messages::dispatch::{self, SendJob};
    use miping::domain::messages::{Direction, Message, MessageStatus, settle};
    use miping::domain::money::Money;
    use miping::domain::reconciler::{self, ReconcileOptions, Reconciled};
    use miping::domain::sending::hold;
    use miping::domain::sending::worker::{Attempt, SendWorker};
    use miping::domain::{inbox, sending};
    use miping::ports::Ports;
    use miping::ports::queue::QueueName;
    use miping::ports::table::{Item, Update};
    use miping::queues::{FANOUT, SEND, SEND_BULK};
    use miping::store::{keys, messages};
    use serde_json::{Value, json};

    use super::Env;

    const GRACE: Duration = Duration::from_secs(60);

    fn options() -> ReconcileOptions {
        ReconcileOptions { grace: GRACE, ..ReconcileOptions::default() }
    }

    fn unique(prefix: &str) -> String {
        miping::testkit::unique(prefix).replace('-', "_")
    }

    fn past_grace(env: &Env) {
        env.clock.advance(chrono::Duration::seconds(GRACE.as_secs() as i64 + 1));
    }

    async fn tenant(ports: &Ports, status: &str) -> String {
        let id = unique("ten");
        let item = Item::new(keys::tenant(&id))
            .with("id", id.clone())
            .with("name", "T")
            .with("slug", id.clone())
            .with("status", status)
            .with("plan_id", "plan_x")
            .with("starts_at", "2020-01-01T00:00:00Z")
            .with("ends_at", Value::Null)
            .with("admin_user_id", "usr_x")
            .with("created_at", "2020-01-01T00:00:00Z")
            .with("updated_at", "2020-01-01T00:00:00Z");
        ports.table.put(item, None).await.unwrap();
        id
    }

    fn message(ports: &Ports, tenant: &str, campaign: Option<&str>, status: MessageStatus) -> Message {
        Message {
            to: Some("+15550001234".into()),
            campaign_id: campaign.map(str::to_owned),
            ..Message::new(ports.ids.new_id("msg"), tenant, Direction::Outbound, "template", status, ports.clock.now())
        }
    }

    /// A message committed as `POST /messages` commits it, whose job was never queued.
    async fn stranded(ports: &Ports, tenant: &str) -> String {
        let m = message(ports, tenant, None, MessageStatus::Queued);
        let item = dispatch::in_handoff(messages::item(&m).unwrap(), ports.clock.now().timestamp_millis());
        ports.table.put(item, None).await.unwrap();
        m.id
    }

    /// Every body on `queue` (received and acknowledged).
    async fn drain(ports: &Ports, queue: QueueName) -> Vec<Value> {
        drain_waiting(ports, queue, Duration::from_millis(20)).await
    }

    /// [`drain`], waiting up to `wait` for delayed messages (the sweep's jobs wait 2 s).
    async fn drain_waiting(ports: &Ports, queue: QueueName, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let batch = ports.queue.receive(queue, 10, wait).await.unwrap();
            if batch.is_empty() {
                return out;
            }
            for d in batch {
                out.push(serde_json::from_str(&d.body).unwrap());
                ports.queue.ack(queue, &d.receipt).await.unwrap();
            }
        }
    }

    async fn run(env: &Env) -> Reconciled {
        reconciler::run(&env.ports, options()).await.unwrap()
    }

    pub async fn stranded_message(env: Env) {
        let ports = &env.ports;
        let t = tenant(ports, "active").await;
        let id = stranded(ports, &t).await;
        let ended = stranded(ports, &t).await;
        ports.table.update(&messages::key(&t, &ended), Update::new().set("status", "failed"), None).await.unwrap();
        assert_eq!(run(&env).await, Reconciled::default(), "within the grace: the live path may still hand it off");

        past_grace(&env);
        let done = run(&env).await;
        assert_eq!((done.messages_requeued, done.cleared), (1, 1), "{done:?}");
        assert_eq!(drain(ports, SEND).await, vec![json!({"tenant_id": t, "message_id": id})]);
        assert_eq!(run(&env).await, Reconciled::default(), "looked at again only after another grace");

        past_grace(&env);
        assert_eq!(run(&env).await.messages_requeued, 1, "still unclaimed (that job lost too): again");
        drain(ports, SEND).await;

        // The worker's claim takes it out of the index: nothing more to do.
        let claim =
            Update::new().set("status", "sending").remove(keys::HANDOFF.pk_attr()).remove(keys::HANDOFF.sk_attr());
        ports.table.update(&messages::key(&t, &id), claim, None).await.unwrap();
        past_grace(&env);
        assert_eq!(run(&env).await, Reconciled::default());
    }

    pub async fn stalled_campaigns(env: Env) {
        let ports = &env.ports;
        let t = tenant(ports, "active").await;
        let now_ms = ports.clock.now().timestamp_millis();
        let campaign = |id: &str, status: &str| {
            let key = keys::campaign(&t, id);
            let (pk, sk) = keys::handoff(&key.pk, now_ms);
            Item::new(key)
                .with("id", id)
                .with("tenant_id", t.clone())
                .with("status", status)
                .with("fanout_page", 2)
                .with(keys::HANDOFF.pk_attr(), pk)
                .with(keys::HANDOFF.sk_attr(), sk)
        };
        let (running, half_swept, swept) = (unique("cmp"), unique("cmp"), unique("cmp"));
        ports.table.put(campaign(&running, "running"), None).await.unwrap();
        let mut item = campaign(&half_swept, "cancelled");
        for shard in 0..4 {
            item = item.with(format!("swept_{shard}"), true);
        }
        ports.table.put(item, None).await.unwrap();
        let mut item = campaign(&swept, "cancelled");
        for shard in 0..keys::CAMPAIGN_MESSAGE_SHARDS {
            item = item.with(format!("swept_{shard}"), true);
        }
        ports.table.put(item, None).await.unwrap();

        past_grace(&env);
        let done = run(&env).await;
        assert_eq!((done.campaigns_resumed, done.sweeps_requeued, done.cleared), (1, 4, 1), "{done:?}");
        let jobs: Vec<FanoutJob> = drain_waiting(ports, FANOUT, Duration::from_secs(3))
            .await
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        let page = FanoutJob::Page { tenant_id: t.clone(), campaign_id: running.clone(), page: 2, resume: true };
        assert!(jobs.contains(&page), "{jobs:?}");
        let shards: BTreeSet<u64> = jobs
            .iter()
            .filter_map(|j| match j {
                FanoutJob::CancelSweep { campaign_id, shard, .. } if *campaign_id == half_swept => Some(*shard),
                _ => None,
            })
            .collect();
        assert_eq!(shards, (4..8).collect(), "only the shards not swept yet");
        assert_eq!(jobs.len(), 5);
        let done_item = ports.table.get(&keys::campaign(&t, &swept)).await.unwrap().unwrap();
        assert!(done_item.get(keys::HANDOFF.pk_attr()).is_none(), "a finished cancel leaves the index");
    }

    pub async fn idle_cost(env: Env) {
        let ports = &env.ports;
        let before = env.table.counts();
        assert_eq!(run(&env).await, Reconciled::default());
        let (empty_reads, empty_writes) = (env.table.counts().0 - before.0, env.table.counts().1 - before.1);

        // A busy table: queued messages just handed off (within the grace), finished ones, and
        // parked-free tenants. None of it is stranded.
        let t = tenant(ports, "active").await;
        for i in 0..300 {
            let status = if i % 3 == 0 { MessageStatus::Queued } else { MessageStatus::Read };
            let m = message(ports, &t, None, status);
            let mut item = messages::item(&m).unwrap();
            if status == MessageStatus::Queued {
                item = dispatch::in_handoff(item, ports.clock.now().timestamp_millis());
            }
            ports.table.put(item, None).await.unwrap();
        }
        let before = env.table.counts();
        assert_eq!(run(&env).await, Reconciled::default());
        let (reads, writes) = (env.table.counts().0 - before.0, env.table.counts().1 - before.1);
        assert_eq!((reads, writes), (empty_reads, empty_writes), "an idle run's cost does not grow with the table");
        assert_eq!(writes, 0);
        let indexes = keys::HANDOFF_SHARDS + keys::REFUND_SHARDS + keys::HELD_SHARDS;
        assert_eq!(reads as u64, indexes, "one query per index shard");
        eprintln!("reconciler, idle run over 300 messages: {reads} queries (one per index shard), {writes} writes");

        // One stranded message: one more write (its index time) and one queue send.
        stranded(ports, &t).await;
        past_grace(&env);
        let before = env.table.counts();
        assert_eq!(run(&env).await.messages_requeued, 101, "the 100 queued ones are past their grace now too");
        let (reads, writes) = (env.table.counts().0 - before.0, env.table.counts().1 - before.1);
        eprintln!("reconciler, 101 stranded messages: {reads} queries, {writes} writes (one per message)");
        assert_eq!(writes, 101);
    }

    pub async fn parked(env: Env) {
        let ports = &env.ports;
        let (a, b) = (tenant(ports, "suspended").await, tenant(ports, "active").await);
        let mut parked_a = Vec::new();
        for campaign in [None, None, Some("cmp_x")] {
            let m = message(ports, &a, campaign, MessageStatus::Queued);
            ports.table.put(messages::item(&m).unwrap(), None).await.unwrap();
            let item = messages::Messages::new(&*ports.table).get(&a, &m.id).await.unwrap().unwrap();
            assert!(hold::park(ports, &item, "tenant_suspended").await.unwrap());
            parked_a.push(m.id);
        }
        let m = message(ports, &b, None, MessageStatus::Queued);
        ports.table.put(messages::item(&m).unwrap(), None).await.unwrap();
        let item = messages::Messages::new(&*ports.table).get(&b, &m.id).await.unwrap().unwrap();
        assert!(hold::park(ports, &item, "whatsapp_connecting").await.unwrap());
        // A sent message is not parkable.
        let sent = message(ports, &b, None, MessageStatus::Sent);
        ports.table.put(messages::item(&sent).unwrap(), None).await.unwrap();
        let item = messages::Messages::new(&*ports.table).get(&b, &sent.id).await.unwrap().unwrap();
        assert!(!hold::park(ports, &item, "tenant_suspended").await.unwrap());

        let mut tenants = BTreeSet::new();
        for shard in 0..keys::HELD_SHARDS {
            tenants.extend(hold::tenants_in_shard(ports, shard, 100).await.unwrap());
        }
        assert_eq!(tenants, [a.clone(), b.clone()].into_iter().collect());
        assert!(hold::has_held(ports, &a).await.unwrap());

        // The reconciler queues the release of the tenant that may send (B), not of A.
        let done = run(&env).await;
        assert_eq!(done.held_tenants_released, 1, "{done:?}");
        let jobs = drain(ports, FANOUT).await;
        assert_eq!(jobs.len(), keys::HELD_SHARDS as usize, "one release job per shard");
        assert!(jobs.iter().all(|j| j["kind"] == "release_held" && j["tenant_id"] == b.as_str()), "{jobs:?}");

        // A release while A is suspended releases nothing; reactivated, everything, each on its lane.
        for shard in 0..keys::HELD_SHARDS {
            assert_eq!(hold::release_page(ports, &a, shard, None).await.unwrap().0, 0);
        }
        ports.table.update(&keys::tenant(&a), Update::new().set("status", "active"), None).await.unwrap();
        let mut released = 0;
        for shard in 0..keys::HELD_SHARDS {
            released += hold::release_page(ports, &a, shard, None).await.unwrap().0;
        }
        assert_eq!(released, 3);
        let ids = |jobs: Vec<Value>| -> BTreeSet<String> {
            jobs.iter().map(|j| j["message_id"].as_str().unwrap().to_owned()).collect()
        };
        let (fast, bulk) = (ids(drain(ports, SEND).await), ids(drain(ports, SEND_BULK).await));
        assert_eq!(fast, parked_a[..2].iter().cloned().collect());
        assert_eq!(bulk, parked_a[2..].iter().cloned().collect());
        assert!(!hold::has_held(ports, &a).await.unwrap());
        for id in &parked_a {
            let v = messages::Messages::new(&*ports.table).view(&a, id).await.unwrap().unwrap();
            assert_eq!((v.status, v.held), (MessageStatus::Queued, None));
        }
    }

    /// Item 3: the give-up wrote `failed`, then the refund failed (the ledger unavailable); the
    /// redelivered job used to skip a `failed` message, so the debit stayed. The failure carries
    /// a durable "refund pending" mark: the redelivered job settles it, and the reconciler would.
    pub async fn pending_refund(env: Env) {
        let ports = &env.ports;
        let t = tenant(ports, "active").await; // never connected: the worker gives up at once
        billing::credit(ports, &t, Money::from_units(100_000), None).await.unwrap();
        let worker = SendWorker::new(ports.clone(), sending::prices::PriceTable::default());
        let mut ids = Vec::new();
        for _ in 0..2 {
            let m = message(ports, &t, None, MessageStatus::Queued);
            ports.table.put(messages::item(&m).unwrap(), None).await.unwrap();
            // Debited by an earlier attempt (a definite Meta error put it back to `queued`).
            let request = DebitRequest {
                message_id: m.id.clone(),
                amount: Money::from_units(8_000),
                reference: Reference::message(&m.id),
                category: "marketing".into(),
            };
            billing::debit(ports, &t, &[request]).await.unwrap();
            ids.push(m.id);
        }
        let job = |id: &str| SendJob { tenant_id: t.clone(), message_id: id.to_owned() };

        env.table.fail_refunds.store(true, std::sync::atomic::Ordering::SeqCst);
        for id in &ids {
            assert!(worker.attempt(&job(id), 1).await.is_err(), "the refund failed: the job is retried");
            let item = messages::Messages::new(&*ports.table).get(&t, id).await.unwrap().unwrap();
            assert_eq!(item.get_str("status"), Some("failed"));
            assert!(settle::is_pending(&item), "the refund is owed, durably");
        }
        env.table.fail_refunds.store(false, std::sync::atomic::Ordering::SeqCst);

        // The first message's job comes back: settled there.
        assert_eq!(worker.attempt(&job(&ids[0]), 2).await.unwrap(), Attempt::Skipped);
        // The second one's job is gone (dead-lettered, say): the reconciler settles it.
        assert_eq!(run(&env).await.refunds_settled, 0, "within the grace");
        past_grace(&env);
        assert_eq!(run(&env).await.refunds_settled, 1);
        assert_eq!(run(&env).await.refunds_settled, 0);
        assert_eq!(worker.attempt(&job(&ids[0]), 3).await.unwrap(), Attempt::Skipped);

        let (entries, _) = billing::list(ports, &t, 100, None).await.unwrap();
        for id in &ids {
            let refunds = entries
                .iter()
                .filter(|e| e.kind == EntryKind::Refund && e.reference.as_ref().is_some_and(|r| r.id == *id))
                .count();
            assert_eq!(refunds, 1, "{id} refunded once");
            assert!(!settle::is_pending(&messages::Messages::new(&*ports.table).get(&t, id).await.unwrap().unwrap()));
        }
        assert_eq!(billing::balance(ports, &t).await.unwrap(), Money::from_units(100_000));
    }

    /// Item 10: Meta delivers inbound messages late and out of order; the latest one sets the
    /// 24 h window, an older one arriving after it only counts as unread.
    pub async fn late_inbound(env: Env) {
        let ports = &env.ports;
        let t = tenant(ports, "active").await;
        let contact = unique("con");
        let now = chrono::DateTime::from_timestamp(ports.clock.now().timestamp(), 0).unwrap();
        let early = now - chrono::Duration::hours(20);
        assert!(
            inbox::record_inbound(ports, &t, &contact, &crate::common::inbound_text("wamid.new", now))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            inbox::record_inbound(ports, &t, &contact, &crate::common::inbound_text("wamid.old", early))
                .await
                .unwrap()
                .is_some()
        );
        let conv = inbox::get(ports, &t, &inbox::conversation_id(&contact), &inbox::Scope::All).await.unwrap().unwrap();
        assert_eq!(conv.last_inbound_at, Some(now), "the late message does not shorten the window");
        assert_eq!(conv.unread_count, 2);
        assert_eq!(conv.last_message_preview.as_deref(), Some("wamid.new"));
        assert!(conv.window_open(now + chrono::Duration::hours(23)));
        // A newer one moves it on.
        let later = now + chrono::Duration::hours(1);
        inbox::record_inbound(ports, &t, &contact, &crate::common::inbound_text("wamid.newer", later)).await.unwrap();
        let conv = inbox::get(ports, &t, &inbox::conversation_id(&contact), &inbox::Scope::All).await.unwrap().unwrap();
        assert_eq!((conv.last_inbound_at, conv.unread_count), (Some(later), 3));
    }
}

crate::common::on_both_tables!(stranded_work_suite);
