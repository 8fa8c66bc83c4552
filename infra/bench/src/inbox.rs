//! `miping-bench inbox [--messages N]`
//!
//! A customer's message reaching an open inbox, on the local process (release build, in-process
//! simulator, queue consumers running): the simulator delivers a signed inbound webhook
//! (`POST /_sim/inbound`, as Meta would), and a signed-in reader polls the conversation's
//! newest entry (`INBOX_PATH`, every 5 ms) until the message is there. N messages (default 200)
//! one after the other; prints p50/p99 from the simulator's send to the message being readable.
//! What a person sees adds the open page's poll interval (the console polls every 2 s), so the
//! figure is what the platform contributes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::console::{ADMIN_EMAIL, ADMIN_PASSWORD, Api, R, err, platform, seed_tenant};

/// How long one message may take before the run fails (a lost message, not a slow one).
const GIVE_UP: Duration = Duration::from_secs(10);
const CUSTOMER: &str = "14155550123";

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let mut messages = 200usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--messages" => messages = args.next().and_then(|n| n.parse().ok()).ok_or("--messages N")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let platform = platform(dir.path()).await?;
    let api = Api { http: reqwest::Client::new(), base: platform.base_url() };
    let sim = platform.simulator.as_ref().ok_or("no simulator")?.base_url();
    let admin = api.login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let owner = seed_tenant(&api, &admin, dir.path(), 0).await?;
    let status = api.call(reqwest::Method::GET, "/whatsapp/status", Some(&owner), Value::Null).await?;
    let phone_number_id = status["phone_number_id"].as_str().ok_or("not connected")?.to_owned();

    // The first message opens the conversation the rest land in.
    let inbound = |text: String| {
        let (http, sim, phone) = (api.http.clone(), sim.clone(), phone_number_id.clone());
        async move {
            let r = http
                .post(format!("{sim}/_sim/inbound"))
                .json(&json!({"phone_number_id": phone, "from": CUSTOMER, "text": text}))
                .send()
                .await
                .map_err(err)?;
            if !r.status().is_success() {
                return Err(format!("/_sim/inbound: {}", r.status()));
            }
            Ok::<(), String>(())
        }
    };
    inbound("hello".into()).await?;
    let started = Instant::now();
    let conversation = loop {
        let list = api.call(reqwest::Method::GET, "/conversations", Some(&owner), Value::Null).await?;
        if let Some(id) = list["items"][0]["id"].as_str() {
            break id.to_owned();
        }
        if started.elapsed() > GIVE_UP {
            return Err("the first message never opened a conversation".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let newest = format!("/conversations/{conversation}/messages?limit=1");

    let mut latencies = Vec::with_capacity(messages);
    for i in 0..messages {
        let text = format!("bench message {i}");
        let t = Instant::now();
        inbound(text.clone()).await?;
        loop {
            let page = api.call(reqwest::Method::GET, &newest, Some(&owner), Value::Null).await?;
            if page["items"][0]["text"] == text.as_str() {
                break;
            }
            if t.elapsed() > GIVE_UP {
                return Err(format!("{text} never reached the inbox"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "inbound webhook -> readable in the open inbox, {messages} messages: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms \
         (+ the page's 2 s poll interval for what a person sees)",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    platform.stop().await.map_err(err)?;
    Ok(())
}
