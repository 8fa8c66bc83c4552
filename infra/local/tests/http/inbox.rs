//! The inbox over HTTP: conversations with unread counts and the 24 h window, messages in a
//! conversation, replies inside/outside the window, mark read, tenant isolation.

use crate::common::*;
use chrono::Utc;
use miping::domain::inbox;
use miping::ports::table::Item;
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn contact(tp: &TestPlatform, tenant: &str, id: &str, phone: &str) {
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    let item = Item::new(keys::contact(tenant, id)).with("id", id).with("tenant_id", tenant).with("phone", phone);
    ports.table.put(item, None).await.unwrap();
}

async fn get(tp: &TestPlatform, token: &str, path: &str) -> (StatusCode, Value) {
    let r = tp.http.get(tp.url(path)).bearer_auth(token).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn conversation_lifecycle() {
    let tp = start().await;
    let a = provision_and_activate(&tp).await;
    let b = provision_and_activate(&tp).await;
    let ports = tp.platform.as_ref().unwrap().state.ports.clone();
    contact(&tp, &a.id, "con_alice", "+15550001111").await;
    let now = Utc::now().timestamp();
    let first = inbox::record_inbound(
        &ports,
        &a.id,
        "con_alice",
        &inbound_message("15550001111", "wamid.in1", "Hello?", now - 60),
    )
    .await
    .unwrap();
    assert!(first.is_some());
    // A redelivered webhook does not add a second message or unread count.
    assert_eq!(
        inbox::record_inbound(
            &ports,
            &a.id,
            "con_alice",
            &inbound_message("15550001111", "wamid.in1", "Hello?", now - 60)
        )
        .await
        .unwrap(),
        None
    );
    inbox::record_inbound(
        &ports,
        &a.id,
        "con_alice",
        &inbound_message("15550001111", "wamid.in2", "Anyone there?", now - 30),
    )
    .await
    .unwrap();

    let (status, list) = get(&tp, &a.token, "/conversations").await;
    assert_eq!(status, StatusCode::OK);
    let conv = &list["items"][0];
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(conv["contact_id"], "con_alice");
    assert_eq!(conv["unread_count"], 2);
    assert_eq!(conv["window_open"], true);
    assert_eq!(conv["last_message_preview"], "Anyone there?");
    let id = conv["id"].as_str().unwrap().to_string();

    let (_, msgs) = get(&tp, &a.token, &format!("/conversations/{id}/messages")).await;
    let texts: Vec<&str> = msgs["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, vec!["Anyone there?", "Hello?"], "newest first");
    assert_eq!(msgs["items"][0]["direction"], "inbound");
    assert_eq!(msgs["items"][0]["status"], "received");

    // Reply inside the window: accepted (durably queued for the send worker).
    let r = tp
        .http
        .post(tp.url(&format!("/conversations/{id}/messages")))
        .bearer_auth(&a.token)
        .json(&json!({"text": "Hi Alice!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(
        (reply["status"].as_str(), reply["direction"].as_str(), reply["to"].as_str()),
        (Some("queued"), Some("outbound"), Some("+15550001111"))
    );
    let (_, msgs) = get(&tp, &a.token, &format!("/conversations/{id}/messages")).await;
    assert_eq!(msgs["items"][0]["text"], "Hi Alice!");
    // The send worker picked it up: this tenant has not connected WhatsApp, so it ends failed
    // with that reason (not lost, not stuck in `queued`).
    let reply_id = reply["id"].as_str().unwrap();
    let mut status = Value::Null;
    for _ in 0..100 {
        let (_, m) = get(&tp, &a.token, &format!("/conversations/{id}/messages")).await;
        status = m["items"][0]["status"].clone();
        if status == "failed" {
            assert_eq!(m["items"][0]["id"], reply_id);
            assert_eq!(m["items"][0]["error"]["title"], "whatsapp_not_connected");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "failed");

    // Bad replies.
    for body in [json!({"text": ""}), json!({"text": "x".repeat(5000)})] {
        let r = tp
            .http
            .post(tp.url(&format!("/conversations/{id}/messages")))
            .bearer_auth(&a.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    }

    // Mark read.
    let r = tp.http.post(tp.url(&format!("/conversations/{id}/read"))).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, conv) = get(&tp, &a.token, &format!("/conversations/{id}")).await;
    assert_eq!(conv["unread_count"], 0);

    // Another tenant sees nothing and cannot act.
    let (_, list) = get(&tp, &b.token, "/conversations").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    for path in [format!("/conversations/{id}"), format!("/conversations/{id}/messages")] {
        let r = tp.http.get(tp.url(&path)).bearer_auth(&b.token).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    }
    let r = tp
        .http
        .post(tp.url(&format!("/conversations/{id}/messages")))
        .bearer_auth(&b.token)
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    let r = tp.http.post(tp.url(&format!("/conversations/{id}/read"))).bearer_auth(&b.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
}

#[tokio::test]
async fn free_text_outside_the_window_is_refused() {
    let tp = start().await;
    let a = provision_and_activate(&tp).await;
    let ports = tp.platform.as_ref().unwrap().state.ports.clone();
    contact(&tp, &a.id, "con_bob", "+15550002222").await;
    let long_ago = Utc::now().timestamp() - 25 * 3600;
    inbox::record_inbound(&ports, &a.id, "con_bob", &inbound_message("15550001111", "wamid.old", "Hi", long_ago))
        .await
        .unwrap();
    let id = inbox::conversation_id("con_bob");
    let (_, conv) = get(&tp, &a.token, &format!("/conversations/{id}")).await;
    assert_eq!(conv["window_open"], false);
    let r = tp
        .http
        .post(tp.url(&format!("/conversations/{id}/messages")))
        .bearer_auth(&a.token)
        .json(&json!({"text": "Hello again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "outside_service_window");
    let (_, msgs) = get(&tp, &a.token, &format!("/conversations/{id}/messages")).await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 1, "no outbound message was created");
}

#[tokio::test]
async fn the_inbox_needs_a_tenant_user() {
    let tp = start().await;
    let r = tp.http.get(tp.url("/conversations")).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    let admin = tp.admin_token().await;
    let r = tp.http.get(tp.url("/conversations")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
}
