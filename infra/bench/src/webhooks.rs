//! `miping-bench webhooks [--seconds N] [--clients N]`
//!
//! The local process (embedded store, in-process consumers) on a temp dir; N keep-alive clients
//! POST signed real Meta webhook bodies to `/webhook/meta` for the given time. Prints requests/s
//! and latency percentiles of "signature checked + body durably queued + 200" (SPEC targets:
//! p99 <= 5 ms in-process, >= 10,000 events/s on 2 cores).

use std::sync::Arc;
use std::time::{Duration, Instant};

use miping::domain::webhooks::signature::sign;

const P99_TARGET_MS: f64 = 5.0;
const THROUGHPUT_TARGET: f64 = 10_000.0;

pub async fn run(mut args: impl Iterator<Item = String>) -> std::process::ExitCode {
    let mut seconds = 10u64;
    let mut clients = 32usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|n| n.parse().ok()).expect("--seconds N"),
            "--clients" => clients = args.next().and_then(|n| n.parse().ok()).expect("--clients N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // The receiver's path only: the processor would compete for the same 2 cores and measure
    // something else (it has its own figures).
    let platform = crate::bare_platform(dir.path()).await.expect("local platform starts");
    let url = format!("{}/webhook/meta", platform.base_url());
    let secret = platform.state.config.meta.app_secret.clone();
    let bodies: Arc<Vec<(String, String)>> = Arc::new(
        fixtures()
            .into_iter()
            .map(|b| {
                let sig = sign(&secret, b.as_bytes());
                (b, sig)
            })
            .collect(),
    );

    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().expect("client");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, bodies) = (http.clone(), url.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = c;
            while Instant::now() < deadline {
                let (body, sig) = &bodies[i % bodies.len()];
                i += 1;
                let t = Instant::now();
                let ok = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                latencies.push(t.elapsed());
                errors += u64::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    let throughput = all.len() as f64 / elapsed;
    let stored = count_queued(&platform).await;
    println!(
        "webhook receiver on the local process: {clients} clients, {seconds} s, {} real fixture bodies",
        bodies.len()
    );
    println!("  {} requests, {errors} errors, {throughput:.0} events/s (target >= {THROUGHPUT_TARGET:.0})", all.len());
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2} (target <= {P99_TARGET_MS})  max {:.2}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    println!("  durably queued: {stored} (every 200 is on the webhook queue)");
    let ok = errors == 0 && stored == all.len() as u64;
    let _ = platform.stop().await;
    if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}

fn fixtures() -> Vec<String> {
    miping::testkit::fixtures("meta-webhooks")
        .into_iter()
        .map(|(_, bytes)| String::from_utf8(bytes).expect("fixtures are UTF-8"))
        .collect()
}

/// Counts what the receiver made durable, by draining the queue.
async fn count_queued(platform: &miping_local::Platform) -> u64 {
    let queue = &platform.state.ports.queue;
    let mut n = 0u64;
    loop {
        let batch = queue.receive(miping::queues::WEBHOOK, 10, Duration::from_millis(50)).await.expect("receive");
        if batch.is_empty() {
            return n;
        }
        for d in &batch {
            let _ = queue.ack(miping::queues::WEBHOOK, &d.receipt).await;
        }
        n += batch.len() as u64;
    }
}
