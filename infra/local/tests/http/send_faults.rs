//! The send pipeline under faults, all at once. Meta (the simulator) answers 5% of sends with a
//! transient 500, 5% with 130429, holds 2% until the client times out (nothing sent) and loses
//! the response of another 2% (sent, but the worker cannot know), and delivers every webhook
//! twice. During the run:
//! - a campaign is cancelled while its sweep jobs cannot be queued (the cancel answers 503);
//! - a re-connect of the tenant's WhatsApp fails (an invalid code);
//! - the process is killed mid-batch, right after committing messages and a campaign whose queue
//!   hand-offs never happened, and started again on the same data directory;
//! - the tenant is suspended long enough for all its open messages to be parked, then
//!   reactivated.
//!
//! Afterwards every message is final, Meta received each at most once (by
//! `biz_opaque_callback_data`), no cancelled message was sent, one debit per sent message and one
//! refund per debited failure or cancellation, the ledger adds up to the balance, and the
//! tenant's callback receiver got exactly one event per status change, campaign messages
//! included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::common::faults::{QueueFaults, SendFault};
use crate::common::sending::*;
use crate::common::*;
use meta_sim::{Faults, SimConfig};
use miping::domain::billing::{self, EntryKind};
use miping::domain::messages::dispatch::{SendJob, enqueue, enqueue_bulk};
use miping::domain::messages::{MessageStatus, MessageView};
use miping::domain::money::Money;
use miping::ports::Ports;
use miping::queues::{FANOUT, SEND, SEND_BULK};
use miping::store::messages;
use reqwest::StatusCode;
use serde_json::json;

const MESSAGES: usize = 240;

/// Every 20th recipient ends in 0000: Meta accepts it, then reports failure 131026 by webhook.
fn recipient(i: usize) -> String {
    format!("+1555{i:03}{}", if i.is_multiple_of(20) { "0000" } else { "1234" })
}

/// Short waits, so the run does not sit out a minute of grace for webhooks that will not come.
fn timings(c: &mut miping::config::Config) {
    c.send_timing.ambiguous_grace = Duration::from_secs(5);
    c.reconcile.grace = Duration::from_secs(2);
    c.reconcile.interval = Duration::from_millis(500);
}

/// Every message of the tenant, from the store (the API refuses a suspended tenant).
async fn all_messages(ports: &Ports, tenant: &str) -> BTreeMap<String, MessageView> {
    let mut out = BTreeMap::new();
    let mut cursor = None;
    loop {
        let (page, next) = messages::Messages::new(&*ports.table)
            .list(tenant, &messages::ListFilter::default(), 500, cursor)
            .await
            .unwrap();
        for v in page {
            out.insert(v.id.clone(), v);
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// What a wait last saw, printed if the test fails while this is alive.
#[derive(Default)]
struct ShowOnPanic(std::sync::Mutex<Vec<String>>);

impl ShowOnPanic {
    fn set(&self, seen: Vec<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = seen;
    }
}

impl Drop for ShowOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
            eprintln!("last seen before the failure ({}): {seen:#?}", seen.len());
        }
    }
}

fn is_final(s: MessageStatus) -> bool {
    matches!(s, MessageStatus::Read | MessageStatus::Failed | MessageStatus::Cancelled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_crashes_a_suspension_and_a_cancel_end_every_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let sim_config = SimConfig {
        webhook_url: Some(format!("http://{addr}/webhook/meta")),
        duplicate_webhooks: true,
        ..SimConfig::default()
    };
    let sim = meta_sim::start(sim_config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let faults = QueueFaults::default();
    let data = dir.path().to_path_buf();
    let mut tp = start_against_with(&sim, addr, data.clone(), true, Some(faults.wrap()), timings).await;

    let t = ready(&tp, 100_000).await;
    credit(&tp, &t.id, "1000.00").await;
    let rx = Collector::start().await;
    rx.register(&tp, &t.token).await;
    contacts(&tp, &t, 2..42).await;

    // A campaign cancelled while its sweep jobs cannot be queued: its 40 jobs wait on the bulk
    // lane (paused), the cancel answers 503, and the lane resumes.
    faults.pause(SEND_BULK, true);
    let cancelled = create(&tp, &t, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();
    poll_field(&tp, &t.token, &format!("/campaigns/{cancelled}"), "status", "completed").await;
    faults.set(FANOUT, Some(SendFault::Fail));
    let r = post(&tp, &t.token, &format!("/campaigns/{cancelled}/cancel"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    faults.set(FANOUT, None);
    faults.pause(SEND_BULK, false);

    // The stored messages, half on each lane, under Meta's faults.
    let ports = tp.ports().clone();
    let mut stored = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        stored.push(store_message(&ports, &t.id, &recipient(i)).await);
    }
    sim.set_faults(Faults {
        server_error_ratio: 0.05,
        throttle_ratio: 0.05,
        timeout_ratio: 0.02,
        lost_response_ratio: 0.02,
        ..Faults::default()
    });
    let jobs: Vec<SendJob> =
        stored.iter().map(|id| SendJob { tenant_id: t.id.clone(), message_id: id.clone() }).collect();
    let (one_off, bulk) = jobs.split_at(MESSAGES / 2);
    for job in one_off {
        enqueue(&ports, job).await.unwrap();
    }
    enqueue_bulk(&ports, bulk).await.unwrap();

    // A re-connect that fails: the working connection keeps sending.
    let r = post(&tp, &t.token, "/whatsapp/connect", &json!({"code": "invalid"})).await;
    assert!(!r.status().is_success());
    assert_eq!(get_ok(&tp, &t.token, "/whatsapp/status").await["status"], "connecting");

    // Kill the process while it is busy, right after it committed three messages and a campaign
    // whose jobs it never queued.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.sent_messages().len() < MESSAGES / 3 {
        assert!(Instant::now() < deadline, "sending never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    faults.set(SEND, Some(SendFault::Stall));
    faults.set(FANOUT, Some(SendFault::Stall));
    for i in 0..3 {
        let (url, http, token) = (tp.url("/messages"), tp.http.clone(), t.token.clone());
        let body = json!({"to": format!("+1415551{i}234"),
            "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}});
        tokio::spawn(async move { http.post(url).bearer_auth(token).json(&body).send().await });
    }
    let (url, http, token) = (tp.url("/campaigns"), tp.http.clone(), t.token.clone());
    tokio::spawn(async move { http.post(url).bearer_auth(token).json(&campaign(json!({"all": true}))).send().await });
    eventually(20, "the stranded work committed", || async {
        let all = all_messages(&ports, &t.id).await;
        let one_offs = all.values().filter(|m| m.to.as_deref().is_some_and(|to| to.starts_with("+1415551"))).count();
        let campaigns = get_ok(&tp, &t.token, "/campaigns").await["items"].as_array().unwrap().len();
        (one_offs == 3 && campaigns == 2).then_some(())
    })
    .await;
    tp.platform.take().unwrap().kill().await;
    let sent_before_kill = sim.sent_messages().len();
    let faults = QueueFaults::default();
    let mut tp = start_against_with(&sim, addr, data.clone(), true, Some(faults.wrap()), timings).await;
    let ports = tp.ports().clone();

    // Suspended: every open message ends up parked (the jobs of the killed process come back
    // after the 30 s visibility timeout, the stranded ones through the reconciler), and from
    // then on nothing cycles through the send lanes, however long the suspension lasts.
    patch_tenant(&tp, &t.id, &json!({"status": "suspended"})).await;
    // This wait has timed out once in ~10 full runs (the test running last); if it does again,
    // the messages still open are printed with it.
    let still_open = ShowOnPanic::default();
    let held = eventually(120, "every open message parked or final", || async {
        let all = all_messages(&ports, &t.id).await;
        let open: Vec<String> = all
            .values()
            .filter(|m| !is_final(m.status) && m.held.is_none())
            .map(|m| format!("{} {:?} campaign={:?}", m.id, m.status, m.campaign_id))
            .collect();
        let campaign_messages = all.values().filter(|m| m.campaign_id.is_some()).count();
        // Every message parked or final: none open.
        let done = campaign_messages == 80 && open.is_empty();
        still_open.set(open);
        done.then(|| all.values().filter(|m| m.held.is_some()).count())
    })
    .await;
    // Jobs handed back before their message ended (a backoff, a grace) still come back once;
    // then the lanes go quiet while the parked messages wait.
    let lanes = |f: &QueueFaults| f.received(SEND) + f.received(SEND_BULK);
    let mut quiet_since = (lanes(&faults), Instant::now());
    eventually(90, "the send lanes quiet while the tenant is suspended", || {
        let now = lanes(&faults);
        if now != quiet_since.0 {
            quiet_since = (now, Instant::now());
        }
        let quiet = quiet_since.1.elapsed() >= Duration::from_secs(3);
        async move { quiet.then_some(()) }
    })
    .await;
    for lane in [SEND, SEND_BULK] {
        assert!(ports.queue.dead_letters(lane, 10).await.unwrap().is_empty(), "nothing dead-lettered on {lane}");
    }
    patch_tenant(&tp, &t.id, &json!({"status": "active"})).await;

    // Everything ends.
    let views = eventually(180, "every message final", || async {
        let all = all_messages(&ports, &t.id).await;
        all.values().all(|m| is_final(m.status)).then_some(all)
    })
    .await;
    // The suspension ended the tenant's sessions: it signs in again. The retried cancel answers
    // as it is and finishes the sweep.
    let r = tp.login(&t.email, &t.password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let r = post(&tp, &token, &format!("/campaigns/{cancelled}/cancel"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Late webhooks, callbacks and redeliveries have nothing left to do; give them a moment.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let views_after = all_messages(&ports, &t.id).await;
    assert_eq!(
        views.values().map(|v| v.status).collect::<Vec<_>>(),
        views_after.values().map(|v| v.status).collect::<Vec<_>>(),
        "nothing changed after it finished"
    );
    assert_eq!(views.len(), MESSAGES + 3 + 80);

    // Meta received each message at most once; a cancelled one never.
    let sends = sends_per_message(&sim);
    let (mut read, mut failed, mut cancelled_n) = (0, 0, 0);
    for (id, v) in &views {
        let sent = sends.get(id).copied().unwrap_or(0);
        assert!(sent <= 1, "{id} was sent to Meta {sent} times");
        let history: Vec<MessageStatus> = v.status_history.iter().map(|e| e.status).collect();
        match v.status {
            MessageStatus::Read => {
                read += 1;
                assert_eq!(sent, 1, "{id} is read but Meta never got it");
                assert!(!history.contains(&MessageStatus::Failed), "{id}: {history:?}");
            }
            MessageStatus::Failed => {
                failed += 1;
                assert!(!history.contains(&MessageStatus::Read), "{id}: {history:?}");
                let code = v.error.as_ref().map(|e| e.code);
                let title = v.error.as_ref().and_then(|e| e.title.as_deref());
                // 131026 by webhook, or retries exhausted (MAX_ATTEMPTS sends that all met a fault:
                // rare, ~0.1^4 a message): the last answer is kept — Meta's own 130429 when that
                // was the last one, Meta's transient 1 / 2 when it was a 500 with Meta's error body
                // (the simulator's server errors carry one), `meta_unavailable` for a 5xx without it.
                assert!(
                    matches!(code, Some(131026 | 130429 | 1 | 2)) || title == Some("meta_unavailable"),
                    "{id}: {:?}",
                    v.error
                );
            }
            MessageStatus::Cancelled => {
                cancelled_n += 1;
                assert_eq!(v.campaign_id.as_deref(), Some(cancelled.as_str()), "{id}");
                assert_eq!(sent, 0, "{id} was cancelled and sent");
            }
            other => unreachable!("{other:?}"),
        }
        assert_eq!(v.held, None, "{id} still held");
    }
    assert_eq!(cancelled_n, 40, "the cancelled campaign sent nothing");
    for (i, id) in stored.iter().enumerate() {
        if i.is_multiple_of(20) {
            assert_eq!(views[id].status, MessageStatus::Failed, "{id} to an undeliverable number");
        }
    }

    // Money: one debit per message that went to Meta, one refund per debited message that
    // failed; nothing for a cancelled one; the ledger chains up to the balance.
    let entries = ledger(&ports, &t.id).await;
    let per_message = |kind: EntryKind| -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for e in entries.iter().filter(|e| e.kind == kind) {
            let reference = e.reference.as_ref().expect("reference");
            // Campaign debits reference the campaign; refunds the message.
            *m.entry(reference.id.clone()).or_default() += 1;
        }
        m
    };
    let refunds = per_message(EntryKind::Refund);
    for (id, v) in &views {
        let refunded = refunds.get(id).copied().unwrap_or(0);
        match v.status {
            MessageStatus::Failed => assert_eq!(refunded, 1, "{id} failed: refunded once"),
            _ => assert_eq!(refunded, 0, "{id} {:?}: no refund", v.status),
        }
    }
    let debits = entries.iter().filter(|e| e.kind == EntryKind::Debit).count();
    let charged = views.values().filter(|v| v.status != MessageStatus::Cancelled).count();
    assert_eq!(debits, charged, "one debit per message that was attempted");
    let mut running = Money::ZERO;
    for e in &entries {
        running = running.checked_add(e.signed_amount()).unwrap();
        assert_eq!(e.balance_after, running, "entry {} balance_after", e.seq);
    }
    assert_eq!(billing::balance(&ports, &t.id).await.unwrap(), running);

    // The tenant's system heard each status change once (duplicate webhooks, redeliveries and
    // the crash notwithstanding), campaign messages included: every message's final status, and
    // nothing that is not in its history, and nothing twice.
    let name = |s: MessageStatus| serde_json::to_value(s).unwrap().as_str().unwrap().to_owned();
    let finals: BTreeSet<(String, String)> = views.iter().map(|(id, v)| (id.clone(), name(v.status))).collect();
    // (A callback POST the kill interrupted is retried once its claim is stale, after 2 minutes.)
    let received = eventually(240, "every final status posted", || async {
        let got = rx.statuses();
        let distinct: BTreeSet<(String, String)> = got.iter().cloned().collect();
        finals.is_subset(&distinct).then_some(got)
    })
    .await;
    let distinct: BTreeSet<(String, String)> = received.iter().cloned().collect();
    assert_eq!(received.len(), distinct.len(), "a status change posted as two events");
    for (id, status) in &distinct {
        let history: Vec<String> = views[id].status_history.iter().map(|e| name(e.status)).collect();
        assert!(history.contains(status), "{id}: {status} posted, history {history:?}");
    }

    eprintln!(
        "{} messages: {read} read, {failed} failed, {cancelled_n} cancelled; {held} parked while suspended; \
         {sent_before_kill} at Meta when the process was killed",
        views.len()
    );
    tp.stop().await;
}
