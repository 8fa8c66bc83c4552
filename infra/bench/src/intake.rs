//! `miping-bench intake [--seconds N] [--connections C] [--bin PATH] [--callgrind [--requests N]]`
//!
//! Intake throughput of the local process as a user runs it: the `miping` binary (`local` profile) started
//! as its own process on a fresh data directory (in-process simulator and queue consumers on, as
//! always), and a load generator here — C keep-alive HTTP/1.1 connections on loopback (default
//! 16), each sending its next request as soon as the last is answered (what wrk does) — for N
//! seconds (default 10) per route:
//!
//! - `POST /messages`: a template message scheduled a month ahead (stored `scheduled`, not sent);
//! - `POST /api/v1/trigger-message` with an API key (queued, then sent to the simulator);
//! - `POST /webhook/meta`: a real inbound-text body (Meta's fixture, a unique wamid each), signed.
//!
//! Prints req/s, p50/p99/max and where the server's time went (the process's per-stage timings,
//! `MIPING_STAGE_TIMINGS`). Then it kills the process with SIGKILL, starts it again on the same
//! data directory and counts that every 202 (each message readable) and every 200 (each webhook's
//! inbound message recorded once the restarted process has drained its queue) survived.
//!
//! `--callgrind` measures what the machine's load cannot blur: the process runs under valgrind's
//! callgrind, each route gets a fixed `--requests N` (default 2,000), and the bench zeroes the
//! process's instruction counters before a route and dumps them after it, printing instructions
//! per request (all of the process's threads: the HTTP request, its table and queue work, and
//! the consumers' work that the requests caused in the meantime). The idle process's own
//! instructions per second (pollers, timers) are measured too, to show they do not matter. Each
//! dump stays in `$TMPDIR/miping-intake-callgrind-<pid>/` for `callgrind_annotate` (the binary
//! needs its symbols: build with `CARGO_PROFILE_LOCAL_STRIP=false`). No durability check in
//! this mode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use miping::adapters::embedded::sqlite_table::SqliteTable;
use miping::ports::table::Table;
use miping::store::keys;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::api::{ADMIN_EMAIL, ADMIN_PASSWORD, Api, R, err};
use crate::http1;

const APP_SECRET: &str = "intake-bench-app-secret";
/// Distinct recipients (and webhook senders): after the first round they are existing contacts.
const RECIPIENTS: usize = 1000;

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let (mut seconds, mut connections) = (10u64, 16usize);
    let mut bin = default_bin();
    let (mut callgrind, mut requests) = (false, 2000usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--callgrind" => callgrind = true,
            "--requests" => requests = args.next().and_then(|n| n.parse().ok()).ok_or("--requests N")?,
            "--seconds" => seconds = args.next().and_then(|n| n.parse().ok()).ok_or("--seconds N")?,
            "--connections" => connections = args.next().and_then(|n| n.parse().ok()).ok_or("--connections C")?,
            "--bin" => bin = args.next().map(PathBuf::from).ok_or("--bin PATH")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let (addr, sim_addr) = (free_addr()?, free_addr()?);
    let stages_file = dir.path().join("stages.json");
    // The dumps outlive the run (the data directory does not), for `callgrind_annotate`.
    let profile = if callgrind {
        let keep = std::env::temp_dir().join(format!("miping-intake-callgrind-{}", std::process::id()));
        std::fs::create_dir_all(&keep).map_err(err)?;
        Some(Callgrind { out: keep.join("callgrind.out") })
    } else {
        None
    };
    let mut child = spawn(&bin, dir.path(), &addr, &sim_addr, &stages_file, profile.as_ref())?;
    let base = format!("http://{addr}");
    wait_ready(&base).await?;

    let api = Api::signed_in(base.clone(), dir.path().to_path_buf()).await?;
    let (tenant, token) = api.tenant("intake").await?;
    api.approved_template(&token).await?;
    let key = api.post("/api-keys", &token, json!({"name": "bench ERP"})).await?["key"]
        .as_str()
        .ok_or("no api key")?
        .to_owned();
    let (_, connection) = api.call(reqwest::Method::GET, "/whatsapp/status", &token, None).await?;
    let phone_number_id = connection["phone_number_id"].as_str().ok_or(format!("no phone_number_id: {connection}"))?;

    let pid = child.id().unwrap_or(0);
    let counted = profile.as_ref().map(|p| (p, requests));
    let http = client(connections)?;
    let load = Load { addr: addr.clone(), connections, span: Duration::from_secs(seconds), pid, counted };
    match counted {
        Some(_) => println!(
            "intake on the local process ({}; `local` profile build) under callgrind, {connections} connections, {requests} requests per route",
            bin.display()
        ),
        None => println!(
            "intake on the local process ({}; `local` profile build), {connections} connections on loopback, {seconds} s per route",
            bin.display()
        ),
    }
    println!("  machine load before: {}", uptime());

    // POST /messages: a template, scheduled a month ahead.
    let schedule_at = (Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let bearer = format!("Bearer {token}");
    let messages = load
        .run("POST /messages (template, scheduled +30 d)", &stages_file, move |host, i| {
            let body = json!({"to": format!("+1415555{:04}", i % RECIPIENTS),
                "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", format!("A-{i}")]},
                "schedule_at": schedule_at});
            (http1::post(host, "/messages", &[("authorization", &bearer)], body.to_string().as_bytes()), None)
        })
        .await?;
    let message_ids: Vec<String> = messages.iter().filter_map(|v| v["id"].as_str().map(str::to_owned)).collect();

    // POST /api/v1/trigger-message: queued now (the send worker sends them to the simulator meanwhile).
    let triggered = load
        .run("POST /api/v1/trigger-message", &stages_file, move |host, i| {
            let body = json!({"phone": format!("+1415555{:04}", i % RECIPIENTS), "template_name": "order_update",
                "language": "en_US", "variables": ["Ana", format!("T-{i}")]});
            (http1::post(host, "/api/v1/trigger-message", &[("x-api-key", &key)], body.to_string().as_bytes()), None)
        })
        .await?;
    let trigger_ids: Vec<String> =
        triggered.iter().filter_map(|v| v["message_id"].as_str().map(str::to_owned)).collect();

    // POST /webhook/meta: Meta's inbound text fixture, a unique wamid each, signed with the app secret.
    let fixture = String::from_utf8(
        miping::testkit::fixtures("meta-webhooks")
            .into_iter()
            .find(|(name, _)| name == "inbound_text.json")
            .ok_or("fixture inbound_text.json")?
            .1,
    )
    .map_err(err)?;
    let mut fixture: Value = serde_json::from_str(&fixture).map_err(err)?;
    let secret = SecretString::from(APP_SECRET);
    // The fixture with markers where each request's own values go (cheaper than editing JSON).
    let value = &mut fixture["entry"][0]["changes"][0]["value"];
    value["metadata"]["phone_number_id"] = json!(phone_number_id);
    value["contacts"][0]["wa_id"] = json!("@FROM@");
    value["messages"][0]["from"] = json!("@FROM@");
    value["messages"][0]["id"] = json!("@WAMID@");
    value["messages"][0]["timestamp"] = json!("@TS@");
    let template = fixture.to_string();
    let run_id = Utc::now().timestamp_millis();
    let webhooks = load
        .run("POST /webhook/meta (signed inbound text)", &stages_file, move |host, i| {
            let wamid = format!("wamid.bench{run_id}.{i}");
            let from = format!("1415556{:04}", i % RECIPIENTS);
            let body = template
                .replace("@FROM@", &from)
                .replace("@WAMID@", &wamid)
                .replace("@TS@", &Utc::now().timestamp().to_string());
            let sig = miping::domain::webhooks::signature::sign(&secret, body.as_bytes());
            (http1::post(host, "/webhook/meta", &[("x-hub-signature-256", &sig)], body.as_bytes()), Some(wamid))
        })
        .await?;
    let wamids: Vec<String> = webhooks.iter().filter_map(|v| v["wamid"].as_str().map(str::to_owned)).collect();

    if let Some((profile, _)) = counted {
        // What the process does with no requests at all (pollers, timers), for comparison.
        profile.zero(pid).await?;
        let idle = Duration::from_secs(10);
        tokio::time::sleep(idle).await;
        let (instructions, file) = profile.dump(pid).await?;
        println!("idle: {:.0} instructions per second ({})", instructions as f64 / idle.as_secs_f64(), file.display());
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Ok(());
    }

    // Crash it: SIGKILL, no shutdown of any kind; then the same data directory again.
    child.start_kill().map_err(err)?;
    let status = child.wait().await.map_err(err)?;
    println!("killed (SIGKILL: {status}); restarting on the same data directory");
    let mut child = spawn(&bin, dir.path(), &addr, &sim_addr, &stages_file, None)?;
    wait_ready(&base).await?;
    let found = readable(&http, &base, &token, message_ids.iter().chain(&trigger_ids), connections).await;
    println!(
        "  durable: {found} of {} accepted messages readable after the restart ({} POST /messages, {} trigger-message)",
        message_ids.len() + trigger_ids.len(),
        message_ids.len(),
        trigger_ids.len()
    );
    let recorded = recorded_inbound(dir.path(), &tenant, &wamids, Duration::from_secs(180)).await?;
    println!("  durable: {recorded} of {} webhooks answered 200 are recorded inbound messages", wamids.len());
    let _ = child.start_kill();
    let _ = child.wait().await;
    if found == message_ids.len() + trigger_ids.len() && recorded == wamids.len() {
        Ok(())
    } else {
        Err("some accepted requests did not survive the crash".into())
    }
}

/// The `miping` binary next to this one (both built by `infra/bench.sh intake`).
fn default_bin() -> PathBuf {
    std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("miping"))).unwrap_or_else(|| "miping".into())
}

fn free_addr() -> R<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(err)?;
    Ok(l.local_addr().map_err(err)?.to_string())
}

fn spawn(bin: &Path, dir: &Path, addr: &str, sim_addr: &str, stages: &Path, profile: Option<&Callgrind>) -> R<Child> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("miping.log")).map_err(err)?;
    let mut command = match profile {
        Some(p) => {
            let mut c = Command::new("valgrind");
            c.arg("--tool=callgrind").arg(format!("--callgrind-out-file={}", p.out.display())).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    command
        .env("MIPING_ADDR", addr)
        .env("MIPING_SIM_ADDR", sim_addr)
        .env("MIPING_DATA_DIR", dir)
        .env("MIPING_PUBLIC_URL", format!("http://{addr}"))
        .env("SUPER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("SUPER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("META_APP_SECRET", APP_SECRET)
        // One ERP's key sending as fast as it can: no per-key budget in the way.
        .env("MIPING_API_KEY_RATE_LIMIT", "1000000")
        .env("MIPING_STAGE_TIMINGS", stages)
        .env_remove("META_GRAPH_URL")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(err)?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e} (build it: cargo build --profile local -p miping-local)", bin.display()))
}

async fn wait_ready(base: &str) -> R<()> {
    let http = reqwest::Client::new();
    // Under callgrind the start takes far longer than the usual 15 s.
    for _ in 0..2400 {
        if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{base}/health not ready in 120 s"))
}

fn client(connections: usize) -> R<reqwest::Client> {
    reqwest::Client::builder().pool_max_idle_per_host(connections).tcp_nodelay(true).build().map_err(err)
}

/// A process's (user, system) CPU time so far, in clock ticks (`/proc/<pid>/stat` fields 14, 15).
fn cpu_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    Some((rest.next()?.parse().ok()?, rest.next()?.parse().ok()?))
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| format!("load average {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(", ")))
        .unwrap_or_else(|_| "load average unknown".into())
}

struct Load<'a> {
    /// The server's address (host:port).
    addr: String,
    connections: usize,
    span: Duration,
    /// The server's process id (its CPU time is read from /proc).
    pid: u32,
    /// Under callgrind: the profile and the requests per route.
    counted: Option<(&'a Callgrind, usize)>,
}

/// The process runs under `valgrind --tool=callgrind`, its counters zeroed and dumped by
/// `callgrind_control` around each route.
struct Callgrind {
    /// `--callgrind-out-file`: each dump is this path with `.<n>` appended.
    out: PathBuf,
}

impl Callgrind {
    async fn control(&self, flag: &str, pid: u32) -> R<()> {
        let status = Command::new("callgrind_control")
            .arg(flag)
            .arg(pid.to_string())
            .stdout(Stdio::null())
            .status()
            .await
            .map_err(err)?;
        if status.success() { Ok(()) } else { Err(format!("callgrind_control {flag} {pid}: {status}")) }
    }

    async fn zero(&self, pid: u32) -> R<()> {
        self.control("-z", pid).await
    }

    /// Dumps the counters since the last zero; the instructions they hold and the dump's file.
    async fn dump(&self, pid: u32) -> R<(u64, PathBuf)> {
        let before = self.dumps();
        self.control("-d", pid).await?;
        // callgrind writes the dump at its next scheduling point: wait for the new file.
        for _ in 0..600 {
            if let Some(file) = self.dumps().into_iter().find(|f| !before.contains(f)) {
                let text = tokio::fs::read_to_string(&file).await.unwrap_or_default();
                if let Some(total) = text.lines().find_map(|l| l.strip_prefix("totals: ")) {
                    let ir = total.split_whitespace().next().and_then(|n| n.parse().ok()).ok_or("totals line")?;
                    return Ok((ir, file));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("no callgrind dump appeared in 60 s".into())
    }

    fn dumps(&self) -> Vec<PathBuf> {
        let (Some(dir), Some(name)) = (self.out.parent(), self.out.file_name().and_then(|n| n.to_str())) else {
            return Vec::new();
        };
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(name) && n != name)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A 2xx answer as the run keeps it.
enum Answer {
    /// The webhook's wamid (its answer has no body).
    Wamid(String),
    Body(Vec<u8>),
}

impl Answer {
    fn json(self) -> Value {
        match self {
            Answer::Wamid(w) => json!({"wamid": w}),
            Answer::Body(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        }
    }
}

impl Load<'_> {
    /// `connections` loops sending `request(http, i)` back to back for `span` (under callgrind:
    /// until the route's fixed number of requests is sent); prints the figures and returns each
    /// 2xx answer's JSON (for a webhook, `{"wamid"}` of the body sent).
    async fn run<F>(&self, what: &str, stages_file: &Path, request: F) -> R<Vec<Value>>
    where
        F: Fn(&str, usize) -> (Vec<u8>, Option<String>) + Send + Sync + 'static,
    {
        let request = Arc::new(request);
        let before = stage_totals(stages_file).await;
        if let Some((profile, _)) = self.counted {
            profile.zero(self.pid).await?;
        }
        let cpu_before = (cpu_ticks(self.pid), cpu_ticks(std::process::id()));
        let budget = Arc::new(AtomicUsize::new(self.counted.map_or(usize::MAX, |(_, n)| n)));
        let started = Instant::now();
        let deadline = started + if self.counted.is_some() { Duration::from_secs(3600) } else { self.span };
        let tasks: Vec<_> = (0..self.connections)
            .map(|c| {
                let (addr, request, connections) = (self.addr.clone(), request.clone(), self.connections);
                let budget = budget.clone();
                tokio::spawn(async move {
                    let (mut latencies, mut answers, mut failures) = (Vec::new(), Vec::new(), HashMap::new());
                    let mut i = c;
                    let more =
                        || budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
                    let mut conn = None;
                    while Instant::now() < deadline && more() {
                        let (req, wamid) = request(&addr, i);
                        i += connections;
                        let t = Instant::now();
                        if conn.is_none() {
                            match http1::Conn::connect(&addr).await {
                                Ok(c) => conn = Some(c),
                                Err(e) => {
                                    *failures.entry(format!("connect: {e}")).or_insert(0u64) += 1;
                                    continue;
                                }
                            }
                        }
                        let Some(c) = conn.as_mut() else { continue };
                        let (status, bytes) = match c.send(&req).await {
                            Ok(answer) => answer,
                            Err(e) => {
                                conn = None;
                                *failures.entry(format!("{e}")).or_insert(0u64) += 1;
                                continue;
                            }
                        };
                        latencies.push(t.elapsed());
                        if (200..300).contains(&status) {
                            // Parsed after the run: the generator's time belongs to the server.
                            answers.push(wamid.map_or(Answer::Body(bytes), Answer::Wamid));
                        } else {
                            let body = String::from_utf8_lossy(&bytes).chars().take(120).collect::<String>();
                            *failures.entry(format!("{status} {body}")).or_insert(0u64) += 1;
                        }
                    }
                    (latencies, answers, failures)
                })
            })
            .collect();
        let (mut all, mut answers, mut failures) = (Vec::new(), Vec::new(), HashMap::<String, u64>::new());
        for t in tasks {
            let (l, a, f) = t.await.map_err(err)?;
            all.extend(l);
            answers.extend(a);
            for (k, n) in f {
                *failures.entry(k).or_insert(0) += n;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_after = (cpu_ticks(self.pid), cpu_ticks(std::process::id()));
        if let Some((profile, _)) = self.counted {
            let (instructions, file) = profile.dump(self.pid).await?;
            println!("{what}");
            println!(
                "  {:.0} instructions per request ({} answers, {} 2xx; {instructions} in all; {})",
                instructions as f64 / all.len().max(1) as f64,
                all.len(),
                answers.len(),
                file.display()
            );
            for (failure, n) in &failures {
                println!("  {n} × {failure}");
            }
            return Ok(answers.into_iter().map(Answer::json).collect());
        }
        // The process writes its counters every 200 ms.
        tokio::time::sleep(Duration::from_millis(450)).await;
        let after = stage_totals(stages_file).await;
        all.sort();
        let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))].as_secs_f64() * 1e3;
        println!("{what}");
        if all.is_empty() {
            println!("  no answers: {failures:?}");
            return Ok(answers.into_iter().map(Answer::json).collect());
        }
        println!(
            "  {:.0} req/s ({} answers, {} 2xx in {elapsed:.1} s); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            all.len() as f64 / elapsed,
            all.len(),
            answers.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        for (failure, n) in &failures {
            println!("  {n} × {failure}");
        }
        // CPU time per answer (user + system, from /proc): what each request costs whatever the
        // machine's load, where req/s also measures what the other processes left over.
        type Ticks = Option<(u64, u64)>; // (user, system) clock ticks of one process
        let per = |(b, a): (Ticks, Ticks)| match (b, a) {
            (Some((u0, s0)), Some((u1, s1))) => {
                let ms = |ticks: u64| ticks as f64 * 1e3 / TICKS_PER_SECOND / all.len() as f64;
                format!("{:.3} ms (user {:.3}, system {:.3})", ms(u1 + s1 - u0 - s0), ms(u1 - u0), ms(s1 - s0))
            }
            _ => "unknown".into(),
        };
        println!(
            "  CPU per request: server {}, load generator {}",
            per((cpu_before.0, cpu_after.0)),
            per((cpu_before.1, cpu_after.1))
        );
        print_stages(&before, &after);
        println!("  machine load: {}", uptime());
        Ok(answers.into_iter().map(Answer::json).collect())
    }
}

/// (count, nanoseconds) per stage, as the process last wrote them.
async fn stage_totals(file: &Path) -> HashMap<String, (u64, u64)> {
    let Ok(text) = tokio::fs::read_to_string(file).await else { return HashMap::new() };
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, s)| (k.clone(), (s["count"].as_u64().unwrap_or(0), s["nanos"].as_u64().unwrap_or(0))))
                .collect()
        })
        .unwrap_or_default()
}

/// Where the server's time went during one run, per request.
fn print_stages(before: &HashMap<String, (u64, u64)>, after: &HashMap<String, (u64, u64)>) {
    let delta = |k: &str| {
        let (c0, n0) = before.get(k).copied().unwrap_or_default();
        let (c1, n1) = after.get(k).copied().unwrap_or_default();
        (c1.saturating_sub(c0), n1.saturating_sub(n0))
    };
    let (requests, request_ns) = delta("request");
    if requests == 0 {
        println!("  (no stage timings: the process did not write MIPING_STAGE_TIMINGS)");
        return;
    }
    let per = |k: &str| {
        let (c, n) = delta(k);
        (
            c as f64 / requests as f64,
            n as f64 / requests as f64 / 1e6,
            if c > 0 { n as f64 / c as f64 / 1e6 } else { 0.0 },
        )
    };
    println!(
        "  server time per request {:.3} ms (all requests the process served in the run, incl. the consumers' own table work below):",
        request_ns as f64 / requests as f64 / 1e6
    );
    for (k, label) in [
        ("auth", "auth (session or API key: its reads included)"),
        ("table_read", "table reads (get/query)"),
        ("table_write", "table writes (put/update/delete/transact)"),
        ("write_wait", "  of which waiting for the writer"),
        ("commit", "  of which SQLite COMMIT"),
        ("queue_send", "queue sends"),
    ] {
        let (n, ms, each) = per(k);
        println!("    {label:<48} {n:>5.2} × {each:>7.3} ms = {ms:>7.3} ms");
    }
}

/// How many of `ids` the restarted process answers `GET /messages/{id}` with 200.
async fn readable<'a>(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    ids: impl Iterator<Item = &'a String>,
    connections: usize,
) -> usize {
    let ids: Vec<String> = ids.cloned().collect();
    let chunks: Vec<Vec<String>> = ids.chunks(ids.len().div_ceil(connections).max(1)).map(<[String]>::to_vec).collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (http, base, token) = (http.clone(), base.to_owned(), token.to_owned());
            tokio::spawn(async move {
                let mut ok = 0;
                for id in chunk {
                    let r = http.get(format!("{base}/messages/{id}")).bearer_auth(&token).send().await;
                    ok += usize::from(r.is_ok_and(|r| r.status().is_success()));
                }
                ok
            })
        })
        .collect();
    let mut found = 0;
    for t in tasks {
        found += t.await.unwrap_or(0);
    }
    found
}

/// How many of `wamids` are recorded inbound messages of `tenant`, waiting up to `patience` for
/// the restarted process to drain its webhook queue (read straight from the table file: SQLite
/// in WAL mode lets this process read beside the platform).
async fn recorded_inbound(dir: &Path, tenant: &str, wamids: &[String], patience: Duration) -> R<usize> {
    let table = SqliteTable::open(&dir.join("table.db")).map_err(err)?;
    let give_up = Instant::now() + patience;
    let mut missing: Vec<&String> = wamids.iter().collect();
    loop {
        let mut still = Vec::new();
        for w in missing {
            if table.get(&keys::unique_inbound_wamid(tenant, w)).await.map_err(err)?.is_none() {
                still.push(w);
            }
        }
        missing = still;
        if missing.is_empty() || Instant::now() > give_up {
            return Ok(wamids.len() - missing.len());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
