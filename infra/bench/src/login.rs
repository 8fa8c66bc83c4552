//! `miping-bench login [--seconds N] [--logins N]`
//!
//! `/health` latency on the local process alone, then while N clients sign in in a loop (each
//! attempt pays one argon2id verification: unknown emails, so no throttle or session write gets
//! in the way of the hashing). argon2 runs in `MIPING_HASH_CONCURRENCY` slots (default half the
//! cores); run once more with `MIPING_HASH_CONCURRENCY=64` to see the same storm without the bound.

use std::time::{Duration, Instant};

pub async fn run(mut args: impl Iterator<Item = String>) -> std::process::ExitCode {
    let mut seconds = 10u64;
    let mut logins = 60usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|n| n.parse().ok()).expect("--seconds N"),
            "--logins" => logins = args.next().and_then(|n| n.parse().ok()).expect("--logins N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let options = miping_local::Options {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.path().to_path_buf(),
        // One client address makes every attempt: lift its budget so the storm is all hashing.
        configure: Some(Box::new(|c| c.login_throttle.address_limit = u32::MAX)),
        simulator: None,
        consumers: false,
        background_nice: miping_local::background_nice_from_env().expect("MIPING_BACKGROUND_NICE"),
        timeouts: Default::default(),
        wrap_queue: None,
        wrap_table: None,
    };
    let platform = miping_local::start(options).await.expect("local platform starts");
    let base = platform.base_url();
    let slots = miping::config::hash_concurrency_from_env();
    println!("argon2 slots: {slots} (MIPING_HASH_CONCURRENCY), {logins} clients signing in");

    let quiet = health_latencies(&base, Duration::from_secs(seconds)).await;
    report("/health alone", &quiet);

    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let storm: Vec<_> = (0..logins)
        .map(|c| {
            let (http, url) = (http.clone(), format!("{base}/auth/login"));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let body = serde_json::json!({"email": format!("storm{c}-{i}@bench.test"), "password": "not the password"});
                    i += 1;
                    let t = Instant::now();
                    let _ = http.post(&url).json(&body).send().await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let stormy = health_latencies(&base, Duration::from_secs(seconds)).await;
    let mut login_latencies = Vec::new();
    for t in storm {
        login_latencies.extend(t.await.expect("login client"));
    }
    report("/health during the login storm", &stormy);
    report("POST /auth/login during the storm", &login_latencies);
    println!("  sign-ins/s: {:.1}", login_latencies.len() as f64 / seconds as f64);
    let _ = platform.stop().await;
    std::process::ExitCode::SUCCESS
}

/// Sequential `GET /health` for `span`, each latency.
async fn health_latencies(base: &str, span: Duration) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let url = format!("{base}/health");
    let deadline = Instant::now() + span;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        let t = Instant::now();
        let ok = http.get(&url).send().await.is_ok_and(|r| r.status().is_success());
        assert!(ok, "/health failed");
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out
}

fn report(what: &str, latencies: &[Duration]) {
    let mut all = latencies.to_vec();
    all.sort();
    if all.is_empty() {
        println!("{what}: no samples");
        return;
    }
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{what}: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        pct(0.50),
        pct(0.99),
        all[all.len() - 1].as_secs_f64() * 1000.0
    );
}
