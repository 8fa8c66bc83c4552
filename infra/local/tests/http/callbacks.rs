//! Outbound callbacks over HTTP with a real receiver on loopback: settings (secret never shown),
//! signed POSTs for every status change and for inbound messages, retries after the receiver
//! fails, ordering information, the deliveries list, and the SSRF guard at PUT time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";

#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A tenant's system: answers 500 to its first `fail_first` requests, then 200.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn receiver(fail_first: usize) -> Receiver {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hooks/miping",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push(Received { headers, body });
                if log.len() <= fail_first { AxumStatus::INTERNAL_SERVER_ERROR } else { AxumStatus::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/miping", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, received }
}

/// What a receiver does: HMAC-SHA256 of `"<X-Miping-Timestamp>.<raw body>"` with the shared
/// secret, hex, `sha256=`.
fn signature_ok(r: &Received) -> bool {
    let Some(header) = r.headers.get("x-miping-signature").and_then(|v| v.to_str().ok()) else { return false };
    let Some(timestamp) = r.headers.get("x-miping-timestamp").and_then(|v| v.to_str().ok()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    header == format!("sha256={expected}")
}

async fn put_callback(tp: &TestPlatform, token: &str, body: &Value) -> reqwest::Response {
    tp.http.put(tp.url("/settings/callback")).bearer_auth(token).json(body).send().await.unwrap()
}

/// The events received so far (parsed), with their requests.
fn events(rx: &Receiver) -> Vec<(Value, Received)> {
    rx.received.lock().unwrap().iter().map(|r| (serde_json::from_slice(&r.body).unwrap(), r.clone())).collect()
}

async fn wait_for(rx: &Receiver, what: &str, done: impl Fn(&[(Value, Received)]) -> bool) -> Vec<(Value, Received)> {
    for _ in 0..300 {
        let all = events(rx);
        if done(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never received {what}: {:?}", events(rx).iter().map(|e| e.0.clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn status_changes_and_inbound_messages_are_posted_signed_with_retries() {
    let tp = start().await;
    let (t, connection) = ready_to_send(&tp).await;
    let rx = receiver(2).await;

    let r = put_callback(&tp, &t.token, &json!({"url": rx.url, "secret": SECRET})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["url"], rx.url.as_str());
    assert!(!saved.to_string().contains(SECRET));
    let shown = get_ok(&tp, &t.token, "/settings/callback").await;
    assert_eq!(shown["url"], rx.url.as_str());
    assert!(!shown.to_string().contains(SECRET) && shown.get("secret").is_none(), "{shown}");

    // A message goes sent → delivered → read: three status events, each signed.
    let r = post(
        &tp,
        &t.token,
        "/messages",
        &json!({"to": "+14155550501",
        "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let message_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let statuses = |all: &[(Value, Received)]| -> Vec<(String, i64)> {
        // The first two requests were answered 500: only the rest count as delivered.
        let mut seen: Vec<(String, i64)> = all
            .iter()
            .skip(2)
            .filter(|(e, r)| {
                e["type"] == "message.status" && e["data"]["message_id"] == message_id.as_str() && signature_ok(r)
            })
            .map(|(e, _)| (e["data"]["status"].as_str().unwrap().to_string(), e["sequence"].as_i64().unwrap()))
            .collect();
        seen.sort();
        seen.dedup();
        seen
    };
    let all = wait_for(&rx, "sent, delivered and read delivered", |all| statuses(all).len() >= 3).await;
    let mut by_status = statuses(&all);
    by_status.sort_by_key(|(_, seq)| *seq);
    let names: Vec<&str> = by_status.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read"], "sequence orders a message's statuses");

    for (event, req) in &all {
        assert!(signature_ok(req), "every request is signed: {event}");
        assert_eq!(req.headers["x-miping-event-id"].to_str().unwrap(), event["id"].as_str().unwrap());
        assert_eq!(req.headers["content-type"], "application/json");
        let ts: i64 = req.headers["x-miping-timestamp"].to_str().unwrap().parse().unwrap();
        assert!((ts - chrono::Utc::now().timestamp()).abs() < 120);
        assert!(event["id"].as_str().unwrap().starts_with("evt_") && event["created_at"].is_string());
    }
    // The receiver failed the first two requests: they were retried, same event, next attempt.
    let first_id = all[0].0["id"].clone();
    let attempts: Vec<String> = all
        .iter()
        .filter(|(e, _)| e["id"] == first_id)
        .map(|(_, r)| r.headers["x-miping-delivery-attempt"].to_str().unwrap().to_string())
        .collect();
    assert!(attempts.len() >= 2 && attempts[0] == "1" && attempts[1] == "2", "{attempts:?}");
    // A wrong secret does not verify (the check above can fail).
    let mut forged = all[0].1.clone();
    forged.body = Bytes::from(all[0].1.body.iter().copied().chain(*b" ").collect::<Vec<u8>>());
    assert!(!signature_ok(&forged));
    // Neither does the same body replayed with a fresh timestamp: the timestamp is signed.
    let mut replayed = all[0].1.clone();
    let ts: i64 = replayed.headers["x-miping-timestamp"].to_str().unwrap().parse().unwrap();
    replayed.headers.insert("x-miping-timestamp", (ts + 600).to_string().parse().unwrap());
    assert!(!signature_ok(&replayed));

    // A customer writes: a message.inbound event.
    let sim = tp.platform.as_ref().unwrap().simulator.as_ref().unwrap().base_url();
    let r = tp
        .http
        .post(format!("{sim}/_sim/inbound"))
        .json(&json!({"phone_number_id": connection["phone_number_id"], "from": "14155550502", "text": "Where is my order?"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let all = wait_for(&rx, "the inbound message", |all| all.iter().any(|(e, _)| e["type"] == "message.inbound")).await;
    let (inbound, req) = all.iter().find(|(e, _)| e["type"] == "message.inbound").unwrap();
    assert!(signature_ok(req));
    assert_eq!(inbound["sequence"], 8, "the rank of `received`, on the status events' scale: {inbound}");
    assert_eq!(inbound["data"]["text"], "Where is my order?");
    assert_eq!(inbound["data"]["from"], "+14155550502");
    assert!(inbound["data"]["message_id"].as_str().unwrap().starts_with("msg_"));

    // Every attempt is visible to the tenant, failures with their status code.
    let deliveries = get_ok(&tp, &t.token, "/settings/callback/deliveries?limit=100").await;
    let items = deliveries["items"].as_array().unwrap();
    let failed: Vec<&Value> = items.iter().filter(|d| d["status"] == "failed").collect();
    assert_eq!(failed.len(), 2, "{deliveries}");
    assert!(failed.iter().all(|d| d["status_code"] == 500 && d["next_attempt_at"].is_string()), "{deliveries}");
    assert!(items.iter().filter(|d| d["status"] == "delivered").count() >= 4, "{deliveries}");
    let r = tp.http.get(tp.url("/settings/callback/deliveries?limit=0")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Removed: later events are not posted anymore; the settings are gone.
    let r = tp.http.delete(tp.url("/settings/callback")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = tp.http.get(tp.url("/settings/callback")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
}

#[tokio::test]
async fn settings_are_validated_private_targets_refused_and_per_tenant() {
    // Production's rule: no private or loopback targets.
    let tp = start_configured(|c| c.allow_private_callbacks = false).await;
    let a = provision_and_activate(&tp).await;
    let b = provision_and_activate(&tp).await;

    for (url, code) in [
        ("http://127.0.0.1:8080/cb", "private_address"),
        ("http://localhost/cb", "private_address"),
        ("http://169.254.169.254/latest/meta-data", "private_address"),
        ("http://[::1]/cb", "private_address"),
        ("http://10.1.2.3/cb", "private_address"),
        ("ftp://example.com/cb", "unsupported_scheme"),
        ("https://user:pw@example.com/cb", "credentials_in_url"),
    ] {
        let r = put_callback(&tp, &a.token, &json!({"url": url, "secret": SECRET})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "url", "{url}: {body}");
        assert_eq!(body["error"]["details"][0]["code"], code, "{url}: {body}");
    }
    let r = put_callback(&tp, &a.token, &json!({"url": "https://8.8.8.8/cb", "secret": "short"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "secret");

    // A public IP literal is accepted (nothing is called at PUT time).
    let r = put_callback(&tp, &a.token, &json!({"url": "https://8.8.8.8/cb", "secret": SECRET})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Tenant B sees none of it.
    let r = tp.http.get(tp.url("/settings/callback")).bearer_auth(&b.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(get_ok(&tp, &b.token, "/settings/callback/deliveries").await["items"], json!([]));
}

/// A crash after an inbound message was recorded but before its callback was queued: the
/// redelivered event (the processor marks an event done only after its effect) queues the
/// callback then, and a further duplicate does not post it twice.
#[tokio::test]
async fn an_inbound_message_recorded_before_a_crash_still_gets_one_callback() {
    use miping::domain::webhooks::customers::CustomerEvents;
    use miping::domain::webhooks::payload::{self, Event};
    use miping::domain::webhooks::process::EventHandler;

    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    let rx = receiver(0).await;
    let r = put_callback(&tp, &t.token, &json!({"url": rx.url, "secret": SECRET})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ports = tp.platform.as_ref().unwrap().state.ports.clone();

    let body =
        std::fs::read_to_string(miping::testkit::fixtures_dir("meta-webhooks").join("inbound_text.json")).unwrap();
    let parsed = payload::parse(&body).unwrap();
    let event = parsed.iter().find(|e| matches!(e, Event::Inbound { .. })).expect("an inbound event");
    let Event::Inbound { message, .. } = event else { unreachable!() };
    // The contact the first processing found or created (its id only names the conversation).
    let contact_id = "con_before_the_crash";
    // The first processing recorded the message and died before queueing the callback.
    let recorded = miping::domain::inbox::record_inbound(&ports, &t.id, contact_id, message).await.unwrap();
    let message_id = recorded.expect("recorded the first time");
    // The queue redelivers the event, twice.
    assert!(CustomerEvents.handle(&ports, &t.id, event).await.unwrap());
    assert!(CustomerEvents.handle(&ports, &t.id, event).await.unwrap());

    let is_ours = |e: &Value| e["type"] == "message.inbound" && e["data"]["message_id"] == message_id.as_str();
    wait_for(&rx, "the inbound callback", |all| all.iter().any(|(e, _)| is_ours(e))).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let posted = events(&rx).iter().filter(|(e, _)| is_ours(e)).count();
    assert_eq!(posted, 1, "one callback for the inbound message");
}
