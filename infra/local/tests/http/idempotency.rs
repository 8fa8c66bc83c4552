//! `Idempotency-Key` over HTTP: what is stored for a replay (never a secret), and what is not
//! stored at all (answers the client must fix first), as Stripe does.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_key_creation_is_replayed_without_the_key_and_the_record_holds_no_secret() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let create = || {
        tp.http
            .post(tp.url("/api-keys"))
            .bearer_auth(&t.token)
            .header("idempotency-key", "erp-key-1")
            .json(&json!({"name": "ERP"}))
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let key = first["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("mip_live_"));

    let again = create().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["key"], Value::Null, "a replay never shows the key: {again}");
    assert_eq!((&again["id"], &again["prefix"], &again["name"]), (&first["id"], &first["prefix"], &first["name"]));

    // The stored record (the idempotency item of this tenant and key) holds no trace of it.
    let record = tp.ports().table.get(&miping::store::keys::idempotency(&t.id, "erp-key-1")).await.unwrap();
    let record = serde_json::to_string(&record.expect("the record exists").0).unwrap();
    let decoded: String = serde_json::from_str::<Value>(&record).unwrap()["response_body"]
        .as_str()
        .map(|b| {
            use base64::Engine;
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
        })
        .unwrap();
    assert!(!record.contains(&key) && !decoded.contains(&key), "the key is stored: {decoded}");
    assert!(decoded.contains(first["id"].as_str().unwrap()));
}

#[tokio::test]
async fn answers_the_client_must_fix_are_not_stored() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let post = |key: &'static str, content_type: &'static str, body: String| {
        tp.http
            .post(tp.url("/plans"))
            .bearer_auth(&admin)
            .header("idempotency-key", key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let plan = sample_plan().to_string();

    // 415, then the same bytes as JSON with the same key: the corrected request runs.
    let r = post("plan-415", "text/plain", plan.clone()).await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type");
    let r = post("plan-415", "application/json", plan.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("idempotent-replayed").is_none());

    // 422, then the corrected body with the same key: it runs (no 409 idempotency_key_reused).
    let mut bad = sample_plan();
    bad["price"] = json!("-1");
    let r = post("plan-422", "application/json", bad.to_string()).await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = post("plan-422", "application/json", plan.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // 400 (malformed JSON) is not stored either.
    let r = post("plan-400", "application/json", "{\"name\":".into()).await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "malformed_json");
    let r = post("plan-400", "application/json", plan.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // A real outcome still is: the same request again is a replay.
    let r = post("plan-400", "application/json", plan).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
}
