//! API keys and the external API (`/api/v1/*`) over HTTP: the key lifecycle, refusals of bad
//! keys, the trigger's validation, the per-key rate limit, idempotent retries (header and body
//! key), contacts created on first trigger, and the plan's `api_key_limit`.

use std::time::Duration;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn create_key(tp: &TestPlatform, token: &str, name: &str) -> Value {
    let r = post(tp, token, "/api-keys", &json!({"name": name})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn trigger(tp: &TestPlatform, key: &str, body: &Value) -> reqwest::Response {
    tp.http.post(tp.url("/api/v1/trigger-message")).header("x-api-key", key).json(body).send().await.unwrap()
}

async fn api_get(tp: &TestPlatform, key: &str, path: &str) -> reqwest::Response {
    tp.http.get(tp.url(path)).header("x-api-key", key).send().await.unwrap()
}

/// The seed's payload, unchanged.
fn seed(phone: &str) -> Value {
    json!({"phone": phone, "template_name": "order_update", "variables": ["Ana", "A-1"]})
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn key_lifecycle_shown_once_listed_without_secret_revoked_at_once() {
    let tp = start().await;
    let t = ready_to_send(&tp).await.0;

    let created = create_key(&tp, &t.token, "College ERP").await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("mip_live_") && key.len() >= "mip_live_".len() + 32, "{key}");
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["name"], "College ERP");
    assert!(created["created_at"].is_string());
    let id = created["id"].as_str().unwrap().to_string();

    let list = get_ok(&tp, &t.token, "/api-keys").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["id"].as_str(), items[0]["name"].as_str()), (Some(id.as_str()), Some("College ERP")));
    assert!(items[0]["last_used_at"].is_null());
    let listed = list.to_string();
    assert!(!listed.contains(&key[9..]), "the list never shows the secret: {listed}");
    assert!(items[0].get("key").is_none() && items[0].get("key_hash").is_none(), "{listed}");

    // The key works (and the use is recorded)...
    let r = trigger(&tp, &key, &seed("+1 415 555 0201")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["status"], "queued");
    let message_id = accepted["message_id"].as_str().unwrap();
    assert!(get_ok(&tp, &t.token, "/api-keys").await["items"][0]["last_used_at"].is_string());

    // ... the message reads the same through both APIs ...
    let r = api_get(&tp, &key, &format!("/api/v1/messages/{message_id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let via_key: Value = r.json().await.unwrap();
    let via_user = get_ok(&tp, &t.token, &format!("/messages/{message_id}")).await;
    assert_eq!((via_key["id"].clone(), via_key["to"].clone()), (via_user["id"].clone(), via_user["to"].clone()));
    assert_eq!(via_key["to"], "+14155550201");

    // ... until it is revoked: then at once 401.
    let r = tp.http.delete(tp.url(&format!("/api-keys/{id}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = api_get(&tp, &key, &format!("/api/v1/messages/{message_id}")).await;
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    let r = tp.http.delete(tp.url(&format!("/api-keys/{id}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(get_ok(&tp, &t.token, "/api-keys").await["items"], json!([]));
}

#[tokio::test]
async fn missing_malformed_unknown_revoked_and_foreign_keys_get_nothing() {
    let tp = start().await;
    let a = ready_to_send(&tp).await.0;
    let b = provision_and_activate(&tp).await;
    let a_key = create_key(&tp, &a.token, "a").await["key"].as_str().unwrap().to_string();
    let b_created = create_key(&tp, &b.token, "b").await;
    let b_key = b_created["key"].as_str().unwrap().to_string();
    let revoked = create_key(&tp, &a.token, "old").await;
    let r = tp.http.delete(tp.url(&format!("/api-keys/{}", revoked["id"].as_str().unwrap()))).bearer_auth(&a.token);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::NO_CONTENT);

    let unknown = format!("mip_live_{}", "A".repeat(40));
    let mut bodies = Vec::new();
    for key in [
        None,
        Some("garbage".to_string()),
        Some(format!("{a_key}x")),
        Some(unknown),
        Some(revoked["key"].as_str().unwrap().to_string()),
        Some(format!("Bearer {a_key}")),
    ] {
        let mut req = tp.http.post(tp.url("/api/v1/trigger-message")).json(&seed("+14155550202"));
        if let Some(k) = &key {
            req = req.header("x-api-key", k);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{key:?}");
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "every bad key gets the same answer: {bodies:?}");
    // A bearer token is not a key either.
    let r = tp.http.get(tp.url("/api/v1/messages/msg_x")).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A key only ever sees its own tenant: A's message is not found with B's key.
    let r = trigger(&tp, &a_key, &seed("+14155550203")).await;
    let id = r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_string();
    let r = api_get(&tp, &b_key, &format!("/api/v1/messages/{id}")).await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    // B's key cannot be revoked by A.
    let r = tp.http.delete(tp.url(&format!("/api-keys/{}", b_created["id"].as_str().unwrap()))).bearer_auth(&a.token);
    assert_eq!(error_code(r.send().await.unwrap(), StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(api_get(&tp, &b_key, "/api/v1/messages/msg_none").await.status(), StatusCode::NOT_FOUND);

    // A suspended tenant's keys: 403 tenant_suspended.
    let admin = tp.admin_token().await;
    let r = tp
        .http
        .patch(tp.url(&format!("/admin/tenants/{}", a.id)))
        .bearer_auth(&admin)
        .json(&json!({"status": "suspended"}));
    assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    let r = api_get(&tp, &a_key, &format!("/api/v1/messages/{id}")).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "tenant_suspended");
}

#[tokio::test]
async fn trigger_validates_template_variables_and_creates_the_contact() {
    let tp = start().await;
    let t = ready_to_send(&tp).await.0;
    let key = create_key(&tp, &t.token, "crm").await["key"].as_str().unwrap().to_string();

    let cases = [
        (
            json!({"phone": "+14155550301", "template_name": "no_such", "variables": []}),
            "unknown_template",
            "template_name",
        ),
        (
            json!({"phone": "+14155550301", "template_name": "order_update", "language": "fr", "variables": ["a", "b"]}),
            "unknown_template",
            "template_name",
        ),
        (
            json!({"phone": "+14155550301", "template_name": "order_update", "variables": ["only one"]}),
            "invalid_variables",
            "variables",
        ),
        (
            json!({"phone": "+14155550301", "template_name": "order_update", "variables": ["a", "b", "c"]}),
            "invalid_variables",
            "variables",
        ),
        (
            json!({"phone": "12", "template_name": "order_update", "variables": ["a", "b"]}),
            "validation_failed",
            "phone",
        ),
        (json!({"template_name": "order_update", "variables": ["a", "b"]}), "validation_failed", "phone"),
        (json!({"phone": "+14155550301", "variables": ["a", "b"]}), "validation_failed", "template_name"),
    ];
    for (body, code, field) in cases {
        let r = trigger(&tp, &key, &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{body}: {err}");
        assert_eq!(fields(&err), [field], "{body}: {err}");
    }
    // Wrong JSON types are 400, unknown fields too (strict like POST /messages).
    let r = trigger(&tp, &key, &json!({"phone": 1, "template_name": "order_update"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Nothing refused left a contact behind.
    assert_eq!(get_ok(&tp, &t.token, "/contacts").await["items"], json!([]));

    // The first trigger to a new phone creates its contact; the second reuses it.
    for _ in 0..2 {
        let r = trigger(&tp, &key, &seed("+91 98765-43210")).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let contacts = get_ok(&tp, &t.token, "/contacts").await;
    let items = contacts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{contacts}");
    assert_eq!(items[0]["phone"], "+919876543210");

    // Language may be left out only while it is unambiguous.
    reviewed_template(&tp, &t, &order_update("order_update", "es"), "APPROVED").await;
    let r = trigger(&tp, &key, &seed("+14155550302")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.json().await.unwrap()), ["language"]);
    let mut with_language = seed("+14155550302");
    with_language["language"] = json!("es");
    assert_eq!(trigger(&tp, &key, &with_language).await.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn each_key_is_rate_limited_with_retry_after() {
    let tp = start_configured(|c| c.api_key_rate_limit = 2).await;
    let t = provision_and_activate(&tp).await;
    let key = create_key(&tp, &t.token, "busy").await["key"].as_str().unwrap().to_string();
    let other = create_key(&tp, &t.token, "quiet").await["key"].as_str().unwrap().to_string();

    let mut limited = None;
    for _ in 0..8 {
        let r = api_get(&tp, &key, "/api/v1/messages/msg_none").await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let r = limited.expect("8 requests at once exceed 2 per second");
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "rate_limited");
    // Another key of the same tenant has its own budget.
    assert_eq!(api_get(&tp, &other, "/api/v1/messages/msg_none").await.status(), StatusCode::NOT_FOUND);
    // And the key works again after the wait.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(api_get(&tp, &key, "/api/v1/messages/msg_none").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retries_with_the_header_or_body_key_replay_the_first_answer() {
    let tp = start().await;
    let t = ready_to_send(&tp).await.0;
    let key = create_key(&tp, &t.token, "pms").await["key"].as_str().unwrap().to_string();

    // Header.
    let send = |body: Value, idem: Option<&'static str>| {
        let mut req = tp.http.post(tp.url("/api/v1/trigger-message")).header("x-api-key", &key).json(&body);
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        req.send()
    };
    let first = send(seed("+14155550401"), Some("booking-1")).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = send(seed("+14155550401"), Some("booking-1")).await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let r = send(seed("+14155550499"), Some("booking-1")).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "idempotency_key_reused");

    // Body `idempotency_key`, same semantics.
    let mut body = seed("+14155550402");
    body["idempotency_key"] = json!("booking-2");
    let first = send(body.clone(), None).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone(), None).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let mut changed = body.clone();
    changed["variables"] = json!(["Bea", "B-2"]);
    let r = send(changed, None).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "idempotency_key_reused");
    // Header and body disagreeing is the caller's mistake.
    let r = send(body, Some("booking-3")).await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    // One message per key, not per request.
    let list = get_ok(&tp, &t.token, "/messages").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn the_plan_api_key_limit_holds_exactly() {
    let tp = start().await;
    // The sample plan allows 2 keys.
    let t = provision_and_activate(&tp).await;
    let keys: Vec<Value> = futures_join(&tp, &t.token).await;
    let created: Vec<&Value> = keys.iter().filter(|k| k["id"].is_string()).collect();
    assert_eq!(created.len(), 2, "{keys:?}");
    let r = post(&tp, &t.token, "/api-keys", &json!({"name": "third"})).await;
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "api_key_limit_reached");
    let id = created[0]["id"].as_str().unwrap();
    let r = tp.http.delete(tp.url(&format!("/api-keys/{id}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(post(&tp, &t.token, "/api-keys", &json!({"name": "third"})).await.status(), StatusCode::CREATED);

    let r = post(&tp, &t.token, "/api-keys", &json!({"name": ""})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
}

/// Five creations at once: exactly the plan's two succeed.
async fn futures_join(tp: &TestPlatform, token: &str) -> Vec<Value> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..5 {
        let (http, url, token) = (tp.http.clone(), tp.url("/api-keys"), token.to_string());
        tasks.spawn(async move {
            let r = http.post(url).bearer_auth(token).json(&json!({"name": format!("k{i}")})).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        });
    }
    tasks.join_all().await
}
