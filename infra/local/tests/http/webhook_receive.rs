//! `GET|POST /webhook/meta` over HTTP: verification handshake, signature check on the raw bytes,
//! persist-first (every real fixture lands on the webhook queue byte for byte), claim check.

use std::time::Duration;

use crate::common::*;
use miping::domain::webhooks::ingest::{Envelope, load_claim};
use miping::domain::webhooks::signature::sign;
use miping::ports::queue::Delivery;
use reqwest::StatusCode;
use secrecy::ExposeSecret;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let out = miping::testkit::fixtures("meta-webhooks");
    assert!(out.len() >= 20, "the fixtures are there");
    out
}

async fn drain(tp: &TestPlatform) -> Vec<Delivery> {
    let queue = &tp.platform.as_ref().unwrap().state.ports.queue;
    let mut all = Vec::new();
    loop {
        let batch = queue.receive(miping::queues::WEBHOOK, 10, Duration::from_millis(200)).await.unwrap();
        if batch.is_empty() {
            return all;
        }
        for d in &batch {
            queue.ack(miping::queues::WEBHOOK, &d.receipt).await.unwrap();
        }
        all.extend(batch);
    }
}

fn secret(tp: &TestPlatform) -> secrecy::SecretString {
    tp.platform.as_ref().unwrap().state.config.meta.app_secret.clone()
}

#[tokio::test]
async fn verification_handshake() {
    let tp = start_without_consumers().await;
    let token = tp.platform.as_ref().unwrap().state.config.meta.verify_token.expose_secret().to_string();
    let r = tp
        .http
        .get(tp.url(&format!("/webhook/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "1158201444");

    for q in ["hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", "hub.mode=unsubscribe&hub.challenge=1", ""] {
        let r = tp.http.get(tp.url(&format!("/webhook/meta?{q}"))).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "verification_failed");
    }
}

#[tokio::test]
async fn every_real_fixture_is_stored_byte_for_byte() {
    let tp = start_without_consumers().await;
    let fixtures = fixtures();
    for (name, body) in &fixtures {
        assert_eq!(post_signed_webhook(&tp, body).await.status(), StatusCode::OK, "{name}");
    }
    let stored = drain(&tp).await;
    assert_eq!(stored.len(), fixtures.len());
    let mut bodies: Vec<String> =
        stored.iter().map(|d| serde_json::from_str::<Envelope>(&d.body).unwrap().body.unwrap()).collect();
    bodies.sort();
    let mut expected: Vec<String> = fixtures.iter().map(|(_, b)| String::from_utf8(b.clone()).unwrap()).collect();
    expected.sort();
    assert_eq!(bodies, expected);
}

#[tokio::test]
async fn forged_and_unsigned_bodies_are_401_and_not_stored() {
    let tp = start_without_consumers().await;
    let secret = secret(&tp);
    let (_, body) = fixtures().remove(0);
    let other_secret = secrecy::SecretString::from("someone-else");
    let mut tampered = body.clone();
    tampered.push(b' ');
    let cases: Vec<(Option<String>, Vec<u8>)> = vec![
        (None, body.clone()),
        (Some(sign(&other_secret, &body)), body.clone()),
        (Some(sign(&secret, &body)), tampered),
        (Some("sha256=".into()), body.clone()),
        (Some("garbage".into()), body.clone()),
    ];
    for (sig, payload) in cases {
        let mut req = tp.http.post(tp.url("/webhook/meta")).header("content-type", "application/json").body(payload);
        if let Some(s) = sig {
            req = req.header("x-hub-signature-256", s);
        }
        let r = req.send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    }
    assert!(drain(&tp).await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_body_too_big_for_the_queue_is_claim_checked() {
    let tp = start_without_consumers().await;
    let secret = secret(&tp);
    // A valid JSON body of ~700 KB (many statuses batched), with multi-byte characters.
    let status = r#"{"id":"wamid.é","status":"delivered","timestamp":"1","recipient_id":"1"}"#;
    let statuses = vec![status; 9000].join(",");
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"statuses":[{statuses}]}}}}]}}]}}"#
    );
    assert!(body.len() > 600 * 1024);
    let r = tp
        .http
        .post(tp.url("/webhook/meta"))
        .header("x-hub-signature-256", sign(&secret, body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let stored = drain(&tp).await;
    assert_eq!(stored.len(), 1);
    let envelope: Envelope = serde_json::from_str(&stored[0].body).unwrap();
    assert!(envelope.body.is_none());
    let chunks = envelope.claim.expect("claim check");
    assert!(chunks >= 2);
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    assert_eq!(load_claim(ports, &envelope.id, chunks).await.unwrap().as_deref(), Some(body.as_str()));
}
