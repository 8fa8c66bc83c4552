//! `miping-bench inbox [--messages N] [--customers N]`
//!
//! How soon a customer's message shows in an open inbox, on the local process (release build,
//! in-process simulator): a connected tenant's owner has the inbox open, signed in; for each of N
//! messages (default 200, from N customers in turn, default 20) the simulator is asked to deliver
//! a customer's text (`POST /_sim/inbound`: Meta's signed webhook to the platform, stored,
//! processed by the queue consumer into the conversation), and the clock runs until the fragment
//! the inbox page polls (`GET /app/inbox/live`, as console.js asks for it) shows that text. The
//! bench polls it every 25 ms to measure the pipeline; the page polls every 2 s, so what a person
//! waits is this plus up to 2 s. Prints p50/p99 of both the pipeline and one poll's answer.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::{Api, R, err};
use crate::console::{Seeded, cookie, platform, seed_tenant};

/// How often the bench asks for the fragment (the page: every 2 s).
const POLL: Duration = Duration::from_millis(25);
/// A message not shown after this is a failure.
const GIVE_UP: Duration = Duration::from_secs(30);

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let mut messages = 200usize;
    let mut customers = 20usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--messages" => messages = args.next().and_then(|n| n.parse().ok()).ok_or("--messages N")?,
            "--customers" => customers = args.next().and_then(|n| n.parse().ok()).ok_or("--customers N")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let platform = platform(dir.path()).await?;
    let sim = platform.simulator.as_ref().ok_or("no simulator")?.base_url();
    let base = platform.base_url();
    let api = Api::signed_in(base.clone(), dir.path().to_path_buf()).await?;
    let http = api.http.clone();
    let Seeded { owner, connection, .. } = seed_tenant(&api).await?;
    let phone_number_id = connection["phone_number_id"].clone();
    let live = format!("{base}/app/inbox/live");
    let poll = || http.get(&live).header("cookie", cookie(&owner)).header("hx-request", "true").send();

    println!(
        "inbox: {messages} customer messages from {customers} customers, the open inbox's fragment polled every {} ms",
        POLL.as_millis()
    );
    let mut shown = Vec::with_capacity(messages);
    let mut answers = Vec::new();
    for i in 0..messages {
        let text = format!("bench message {i} from the customer");
        let from = format!("1415555{:04}", i % customers.max(1));
        let start = Instant::now();
        let r = http
            .post(format!("{sim}/_sim/inbound"))
            .json(&json!({"phone_number_id": phone_number_id, "from": from, "text": text}))
            .send()
            .await
            .map_err(err)?;
        if !r.status().is_success() {
            return Err(format!("/_sim/inbound: {}", r.status()));
        }
        loop {
            let asked = Instant::now();
            let body = poll().await.map_err(err)?.text().await.map_err(err)?;
            answers.push(asked.elapsed());
            if body.contains(&text) {
                shown.push(start.elapsed());
                break;
            }
            if start.elapsed() > GIVE_UP {
                return Err(format!("message {i} not shown after {} s", GIVE_UP.as_secs()));
            }
            tokio::time::sleep(POLL).await;
        }
    }
    report("webhook → shown in the fragment", &mut shown);
    report("one poll of the fragment", &mut answers);
    platform.stop().await.map_err(err)?;
    Ok(())
}

fn report(what: &str, all: &mut [Duration]) {
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "  {what:<34} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} samples)",
        pct(0.50),
        pct(0.99),
        pct(1.0),
        all.len()
    );
}
