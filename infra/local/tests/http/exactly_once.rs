//! Exactly once, nothing stranded: the local process and a Meta simulator the test owns, with
//! faults injected at the queue port (sends that fail or never return, lanes that hand out
//! nothing) and the process killed between its commits and its queue hand-offs. Each test is
//! one way the promise used to break: a long suspension, a cancel whose sweep was never queued,
//! a cancel after a debited attempt, an ambiguous last attempt, campaign callbacks, a failed
//! re-connect, and work stranded by a crash.

use std::time::Duration;

use crate::common::faults::{QueueFaults, SendFault};
use crate::common::sending::*;
use crate::common::*;
use meta_sim::{Faults, SimHandle};
use miping::domain::billing::EntryKind;
use miping::domain::messages::dispatch::{SendJob, enqueue};
use miping::domain::messages::{MessageStatus, MessageView};
use miping::domain::sending::worker::SendWorker;
use miping::domain::whatsapp::mark_needs_reauth;
use miping::ports::table::Update;
use miping::queues::{FANOUT, SEND, SEND_BULK};
use miping::runtime::consumer::consume;
use miping::store::{keys, messages};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A platform on its own data directory, against a simulator the test owns, behind switchable
/// queue faults.
struct Env {
    sim: SimHandle,
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
    faults: QueueFaults,
    tp: TestPlatform,
}

impl Env {
    async fn start(configure: fn(&mut miping::config::Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let sim = simulator_for(addr).await;
        let faults = QueueFaults::default();
        let tp = start_against_with(&sim, addr, dir.path().to_path_buf(), true, Some(faults.wrap()), configure).await;
        Self { sim, addr, dir, faults, tp }
    }

    /// Kills the process wherever it is, and starts it again on the same data (no faults).
    async fn crash_and_restart(&mut self, configure: fn(&mut miping::config::Config)) {
        self.tp.platform.take().expect("running").kill().await;
        self.faults = QueueFaults::default();
        let dir = self.dir.path().to_path_buf();
        self.tp = start_against_with(&self.sim, self.addr, dir, true, Some(self.faults.wrap()), configure).await;
    }

    async fn message(&self, tenant: &str, id: &str) -> MessageView {
        messages::Messages::new(&*self.tp.ports().table).view(tenant, id).await.unwrap().expect("message")
    }

    /// Waits until the message reaches `want` (or beyond on the forward path).
    async fn reaches(&self, tenant: &str, id: &str, want: MessageStatus, secs: u64) -> MessageView {
        eventually(secs, &format!("{id} {want:?}"), || async {
            let v = self.message(tenant, id).await;
            (v.status == want).then_some(v)
        })
        .await
    }
}

/// Faster reconciler runs, for the tests that rely on it.
fn quick_reconciler(c: &mut miping::config::Config) {
    c.reconcile.grace = Duration::from_secs(1);
    c.reconcile.interval = Duration::from_millis(300);
}

/// The campaign's messages, through `GET /messages?campaign_id=`.
async fn campaign_messages(tp: &TestPlatform, t: &ActiveTenant, id: &str) -> Vec<Value> {
    get_ok(tp, &t.token, &format!("/messages?campaign_id={id}&limit=200")).await["items"].as_array().unwrap().clone()
}

/// Item 1: holding a job used to hand it back to the queue every 60 s, each time a receive; after
/// 50 the job went to the dead-letter queue and its message stayed `queued` forever. The worker
/// now parks the message and acknowledges the job, and reactivation releases it. The test is
/// the send lane's poller during the suspension and compresses time: every hand-back is made
/// visible again at once, so 60 holds (an hour of suspension) take a few seconds.
#[tokio::test]
async fn a_suspension_longer_than_fifty_holds_ends_with_the_messages_sent() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let sim = simulator_for(addr).await;
    let mut tp = start_against(&sim, addr, dir.path().to_path_buf()).await;
    let t = provision_and_activate(&tp).await;
    connect_whatsapp(&tp, &t.token, &format!("hold-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())).await;
    credit(&tp, &t.id, "10.00").await;
    patch_tenant(&tp, &t.id, &json!({"status": "suspended"})).await;
    tp.stop().await;

    // Overnight: the test is the one-off lane's poller.
    let mut tp = start_against_with(&sim, addr, dir.path().to_path_buf(), false, None, |_| {}).await;

    let ports = tp.ports().clone();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = store_message(&ports, &t.id, &format!("+155501023{i}4")).await;
        enqueue(&ports, &SendJob { tenant_id: t.id.clone(), message_id: id.clone() }).await.unwrap();
        ids.push(id);
    }
    let worker = SendWorker::new(ports.clone(), miping::config::prices_from_env());
    let mut receives = 0;
    for _ in 0..60 {
        for d in ports.queue.receive(SEND, 10, Duration::from_millis(50)).await.unwrap() {
            receives += 1;
            match consume(&worker, &d).await {
                Ok(()) => ports.queue.ack(SEND, &d.receipt).await.unwrap(),
                // A hold handed back: visible again at once (the hour compressed).
                Err(_) => ports.queue.retry_after(SEND, &d.receipt, Duration::ZERO).await.unwrap(),
            }
        }
    }
    assert_eq!(receives, 3, "each job was received once, then parked and acknowledged");
    assert!(ports.queue.dead_letters(SEND, 10).await.unwrap().is_empty(), "nothing dead-lettered");
    for id in &ids {
        let v = messages::Messages::new(&*ports.table).view(&t.id, id).await.unwrap().unwrap();
        assert_eq!((v.status, v.held.as_deref()), (MessageStatus::Queued, Some("tenant_suspended")), "{id}");
    }
    assert!(sim.sent_messages().is_empty(), "nothing sent while suspended");
    tp.stop().await;

    // The next morning: the platform with its send lanes, the tenant reactivated.
    let tp = start_against(&sim, addr, dir.path().to_path_buf()).await;
    patch_tenant(&tp, &t.id, &json!({"status": "active"})).await;
    for id in &ids {
        let v = eventually(20, "sent after reactivation", || async {
            let v = messages::Messages::new(&*tp.ports().table).view(&t.id, id).await.unwrap().unwrap();
            (v.status == MessageStatus::Read).then_some(v)
        })
        .await;
        assert_eq!(v.held, None);
    }
    let sends = sends_per_message(&sim);
    assert!(ids.iter().all(|id| sends.get(id) == Some(&1)), "{sends:?}");
}

/// Item 2: a cancel whose sweep jobs cannot be queued (503) used to leave the campaign sending
/// and charging: the worker never looked at the campaign. Now nothing more is sent after the
/// cancel commits, and a retried cancel sweeps again.
#[tokio::test]
async fn a_cancelled_campaign_sends_nothing_even_when_its_sweep_was_never_queued() {
    let env = Env::start(|_| {}).await;
    let tp = &env.tp;
    let t = ready(tp, 1000).await;
    credit(tp, &t.id, "100.00").await;
    contacts(tp, &t, 2..22).await;
    env.faults.pause(SEND_BULK, true);
    let c = create(tp, &t, &campaign(json!({"all": true}))).await;
    let id = c["id"].as_str().unwrap().to_string();
    poll_field(tp, &t.token, &format!("/campaigns/{id}"), "status", "completed").await;

    env.faults.set(FANOUT, Some(SendFault::Fail));
    let r = post(tp, &t.token, &format!("/campaigns/{id}/cancel"), &json!({})).await;
    assert_eq!(error_code(r, StatusCode::SERVICE_UNAVAILABLE).await, "service_unavailable");
    assert_eq!(get_ok(tp, &t.token, &format!("/campaigns/{id}")).await["status"], "cancelled");

    // The bulk lane gets to the campaign's jobs: the worker cancels instead of sending.
    env.faults.pause(SEND_BULK, false);
    eventually(20, "every message cancelled by the worker", || async {
        let all = campaign_messages(tp, &t, &id).await;
        (all.len() == 20 && all.iter().all(|m| m["status"] == "cancelled")).then_some(())
    })
    .await;
    assert!(env.sim.sent_messages().is_empty(), "nothing sent after the cancel");
    let counts = get_ok(tp, &t.token, &format!("/campaigns/{id}")).await["counts"].clone();
    assert_eq!((counts["cancelled"].as_i64(), counts["queued"].as_i64()), (Some(20), Some(0)), "{counts}");
    assert_eq!(get_ok(tp, &t.token, "/tenant").await["usage"]["messages_sent"], 0, "quota given back");
    assert!(ledger(tp.ports(), &t.id).await.iter().all(|e| e.kind == EntryKind::Credit), "nothing charged");

    // The retry (the queue works again) answers as it is and finishes the sweep.
    env.faults.set(FANOUT, None);
    let r = post(tp, &t.token, &format!("/campaigns/{id}/cancel"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    eventually(20, "the sweep done and the campaign out of the hand-off index", || async {
        let item = tp.ports().table.get(&keys::campaign(&t.id, &id)).await.unwrap().unwrap();
        item.get(keys::HANDOFF.pk_attr()).is_none().then_some(())
    })
    .await;
}

/// Item 4: a campaign message debited by an attempt that Meta refused (500, back to `queued`)
/// and then cancelled used to keep its debit. The cancel refunds it, once.
#[tokio::test]
async fn a_cancel_after_a_debited_attempt_refunds_it() {
    let env = Env::start(|_| {}).await;
    let tp = &env.tp;
    let t = ready(tp, 1000).await;
    credit(tp, &t.id, "10.00").await;
    contacts(tp, &t, 2..3).await;
    env.sim.set_faults(Faults { server_error_ratio: 1.0, ..Faults::default() });
    let id = create(tp, &t, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();

    let message = eventually(20, "a first attempt refused by Meta", || async {
        let m = campaign_messages(tp, &t, &id).await.into_iter().next()?;
        let item = messages::Messages::new(&*tp.ports().table).get(&t.id, m["id"].as_str()?).await.unwrap()?;
        (item.get_i64("send_attempts").unwrap_or(0) >= 1).then(|| m["id"].as_str().unwrap().to_string())
    })
    .await;
    // No further attempt: the lane stops handing out jobs; the message is back in `queued`.
    env.faults.pause(SEND_BULK, true);
    env.reaches(&t.id, &message, MessageStatus::Queued, 20).await;
    let r = post(tp, &t.token, &format!("/campaigns/{id}/cancel"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    env.reaches(&t.id, &message, MessageStatus::Cancelled, 20).await;

    let entries = eventually(10, "the refund", || async {
        let entries = ledger(tp.ports(), &t.id).await;
        entries.iter().any(|e| e.kind == EntryKind::Refund).then_some(entries)
    })
    .await;
    let of = |kind: EntryKind| entries.iter().filter(|e| e.kind == kind).count();
    assert_eq!((of(EntryKind::Debit), of(EntryKind::Refund)), (1, 1));
    assert_eq!(miping::domain::billing::balance(tp.ports(), &t.id).await.unwrap(), "10.00".parse().unwrap());
    let item = messages::Messages::new(&*tp.ports().table).get(&t.id, &message).await.unwrap().unwrap();
    assert!(item.get("refund_pending").is_none() && item.get(keys::REFUND.pk_attr()).is_none(), "settled");
}

/// Item 5: the last allowed attempt timed out after Meta took the message (its answer lost); it
/// used to be failed and refunded at once, and Meta's `delivered` then left a delivered message
/// with a refund (or, as here, a failed message Meta did send). It now waits for Meta's webhook
/// like the earlier attempts.
#[tokio::test]
async fn an_ambiguous_last_attempt_waits_for_metas_webhook() {
    let env = Env::start(|_| {}).await;
    let tp = &env.tp;
    let t = provision_and_activate(tp).await;
    connect_whatsapp(tp, &t.token, &format!("last-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())).await;
    credit(tp, &t.id, "10.00").await;
    let ports = tp.ports();
    let id = store_message(ports, &t.id, "+15550209999").await;
    // Three attempts refused before: this one is the last.
    ports.table.update(&messages::key(&t.id, &id), Update::new().add("send_attempts", 3), None).await.unwrap();
    // Meta takes it and the answer is lost (the client gives up after 10 s); its webhooks come
    // after that, as they may.
    env.sim.configure(|c| c.status_delay = Duration::from_secs(11));
    env.sim.set_faults(Faults { lost_response_ratio: 1.0, ..Faults::default() });
    enqueue(ports, &SendJob { tenant_id: t.id.clone(), message_id: id.clone() }).await.unwrap();

    let v = env.reaches(&t.id, &id, MessageStatus::Sent, 40).await;
    let history: Vec<MessageStatus> = v.status_history.iter().map(|e| e.status).collect();
    assert!(!history.contains(&MessageStatus::Failed), "{history:?}");
    let entries = ledger(ports, &t.id).await;
    assert_eq!(entries.iter().filter(|e| e.kind == EntryKind::Debit).count(), 1);
    assert!(!entries.iter().any(|e| e.kind == EntryKind::Refund), "Meta took it: nothing to refund");
    assert_eq!(sends_per_message(&env.sim).get(&id), Some(&1));
}

/// Item 6: campaign messages went through the counted status path, which never told the
/// tenant's callback receiver. Each status change of each message is posted once.
#[tokio::test]
async fn campaign_messages_get_one_callback_per_status_change() {
    let env = Env::start(|_| {}).await;
    let tp = &env.tp;
    let t = ready(tp, 1000).await;
    let rx = Collector::start().await;
    rx.register(tp, &t.token).await;
    contacts(tp, &t, 2..5).await;
    let id = create(tp, &t, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();
    let ids: Vec<String> = eventually(20, "three campaign messages read", || async {
        let all = campaign_messages(tp, &t, &id).await;
        (all.len() == 3 && all.iter().all(|m| m["status"] == "read"))
            .then(|| all.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect())
    })
    .await;
    let want = |statuses: &[(String, String)]| {
        ids.iter().all(|m| ["sent", "delivered", "read"].iter().all(|s| statuses.contains(&(m.clone(), s.to_string()))))
    };
    eventually(20, "sent, delivered and read posted for each", || async { want(&rx.statuses()).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let statuses = rx.statuses();
    for m in &ids {
        for s in ["sent", "delivered", "read"] {
            let n = statuses.iter().filter(|(id, st)| id == m && st == s).count();
            assert_eq!(n, 1, "{m} {s}: {statuses:?}");
        }
    }
}

/// `POST /messages` with the `city_news` template; the message id.
async fn send(tp: &TestPlatform, t: &ActiveTenant, to: &str) -> String {
    let body = json!({"to": to, "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}});
    let r = post(tp, &t.token, "/messages", &body).await;
    let status = r.status();
    assert_eq!(status, StatusCode::ACCEPTED, "sends are accepted: {}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

/// The phone number id Meta was asked to send message `id` from.
async fn sent_via(sim: &SimHandle, id: String) -> String {
    eventually(20, "sent", || async {
        sim.sent_messages()
            .into_iter()
            .find(|m| m.body["biz_opaque_callback_data"] == id.as_str())
            .map(|m| m.phone_number_id)
    })
    .await
}

/// Item 7: a re-connect that fails (an `invalid` code, a number that is not in the WABA) used to
/// drop the working token and answer 409 to every send; queued messages were failed. The
/// working connection stays in service until a new one completes; a connection being changed
/// with no working one holds sends instead of failing them.
#[tokio::test]
async fn a_failed_reconnect_keeps_the_working_connection_in_service() {
    let env = Env::start(|_| {}).await;
    let tp = &env.tp;
    let t = provision_and_activate(tp).await;
    // One WABA with three numbers: re-connects to the same business keep its templates.
    let code = format!("numbers_3-{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let numbers: Vec<String> = meta_sim::business_for_code(&code).phone_numbers.into_iter().map(|p| p.id).collect();
    let token = t.token.as_str();
    let connect = |code: String, phone: &str| {
        let body = json!({"code": code, "phone_number_id": phone});
        async move { post(tp, token, "/whatsapp/connect", &body).await }
    };
    assert_eq!(connect(code.clone(), &numbers[0]).await.status(), StatusCode::OK);
    template(tp, &t, "city_news", "APPROVED").await;

    let r = post(tp, &t.token, "/whatsapp/connect", &json!({"code": "invalid"})).await;
    assert!(!r.status().is_success(), "{}", r.status());
    let status = get_ok(tp, &t.token, "/whatsapp/status").await;
    assert_eq!(status["status"], "connecting");
    assert_eq!(status["in_service"]["phone_number_id"], numbers[0].as_str(), "{status}");
    assert_eq!(sent_via(&env.sim, send(tp, &t, "+14155500101").await).await, numbers[0]);
    let r = post(tp, &t.token, "/templates/sync", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK, "templates are managed through the working connection");

    let r = connect(format!("{code}~2"), "999").await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "phone_number_not_found");
    assert_eq!(sent_via(&env.sim, send(tp, &t, "+14155500102").await).await, numbers[0]);

    // Another number completes: it takes over, and the old number's route is freed.
    assert_eq!(connect(format!("{code}~3"), &numbers[1]).await.status(), StatusCode::OK);
    assert_eq!(get_ok(tp, &t.token, "/whatsapp/status").await["in_service"], Value::Null);
    assert_eq!(sent_via(&env.sim, send(tp, &t, "+14155500103").await).await, numbers[1]);
    let route = miping::domain::whatsapp::account_events::tenant_for_phone_number(tp.ports(), &numbers[0]).await;
    assert_eq!(route.unwrap(), None);

    // No working connection while changing (a reconnect after Meta refused the token): held.
    mark_needs_reauth(tp.ports(), &t.id).await.unwrap();
    let r = post(tp, &t.token, "/whatsapp/connect", &json!({"code": "invalid"})).await;
    assert!(!r.status().is_success());
    let id = store_message(tp.ports(), &t.id, "+14155500104").await;
    enqueue(tp.ports(), &SendJob { tenant_id: t.id.clone(), message_id: id.clone() }).await.unwrap();
    let v = eventually(10, "held while connecting", || async {
        let v = env.message(&t.id, &id).await;
        v.held.is_some().then_some(v)
    })
    .await;
    assert_eq!((v.status, v.held.as_deref()), (MessageStatus::Queued, Some("whatsapp_connecting")));
    assert_eq!(connect(format!("{code}~4"), &numbers[2]).await.status(), StatusCode::OK);
    assert_eq!(sent_via(&env.sim, id).await, numbers[2]);
}

/// Item 8: the process dies between a commit and its queue hand-off — a message accepted (202
/// never sent), a campaign created, a scheduled message released — and nothing used to queue
/// their jobs again. The reconciler finds them in the hand-off index after its grace.
#[tokio::test]
async fn work_stranded_by_a_crash_is_requeued_by_the_reconciler() {
    let mut env = Env::start(quick_reconciler).await;
    let t = ready(&env.tp, 1000).await;
    contacts(&env.tp, &t, 2..5).await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let body = json!({"to": "+14155500201", "schedule_at": at,
        "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}});
    let r = post(&env.tp, &t.token, "/messages", &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let scheduled = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    // Every hand-off from now on hangs, as if the process died right after its commit.
    env.faults.set(SEND, Some(SendFault::Stall));
    env.faults.set(FANOUT, Some(SendFault::Stall));
    let (base, http, token) = (env.tp.base.clone(), env.tp.http.clone(), t.token.clone());
    let body = json!({"to": "+14155500202", "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}});
    let (b, h, k) = (base.clone(), http.clone(), token.clone());
    tokio::spawn(async move { h.post(format!("{b}/messages")).bearer_auth(k).json(&body).send().await });
    tokio::spawn(async move {
        http.post(format!("{base}/campaigns")).bearer_auth(token).json(&campaign(json!({"all": true}))).send().await
    });
    let (one_off, campaign_id) = eventually(10, "both committed", || async {
        let messages = get_ok(&env.tp, &t.token, "/messages?limit=20").await["items"].as_array().unwrap().clone();
        let one_off = messages.iter().find(|m| m["to"] == "+14155500202")?["id"].as_str()?.to_string();
        let campaigns = get_ok(&env.tp, &t.token, "/campaigns").await["items"].as_array().unwrap().clone();
        Some((one_off, campaigns.first()?["id"].as_str()?.to_string()))
    })
    .await;
    env.reaches(&t.id, &scheduled, MessageStatus::Queued, 10).await;
    env.crash_and_restart(quick_reconciler).await;

    let tp = &env.tp;
    for id in [&one_off, &scheduled] {
        env.reaches(&t.id, id, MessageStatus::Read, 30).await;
    }
    let all = eventually(30, "the campaign fanned out and read", || async {
        let all = campaign_messages(tp, &t, &campaign_id).await;
        (all.len() == 3 && all.iter().all(|m| m["status"] == "read")).then_some(all)
    })
    .await;
    let sends = sends_per_message(&env.sim);
    for id in all.iter().map(|m| m["id"].as_str().unwrap().to_string()).chain([one_off, scheduled]) {
        assert_eq!(sends.get(&id), Some(&1), "{id} sent once: {sends:?}");
    }
}

/// A message whose send job cannot be queued is answered 503 and does not count against the
/// plan: its count, taken beside the message's own writes, is given back. The next one counts.
#[tokio::test]
async fn a_message_that_cannot_be_queued_is_not_counted() {
    let env = Env::start(|_| {}).await;
    let t = ready(&env.tp, 1000).await;
    let body = json!({"to": "+14155500301", "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}});
    env.faults.set(SEND, Some(SendFault::Fail));
    let r = post(&env.tp, &t.token, "/messages", &body).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (_, tenant) = get_json(&env.tp, &t.token, "/tenant").await;
    assert_eq!(tenant["usage"]["messages_sent"], 0);

    env.faults.set(SEND, None);
    send(&env.tp, &t, "+14155500301").await;
    let (_, tenant) = get_json(&env.tp, &t.token, "/tenant").await;
    assert_eq!(tenant["usage"]["messages_sent"], 1);
}
