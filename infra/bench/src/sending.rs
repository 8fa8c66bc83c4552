//! `miping-bench sending <pacing|fairness>`: the send pipeline on the local platform (embedded
//! store, in-process Meta simulator, release build).
//!
//! - `pacing [--rate R] [--messages N]`: one number paced at R msg/s (the simulator's throughput
//!   limit and the connection's rate both R) draining N bulk-lane jobs; prints, from the
//!   simulator's own accept timestamps, the busiest rolling one-second window (what Meta
//!   enforces: never above R) and the mean over the steady part (5% to 95% of the accepts), and
//!   the share of sends Meta refused with 130429. The simulator's status webhooks are
//!   off: this measures the send path (on AWS the webhooks go to other Lambdas).
//! - `fairness [--backlog N] [--seconds S]`: tenant A has N campaign jobs on the bulk lane; meanwhile
//!   tenant B POSTs one-off messages (5/s for S seconds) and runs a 400-recipient campaign of its
//!   own; prints B's one-off latency (POST /messages → `sent`) and how long B's campaign took.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use miping::config::SuperAdminBootstrap;
use miping::domain::messages::dispatch::{SendJob, enqueue_bulk};
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::ports::Ports;
use miping::ports::table::Update;
use miping::store::{keys, messages};
use secrecy::SecretString;
use serde_json::json;

use crate::api::{ADMIN_EMAIL, ADMIN_PASSWORD, Api, R, err};

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let which = args.next().unwrap_or_default();
    let (mut rate, mut messages, mut backlog, mut seconds) = (80u32, 10_000usize, 20_000usize, 30u64);
    while let Some(a) = args.next() {
        let mut num = || args.next().and_then(|n| n.parse::<u64>().ok()).ok_or(format!("{a} N"));
        match a.as_str() {
            "--rate" => rate = num()? as u32,
            "--messages" => messages = num()? as usize,
            "--backlog" => backlog = num()? as usize,
            "--seconds" => seconds = num()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    match which.as_str() {
        "pacing" => pacing(rate, messages).await,
        "fairness" => fairness(backlog, seconds).await,
        _ => Err("usage: miping-bench sending pacing [--rate R] [--messages N] | fairness [--backlog N] [--seconds S]"
            .into()),
    }
}

pub(crate) struct Env {
    pub(crate) platform: miping_local::Platform,
    pub(crate) api: Api,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> R<Self> {
        Self::start_with(None).await
    }

    /// The platform with its table port wrapped (`wrap_table`); callbacks may go to loopback
    /// addresses (a benchmark's own receiver).
    pub(crate) async fn start_with(wrap_table: Option<miping_local::WrapTable>) -> R<Self> {
        let dir = tempfile::tempdir().map_err(err)?;
        let options = miping_local::Options {
            addr: "127.0.0.1:0".parse().map_err(err)?,
            data_dir: dir.path().to_path_buf(),
            configure: Some(Box::new(|c| {
                c.super_admin = Some(SuperAdminBootstrap {
                    email: ADMIN_EMAIL.into(),
                    password: SecretString::from(ADMIN_PASSWORD),
                    generated: false,
                });
                c.allow_private_callbacks = true;
            })),
            simulator: Some("127.0.0.1:0".parse().map_err(err)?),
            consumers: true,
            background_nice: miping_local::background_nice_from_env()?,
            timeouts: Default::default(),
            wrap_queue: None,
            wrap_table,
        };
        let platform = miping_local::start(options).await.map_err(err)?;
        let api = Api::signed_in(platform.base_url(), dir.path().to_path_buf()).await?;
        Ok(Self { platform, api, _dir: dir })
    }

    pub(crate) fn ports(&self) -> &Ports {
        &self.platform.state.ports
    }

    pub(crate) fn sim(&self) -> &meta_sim::SimHandle {
        self.platform.simulator.as_ref().expect("in-process simulator")
    }

    /// Sets the connection's allowed rate (what Meta's throughput level would give).
    pub(crate) async fn set_rate(&self, tenant: &str, rate: u32) -> R<()> {
        let level = if rate > 80 { "HIGH" } else { "STANDARD" };
        let update = Update::new().set("throughput", json!({"level": level, "messages_per_second": rate}));
        self.ports().table.update(&keys::whatsapp_account(tenant), update, None).await.map_err(err)?;
        Ok(())
    }

    /// `n` queued template messages for `tenant`, stored directly, their jobs on the bulk lane
    /// (what a campaign's fan-out produces).
    pub(crate) async fn bulk(&self, tenant: &str, prefix: &str, n: usize) -> R<Vec<String>> {
        self.bulk_to(tenant, prefix, n, false).await
    }

    /// [`Self::bulk`]; with `contacts`, each message is for its own contact, so each joins (and
    /// opens) that contact's conversation when Meta accepts it.
    pub(crate) async fn bulk_to(&self, tenant: &str, prefix: &str, n: usize, contacts: bool) -> R<Vec<String>> {
        let ports = self.ports();
        let mut ids = Vec::with_capacity(n);
        let mut jobs = Vec::new();
        for i in 0..n {
            let id = ports.ids.new_id("msg");
            let m = Message {
                to: Some(format!("+{prefix}{i:07}")),
                template: Some(json!({"name": "spring_sale", "language": {"code": "en_US"}, "components": []})),
                category: Some("marketing".into()),
                contact_id: contacts.then(|| format!("con_{prefix}{i:07}")),
                ..Message::new(id.clone(), tenant, Direction::Outbound, "template", MessageStatus::Queued, Utc::now())
            };
            messages::Messages::new(&*ports.table).create(&m).await.map_err(err)?;
            jobs.push(SendJob { tenant_id: tenant.into(), message_id: id.clone() });
            ids.push(id);
            if jobs.len() == 500 {
                enqueue_bulk(ports, &std::mem::take(&mut jobs)).await.map_err(err)?;
            }
        }
        enqueue_bulk(ports, &jobs).await.map_err(err)?;
        Ok(ids)
    }
}

async fn pacing(rate: u32, n: usize) -> R<()> {
    let env = Env::start().await?;
    env.sim().set_webhook_url(None);
    env.sim().set_throughput(rate);
    let (tenant, token) = env.api.tenant("pacing").await?;
    env.set_rate(&tenant, rate).await?;
    let (_, connection) = env.api.call(reqwest::Method::GET, "/whatsapp/status", &token, None).await?;
    let number = connection["phone_number_id"].as_str().ok_or(format!("no phone_number_id: {connection}"))?.to_owned();
    println!(
        "one number at {rate} msg/s (simulator: at most {rate} accepts in any rolling 1-second window, as Meta): {n} bulk-lane jobs"
    );

    env.sim().clear_accept_times(&number);
    let started = Instant::now();
    env.bulk(&tenant, "1555", n).await?;
    let queued_in = started.elapsed();
    // Measured from the simulator's own accept times (its clock, taken under its lock as it
    // accepts), never from a polling task that the load can starve: this loop only waits.
    let deadline = started + Duration::from_secs(60 + 3 * n as u64 / rate.max(1) as u64);
    loop {
        let accepted = env.sim().throughput(&number).accepted;
        if accepted >= n as u64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {accepted} of {n} sent before the deadline"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = started.elapsed();
    let s = env.sim().throughput(&number);
    let span = match (s.first_at_us, s.last_at_us) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e6,
        _ => f64::NAN,
    };
    println!(
        "  busiest rolling 1-second window: {} accepts [never above {rate}]; steady mean (5%→95% of accepts): {:.1} msg/s ({:.1}% of the rate) [≥ 99%]",
        s.busiest_window,
        s.steady_mean_per_second.unwrap_or(f64::NAN),
        100.0 * s.steady_mean_per_second.unwrap_or(f64::NAN) / f64::from(rate)
    );
    println!(
        "  {} accepted from the first to the last in {span:.2} s ({:.1} msg/s); {total:.1?} from queueing to done (jobs queued in {queued_in:.1?})",
        s.accepted,
        (s.accepted.saturating_sub(1)) as f64 / span
    );
    let attempts = s.accepted + s.throughput_refused;
    println!(
        "  130429 from Meta: {} of {attempts} attempts ({:.3}%) [target < 0.1%]",
        s.throughput_refused,
        100.0 * s.throughput_refused as f64 / attempts as f64
    );
    env.platform.stop().await.map_err(err)?;
    if s.busiest_window > u64::from(rate) {
        return Err(format!("the simulator accepted {} in one second at a limit of {rate}", s.busiest_window));
    }
    Ok(())
}

async fn fairness(backlog: usize, seconds: u64) -> R<()> {
    let env = Env::start().await?;
    let (a, _) = env.api.tenant("tenanta").await?;
    let (b, b_token) = env.api.tenant("tenantb").await?;
    // B's approved template for POST /messages.
    env.api.approved_template(&b_token).await?;

    println!("tenant A: {backlog} campaign jobs on the bulk lane (one number at 80 msg/s); tenant B meanwhile:");
    env.bulk(&a, "1555", backlog).await?;
    tokio::time::sleep(Duration::from_secs(2)).await; // A's backlog is draining

    // B's own campaign, queued behind all of A's jobs on the same lane.
    let campaign_started = Utc::now();
    let b_campaign = env.bulk(&b, "1666", 400).await?;

    // B's one-off messages, 5 per second.
    let mut posted: Vec<(String, DateTime<Utc>)> = Vec::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut i = 0;
    while Instant::now() < end {
        let at = Utc::now();
        let v = env
            .api
            .post(
                "/messages",
                &b_token,
                json!({"to": format!("+1415555{i:04}"),
                    "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}}),
            )
            .await?;
        posted.push((v["id"].as_str().ok_or("no message id")?.to_owned(), at));
        i += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;

    let ports = env.ports();
    let sent_at = |tenant: &str, id: &str| {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        async move {
            let v = messages::Messages::new(&*ports.table).view(&tenant, &id).await.ok().flatten()?;
            v.status_history.iter().find(|e| e.status == MessageStatus::Sent).map(|e| e.at)
        }
    };
    let mut latencies = Vec::new();
    let mut unsent = 0;
    for (id, at) in &posted {
        match sent_at(&b, id).await {
            Some(s) => latencies.push((s - *at).num_milliseconds() as f64),
            None => unsent += 1,
        }
    }
    latencies.sort_by(|x, y| x.total_cmp(y));
    let pct =
        |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    println!(
        "  one-off POST /messages → sent: {} messages, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms{}",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        if unsent > 0 { format!(" ({unsent} not sent yet)") } else { String::new() }
    );
    let mut last = None;
    let mut b_sent = 0;
    for id in &b_campaign {
        if let Some(s) = sent_at(&b, id).await {
            b_sent += 1;
            last = last.max(Some(s));
        }
    }
    let a_left = {
        let mut left = 0;
        // Sample: how much of A's backlog is still queued (A keeps its own 80/s).
        let sent = env.sim().send_counts().accepted as usize;
        left += backlog.saturating_sub(sent.saturating_sub(b_sent + latencies.len()));
        left
    };
    println!(
        "  B's 400-recipient campaign behind A's backlog on the same lane: {b_sent} sent, the last {:.1} s after queueing; A still had ~{a_left} jobs queued",
        last.map(|l| (l - campaign_started).num_milliseconds() as f64 / 1000.0).unwrap_or(f64::NAN)
    );
    env.platform.stop().await.map_err(err)?;
    Ok(())
}
