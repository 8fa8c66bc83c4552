//! `/campaigns` over HTTP against the built-in Meta simulator: a 1,000-recipient campaign to the
//! end (delivered/read, the simulator's failing numbers refunded once, opted-out contacts
//! skipped and counted, variables mapped from each contact into Meta's payload); every refusal
//! up front; cancel; a fan-out page redone without duplicates; tenant isolation.

use std::time::Duration;

use crate::common::sending::*;
use crate::common::*;
use chrono::Utc;
use miping::domain::campaigns::fanout::{self, FanoutWorker};
use miping::domain::contacts::Contact;
use miping::domain::messages::dispatch::SendJob;
use miping::domain::sending::worker::{Attempt, SendWorker};
use miping::domain::{billing, tenants, usage};
use miping::ports::table::Update;
use miping::runtime::consumer::Consumer;
use miping::store::contacts::Contacts;
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn opt_out(tp: &TestPlatform, t: &ActiveTenant, c: &Contact) {
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{}", c.id)))
        .bearer_auth(&t.token)
        .json(&json!({"opted_out": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn counts(tp: &TestPlatform, t: &ActiveTenant, id: &str) -> Value {
    get_ok(tp, &t.token, &format!("/campaigns/{id}")).await["counts"].clone()
}

async fn messages_sent(tp: &TestPlatform, t: &ActiveTenant) -> u64 {
    get_ok(tp, &t.token, "/tenant").await["usage"]["messages_sent"].as_u64().unwrap()
}

/// Every message of the campaign, through `GET /messages?campaign_id=`.
async fn campaign_messages(tp: &TestPlatform, t: &ActiveTenant, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/messages?campaign_id={id}&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = get_ok(tp, &t.token, &path).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn a_thousand_recipients_are_delivered_and_read_and_failures_refunded_once() {
    let tp = start().await;
    // Meta's limit above our pacing (80/s): no 130429 slow-downs, so the test measures campaigns.
    tp.platform.as_ref().unwrap().simulator.as_ref().unwrap().set_throughput(1000);
    let t = ready(&tp, 5000).await;
    credit(&tp, &t.id, "1000.00").await;
    // 0..1000 includes +14155500000 (fails 131026) and +14155500001 (fails 131047).
    let people = contacts(&tp, &t, 0..1000).await;
    let opted = contacts(&tp, &t, 5000..5003).await;
    for c in &opted {
        opt_out(&tp, &t, c).await;
    }
    let before = messages_sent(&tp, &t).await;

    let created = create(&tp, &t, &campaign(json!({"all": true}))).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["status"], "running");
    assert_eq!(created["counts"]["total"], 1003);

    // Generous: the whole pipeline (send, three signed webhooks per message) runs in a debug build
    // on a shared machine.
    let mut last = Value::Null;
    for _ in 0..3000 {
        last = counts(&tp, &t, &id).await;
        if last["read"].as_i64().unwrap() + last["failed"].as_i64().unwrap() == 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["read"], 998, "{last}");
    assert_eq!(last["failed"], 2, "{last}");
    assert_eq!(
        (last["queued"].as_i64(), last["sent"].as_i64(), last["delivered"].as_i64()),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(last["skipped_opted_out"], 3);
    assert_eq!(last["total"], 1003);
    let view = get_ok(&tp, &t.token, &format!("/campaigns/{id}")).await;
    assert_eq!(view["status"], "completed");

    // Quota: the reservation became exactly the messages created.
    assert_eq!(messages_sent(&tp, &t).await - before, 1000);

    // Per-recipient rows, each once; the failing numbers with Meta's codes.
    let rows = campaign_messages(&tp, &t, &id).await;
    assert_eq!(rows.len(), 1000);
    let failed: Vec<(String, i64)> = rows
        .iter()
        .filter(|m| m["status"] == "failed")
        .map(|m| (m["to"].as_str().unwrap().to_string(), m["error"]["code"].as_i64().unwrap()))
        .collect();
    let mut failed = failed;
    failed.sort();
    assert_eq!(failed, vec![("+14155500000".to_string(), 131026), ("+14155500001".to_string(), 131047)]);

    // Money: 1,000 debits at 0.12, the two failures refunded once each.
    let ports = tp.ports();
    assert_eq!(billing::balance(ports, &t.id).await.unwrap(), "880.24".parse().unwrap());
    for m in rows.iter().filter(|m| m["status"] == "failed") {
        let refund = ports.table.get(&keys::refund_marker(&t.id, m["id"].as_str().unwrap())).await.unwrap();
        assert!(refund.is_some());
    }

    // Variables mapped from each contact into Meta's payload.
    let sim = tp.platform.as_ref().unwrap().simulator.as_ref().unwrap();
    let sent = sim.sent_messages();
    let to_seven: Vec<_> = sent.iter().filter(|s| s.to.trim_start_matches('+') == "14155500007").collect();
    assert_eq!(to_seven.len(), 1, "sent once");
    let params = &to_seven[0].body["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], "Name 7");
    assert_eq!(params[1]["text"], "City 7");
    assert_eq!(to_seven[0].body["template"]["name"], "city_news");
    // Nobody opted out got anything.
    assert!(!sent.iter().any(|s| s.to.trim_start_matches('+').starts_with("141555050")));
    assert!(people.len() == 1000);
}

#[tokio::test]
async fn refusals_are_precise_and_up_front() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    let people = contacts(&tp, &t, 0..5).await;
    let refused = |r: reqwest::Response, status: StatusCode| async move {
        assert_eq!(r.status(), status);
        r.json::<Value>().await.unwrap()["error"].clone()
    };

    // Shape: every field at once.
    let e = refused(
        post(&tp, &t.token, "/campaigns", &json!({"template": {}, "audience": {"all": true, "tags": ["x"]}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = e["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "template.name", "template.language", "audience"]);

    // Template: unknown, then variables that do not fit.
    let mut body = campaign(json!({"all": true}));
    body["template"]["name"] = json!("nope");
    let e = refused(post(&tp, &t.token, "/campaigns", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(e["code"], "unknown_template");
    let mut body = campaign(json!({"all": true}));
    body["variables"] = json!(["{{contact.name}}"]);
    let e = refused(post(&tp, &t.token, "/campaigns", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        (e["code"].as_str(), e["details"][0]["code"].as_str()),
        (Some("invalid_variables"), Some("count_mismatch"))
    );
    body["variables"] = json!(["{{contact.email}}", "x"]);
    let e = refused(post(&tp, &t.token, "/campaigns", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(e["details"][0]["field"], "variables[0]");
    assert_eq!(e["details"][0]["code"], "invalid_mapping");

    // Audience: a tag nobody has, an unknown contact.
    let e = refused(
        post(&tp, &t.token, "/campaigns", &campaign(json!({"tags": ["nobody"]}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["code"], "empty_audience");
    let e = refused(
        post(&tp, &t.token, "/campaigns", &campaign(json!({"contact_ids": [people[0].id, "con_01nope"]}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["code"], "unknown_contacts");
    assert_eq!(e["details"][0]["field"], "audience.contact_ids[1]");

    // Quota: 998 of 1,000 used; five recipients do not fit, two do.
    let ports = tp.ports();
    let tenant = tenants::get(ports, &t.id).await.unwrap();
    usage::record_sent(ports, &t.id, tenant.starts_at, 998).await.unwrap();
    let e = refused(
        post(&tp, &t.token, "/campaigns", &campaign(json!({"all": true}))).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(e["code"], "quota_exceeded");
    assert_eq!(messages_sent(&tp, &t).await, 998, "a refused campaign reserves nothing");
    let ids = json!([people[0].id, people[1].id]);
    create(&tp, &t, &campaign(json!({"contact_ids": ids}))).await;
    assert_eq!(messages_sent(&tp, &t).await, 1000, "the campaign's audience is reserved");

    // Nothing was created by the refusals.
    assert_eq!(get_ok(&tp, &t.token, "/campaigns").await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn prepaid_credits_must_cover_the_campaign() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    contacts(&tp, &t, 0..3).await;
    credit(&tp, &t.id, "0.30").await; // 3 utility messages cost 0.36
    let r = post(&tp, &t.token, "/campaigns", &campaign(json!({"all": true}))).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "insufficient_credits");
    credit(&tp, &t.id, "0.06").await;
    create(&tp, &t, &campaign(json!({"all": true}))).await;
}

#[tokio::test]
async fn a_missing_attribute_skips_that_contact_and_counts_it() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    let people = contacts(&tp, &t, 0..3).await;
    // One contact without a city.
    let mut bare = people[2].clone();
    bare.attributes.clear();
    Contacts::new(&*tp.ports().table).replace(&people[2], &bare).await.unwrap();
    let id = create(&tp, &t, &campaign(json!({"tags": ["all"]}))).await["id"].as_str().unwrap().to_string();
    let view = poll_field(&tp, &t.token, &format!("/campaigns/{id}"), "status", "completed").await;
    assert_eq!(view["counts"]["skipped_missing_data"], 1);
    assert_eq!(view["counts"]["total"], 3);
    assert_eq!(campaign_messages(&tp, &t, &id).await.len(), 2);
}

/// Without consumers: the fan-out and the sweep run by hand, so what is queued can be checked.
#[tokio::test]
async fn cancel_stops_unsent_messages_and_gives_back_the_quota() {
    let (tp, _stop) = start_without_senders().await;
    let t = ready_without_consumers(&tp).await;
    contacts(&tp, &t, 0..30).await;
    let ports = tp.ports().clone();
    let id = create(&tp, &t, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();
    assert_eq!(messages_sent(&tp, &t).await, 30);

    let report = fanout::run_page(&ports, &t.id, &id, 0, false).await.unwrap();
    assert_eq!((report.created, report.last), (30, true));
    assert_eq!(counts(&tp, &t, &id).await["queued"], 30);
    // The tenant has a callback (no consumer runs here: its jobs stay on the queue to inspect).
    let r = tp
        .http
        .put(tp.url("/settings/callback"))
        .bearer_auth(&t.token)
        .json(&json!({"url": "http://127.0.0.1:9/hooks", "secret": "whsec_0123456789abcdef0123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = post(&tp, &t.token, &format!("/campaigns/{id}/cancel"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    // Idempotent.
    let again = post(&tp, &t.token, &format!("/campaigns/{id}/cancel"), &json!({})).await;
    assert_eq!(again.status(), StatusCode::OK);

    // The sweep jobs (delayed a little for the index), run by hand.
    tokio::time::sleep(fanout::SWEEP_DELAY + Duration::from_millis(300)).await;
    let worker = FanoutWorker { ports: ports.clone() };
    loop {
        let batch = ports.queue.receive(miping::queues::FANOUT, 10, Duration::from_millis(200)).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for d in batch {
            worker.handle(&d).await.unwrap();
            ports.queue.ack(miping::queues::FANOUT, &d.receipt).await.unwrap();
        }
    }
    let c = counts(&tp, &t, &id).await;
    assert_eq!((c["cancelled"].as_i64(), c["queued"].as_i64()), (Some(30), Some(0)), "{c}");
    assert_eq!(messages_sent(&tp, &t).await, 0, "unsent messages give their quota back");
    let rows = campaign_messages(&tp, &t, &id).await;
    assert!(rows.iter().all(|m| m["status"] == "cancelled"));
    // Each cancellation was reported to the tenant's system, once per message.
    let mut reported = std::collections::HashSet::new();
    loop {
        let batch = ports.queue.receive(miping::queues::CALLBACK, 10, Duration::from_millis(200)).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for d in batch {
            let job: Value = serde_json::from_str(&d.body).unwrap();
            if job["event"]["data"]["status"] == "cancelled" {
                assert_eq!(job["event"]["data"]["campaign_id"], id.as_str());
                reported.insert(job["event"]["data"]["message_id"].as_str().unwrap().to_string());
            }
            ports.queue.ack(miping::queues::CALLBACK, &d.receipt).await.unwrap();
        }
    }
    assert_eq!(reported.len(), 30, "a message.status cancelled event per message");

    // The send worker never sends a cancelled message.
    let sender = SendWorker::new(ports.clone(), Default::default());
    let job = SendJob { tenant_id: t.id.clone(), message_id: rows[0]["id"].as_str().unwrap().to_string() };
    assert_eq!(sender.attempt(&job, 1).await.unwrap(), Attempt::Skipped);
}

#[tokio::test]
async fn a_redone_page_creates_nobody_twice() {
    let (tp, _stop) = start_without_senders().await;
    let t = ready_without_consumers(&tp).await;
    contacts(&tp, &t, 0..40).await;
    let ports = tp.ports().clone();
    let id = create(&tp, &t, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();

    // Two deliveries of the same page at once (SQS may duplicate): one set of messages.
    let (a, b) =
        tokio::join!(fanout::run_page(&ports, &t.id, &id, 0, false), fanout::run_page(&ports, &t.id, &id, 0, false));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.created + b.created, 40, "{a:?} {b:?}");

    // A worker that died after writing the page but before its checkpoint: the checkpoint is
    // undone and the page redelivered.
    ports
        .table
        .update(
            &keys::campaign(&t.id, &id),
            Update::new()
                .set("fanout_page", 0)
                .set("status", "running")
                .set("settled", false)
                .set("skipped_opted_out", 0)
                .set("skipped_missing_data", 0),
            None,
        )
        .await
        .unwrap();
    let redo = fanout::run_page(&ports, &t.id, &id, 0, true).await.unwrap();
    assert_eq!((redo.created, redo.existing), (0, 40));
    assert_eq!(campaign_messages(&tp, &t, &id).await.len(), 40);
    let c = counts(&tp, &t, &id).await;
    assert_eq!(c["queued"], 40, "counted once: {c}");
    assert_eq!(get_ok(&tp, &t.token, &format!("/campaigns/{id}")).await["status"], "completed");
    // The redo queued the page's send jobs again (the first attempt may have died before);
    // every job names one of the 40 messages.
    let mut jobs = std::collections::HashMap::<String, usize>::new();
    loop {
        let batch = ports.queue.receive(miping::queues::SEND_BULK, 100, Duration::from_millis(100)).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for d in batch {
            let job: SendJob = serde_json::from_str(&d.body).unwrap();
            *jobs.entry(job.message_id).or_default() += 1;
            ports.queue.ack(miping::queues::SEND_BULK, &d.receipt).await.unwrap();
        }
    }
    assert_eq!(jobs.len(), 40);
    assert!(jobs.values().all(|n| *n == 2));
}

#[tokio::test]
async fn campaigns_are_listed_and_isolated_per_tenant() {
    let tp = start().await;
    let a = ready(&tp, 1000).await;
    let b = provision_and_activate(&tp).await;
    contacts(&tp, &a, 0..2).await;
    let first = create(&tp, &a, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();
    let second = create(&tp, &a, &campaign(json!({"all": true}))).await["id"].as_str().unwrap().to_string();

    let page = get_ok(&tp, &a.token, "/campaigns?limit=1").await;
    assert_eq!(page["items"][0]["id"], second.as_str(), "newest first");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = get_ok(&tp, &a.token, &format!("/campaigns?limit=1&cursor={cursor}")).await;
    assert_eq!(next["items"][0]["id"], first.as_str());

    let (status, _) = get_json(&tp, &b.token, &format!("/campaigns/{first}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = post(&tp, &b.token, &format!("/campaigns/{first}/cancel"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(get_ok(&tp, &b.token, "/campaigns").await["items"].as_array().unwrap().is_empty());
    assert!(get_ok(&tp, &a.token, &format!("/campaigns/{first}")).await["status"].as_str().is_some());
}

/// The platform with only the mail and webhook consumers (provisioning needs its welcome email;
/// the template review arrives by webhook): fan-out and sending are left to the test.
async fn start_without_senders() -> (TestPlatform, tokio::sync::watch::Sender<bool>) {
    use miping::runtime::consumer::{PollerOptions, run_poller};
    let tp = start_without_consumers().await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let ports = tp.ports().clone();
    let options = PollerOptions { wait: Duration::from_millis(100), ..PollerOptions::default() };
    let mail: std::sync::Arc<dyn Consumer> =
        std::sync::Arc::new(miping::runtime::consumers::mail::MailConsumer { ports: ports.clone() });
    let hooks: std::sync::Arc<dyn Consumer> =
        std::sync::Arc::new(miping::domain::webhooks::process::processor(ports.clone()));
    tokio::spawn(run_poller(ports.queue.clone(), miping::queues::MAIL, mail, options, rx.clone()));
    tokio::spawn(run_poller(ports.queue.clone(), miping::queues::WEBHOOK, hooks, options, rx));
    (tp, stop)
}

/// `ready` for a platform without consumers: the simulator's approval webhook is stored but not
/// processed, so the template is approved directly in the store.
async fn ready_without_consumers(tp: &TestPlatform) -> ActiveTenant {
    let t = provision_and_activate(tp).await;
    connect_new(tp, &t).await;
    let r = post(tp, &t.token, "/templates", &city_news("city_news")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    tp.ports().table.update(&keys::template(&t.id, &id), Update::new().set("status", "APPROVED"), None).await.unwrap();
    tp.ports()
        .table
        .update(&keys::plan(&t.plan_id), Update::new().set("monthly_message_limit", 1000), None)
        .await
        .unwrap();
    t
}

/// Drains `queue` (without handling), returning the bodies.
async fn drain(ports: &miping::ports::Ports, queue: miping::ports::queue::QueueName) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let batch = ports.queue.receive(queue, 100, Duration::from_millis(100)).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        for d in batch {
            out.push(serde_json::from_str(&d.body).unwrap());
            ports.queue.ack(queue, &d.receipt).await.unwrap();
        }
    }
}

#[tokio::test]
async fn the_scheduler_releases_each_due_item_once_and_never_a_cancelled_one() {
    use miping::domain::scheduler::release_due;
    let (tp, _stop) = start_without_senders().await;
    let t = ready_without_consumers(&tp).await;
    contacts(&tp, &t, 0..3).await;
    let ports = tp.ports().clone();
    let at = (Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();

    let r = post(
        &tp,
        &t.token,
        "/messages",
        &json!({"to": "+14155500002", "schedule_at": at,
        "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let message = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let mut body = campaign(json!({"all": true}));
    body["schedule_at"] = json!(at);
    let scheduled = create(&tp, &t, &body).await;
    assert_eq!(scheduled["status"], "scheduled");
    let cancelled = create(&tp, &t, &body).await["id"].as_str().unwrap().to_string();
    assert_eq!(messages_sent(&tp, &t).await, 1 + 3 + 3);
    let r = post(&tp, &t.token, &format!("/campaigns/{cancelled}/cancel"), &json!({})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    assert_eq!(messages_sent(&tp, &t).await, 1 + 3, "a cancelled scheduled campaign gives its reservation back");

    // Not due yet.
    assert_eq!(release_due(&ports).await.unwrap(), Default::default());
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // Two ticks at once (two Lambdas): each item released once.
    let (a, b) = tokio::join!(release_due(&ports), release_due(&ports));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.messages + b.messages, a.campaigns + b.campaigns), (1, 1), "{a:?} {b:?}");
    assert_eq!(release_due(&ports).await.unwrap(), Default::default(), "nothing left in the due index");

    assert_eq!(get_ok(&tp, &t.token, &format!("/messages/{message}")).await["status"], "queued");
    let sends = drain(&ports, miping::queues::SEND).await;
    assert_eq!(sends, vec![json!({"tenant_id": t.id, "message_id": message})]);
    let id = scheduled["id"].as_str().unwrap();
    assert_eq!(get_ok(&tp, &t.token, &format!("/campaigns/{id}")).await["status"], "running");
    let fanouts = drain(&ports, miping::queues::FANOUT).await;
    assert_eq!(fanouts, vec![json!({"kind": "page", "tenant_id": t.id, "campaign_id": id, "page": 0})]);
    assert_eq!(get_ok(&tp, &t.token, &format!("/campaigns/{cancelled}")).await["status"], "cancelled");
}
