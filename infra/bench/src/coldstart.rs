//! `miping-bench coldstart [--bin-dir DIR] [--runs N] [FUNCTION...]`
//!
//! Cold start of each Lambda binary against a local Lambda Runtime API emulator: for each run it
//! execs the binary, times exec → the first `GET /runtime/invocation/next` (the function is
//! initialised and ready to serve), hands it the function's sample event from `events/`, waits
//! for the response, and reads the process's resident memory (VmRSS, and the peak VmHWM).
//! Prints the stripped binary size, median/max ready time and peak RSS against the SPEC targets.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::routing::{get, post};
use tokio::sync::Notify;

const READY_TARGET_MS: f64 = 30.0;
const SIZE_TARGET_MB: f64 = 12.0;
const RSS_TARGET_MB: f64 = 30.0;

#[derive(Default)]
struct Run {
    ready: Option<Instant>,
    responded: Option<(Instant, String)>,
    served: bool,
}

#[derive(Clone)]
struct Emulator {
    run: Arc<Mutex<Run>>,
    event: Arc<String>,
    done: Arc<Notify>,
}

async fn next(State(emu): State<Emulator>) -> (HeaderMap, String) {
    let first = {
        let mut run = emu.run.lock().unwrap();
        run.ready.get_or_insert_with(Instant::now);
        !std::mem::replace(&mut run.served, true)
    };
    if !first {
        // One invocation per cold start: park the second poll until the process is killed.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_static("bench-request-1"));
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 10_000;
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from_str(&deadline.to_string()).unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:bench"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    (headers, emu.event.to_string())
}

async fn respond(State(emu): State<Emulator>, body: Bytes) -> &'static str {
    emu.run.lock().unwrap().responded = Some((Instant::now(), String::from_utf8_lossy(&body).into_owned()));
    emu.done.notify_one();
    "{}"
}

/// The handler ran and answered with an error: served (e.g. the scheduler, whose sample event
/// needs the table, reports the store unreachable — nothing listens behind the emulator).
async fn error(State(emu): State<Emulator>, body: Bytes) -> &'static str {
    emu.run.lock().unwrap().responded = Some((Instant::now(), format!("ERROR {}", String::from_utf8_lossy(&body))));
    emu.done.notify_one();
    "{}"
}

/// Initialisation failed: the function never became ready.
async fn init_error(State(emu): State<Emulator>, body: Bytes) -> &'static str {
    emu.run.lock().unwrap().responded =
        Some((Instant::now(), format!("INIT ERROR {}", String::from_utf8_lossy(&body))));
    emu.done.notify_one();
    "{}"
}

struct Sample {
    ready_ms: f64,
    rss_kb: u64,
    hwm_kb: u64,
    response: String,
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

async fn one_run(binary: &Path, event: Arc<String>, data_dir: &Path) -> Result<Sample, String> {
    let emu = Emulator { run: Arc::default(), event, done: Arc::new(Notify::new()) };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(emu.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let name = binary.file_name().unwrap().to_string_lossy().to_string();
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        // Deployed shape (AWS adapters); nothing listens here and the sample events do not
        // touch the store, so a run measures start-up, not network. The init warm-up
        // (platform::aws::warm_up) still builds the HTTPS client and fails fast here, so its CPU
        // part is measured. (AWS_LC_SYS_NO_JITTER_ENTROPY is a build-time switch of aws-lc-sys:
        // infra/bench.sh and infra/release.sh set it when building, not here.)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("TABLE_NAME", "miping-bench")
        .env("JWT_SECRET", "bench-only-session-key-0123456789abcdef")
        .env("MIPING_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        // A/B of the init warm-up: MIPING_WARM_UP=0 infra/bench.sh coldstart
        .env("MIPING_WARM_UP", std::env::var("MIPING_WARM_UP").unwrap_or_else(|_| "1".into()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot exec {}: {e}", binary.display()))?;
    let pid = child.id().unwrap_or(0);

    let waited = tokio::time::timeout(Duration::from_secs(10), emu.done.notified()).await;
    let (rss_kb, hwm_kb) = (proc_status_kb(pid, "VmRSS:"), proc_status_kb(pid, "VmHWM:"));
    let _ = child.kill().await;
    server.abort();
    if waited.is_err() {
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ = e.read_to_string(&mut stderr).await;
        }
        return Err(format!("{name} did not answer within 10 s; stderr: {stderr}"));
    }
    let run = emu.run.lock().unwrap();
    let ready = run.ready.ok_or("never polled for an invocation")?;
    let response = run.responded.as_ref().map(|(_, b)| b.clone()).unwrap_or_default();
    Ok(Sample { ready_ms: (ready - started).as_secs_f64() * 1000.0, rss_kb, hwm_kb, response })
}

fn functions(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("functions"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().join("Cargo.toml").exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn sample_event(root: &Path, name: &str) -> Result<String, String> {
    let path = root.join("events").join(format!("{name}.json"));
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e} (every function needs a sample event)", path.display()))
}

pub async fn run(mut args: impl Iterator<Item = String>) -> std::process::ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let mut bin_dir =
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target")).join("release");
    let mut runs = 7usize;
    let mut only = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin-dir" => bin_dir = PathBuf::from(args.next().expect("--bin-dir DIR")),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            other => only.push(other.to_string()),
        }
    }
    let names = if only.is_empty() { functions(&root) } else { only };
    let data_dir = std::env::temp_dir().join(format!("miping-bench-{}", std::process::id()));

    println!(
        "cold start against a local Lambda Runtime API emulator ({runs} runs each; targets: ready <= {READY_TARGET_MS} ms, stripped <= {SIZE_TARGET_MB} MB, RSS <= {RSS_TARGET_MB} MB)"
    );
    println!(
        "{:<22} {:>9} {:>12} {:>10} {:>10} {:>8}  status",
        "function", "size MB", "ready p50 ms", "max ms", "RSS MB", "peak MB"
    );
    let mut failed = false;
    for name in &names {
        let binary = bin_dir.join(name);
        let size_mb = std::fs::metadata(&binary).map(|m| m.len() as f64 / 1e6).unwrap_or(f64::NAN);
        let event = match sample_event(&root, name) {
            Ok(e) => Arc::new(e),
            Err(e) => {
                println!("{name:<22} {e}");
                failed = true;
                continue;
            }
        };
        let mut samples = Vec::new();
        for _ in 0..runs {
            match one_run(&binary, event.clone(), &data_dir).await {
                Ok(s) => samples.push(s),
                Err(e) => {
                    println!("{name:<22} {e}");
                    failed = true;
                    break;
                }
            }
        }
        if samples.len() != runs {
            continue;
        }
        let mut ready: Vec<f64> = samples.iter().map(|s| s.ready_ms).collect();
        ready.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let rss = samples.iter().map(|s| s.rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        let hwm = samples.iter().map(|s| s.hwm_kb).max().unwrap_or(0) as f64 / 1024.0;
        // An invocation error is the handler's own answer (it served); an init error is not.
        let answered = !samples[0].response.starts_with("INIT ERROR");
        let ok = answered && ready[runs / 2] <= READY_TARGET_MS && size_mb <= SIZE_TARGET_MB && hwm <= RSS_TARGET_MB;
        failed |= !ok;
        println!(
            "{name:<22} {size_mb:>9.2} {:>12.1} {:>10.1} {rss:>10.1} {hwm:>8.1}  {}{}",
            ready[runs / 2],
            ready[runs - 1],
            if ok { "ok" } else { "OVER TARGET" },
            if samples[0].response.contains("ERROR") { format!(" ({})", samples[0].response) } else { String::new() }
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    if failed { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS }
}
