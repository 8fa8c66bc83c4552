//! `/messages` over HTTP against the built-in Meta simulator: a template message accepted,
//! sent and read (statuses through real signed webhooks); each refusal with its precise code;
//! listing with filters; tenant isolation; Idempotency-Key replays.

use std::time::Duration;

use crate::common::*;
use chrono::Utc;
use miping::domain::inbox;
use miping::domain::webhooks::payload::InboundMessage;
use miping::ports::table::Update;
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn send_template(to: &str) -> Value {
    json!({"to": to, "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}})
}

async fn wait_status(tp: &TestPlatform, token: &str, id: &str, want: &str) -> Value {
    poll_field(tp, token, &format!("/messages/{id}"), "status", want).await
}

#[tokio::test]
async fn a_template_message_is_accepted_sent_and_read() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;

    let r = post(&tp, &t.token, "/messages", &send_template("+1 415 555 0101")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let accepted: Value = r.json().await.unwrap();
    assert_eq!((accepted["status"].as_str(), accepted["to"].as_str()), (Some("queued"), Some("+14155550101")));
    let id = accepted["id"].as_str().unwrap();

    let read = wait_status(&tp, &t.token, id, "read").await;
    assert!(read["wamid"].as_str().unwrap().starts_with("wamid."));
    let history: Vec<&str> =
        read["status_history"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    for s in ["queued", "sending", "sent", "delivered", "read"] {
        assert!(history.contains(&s), "{s} in {history:?}");
    }
    assert_eq!(read["template"]["components"][0]["parameters"][1]["text"], "A-1");

    // What Meta received: the template built from the variables, our id as callback data.
    let sim = tp.platform.as_ref().unwrap().simulator.as_ref().unwrap();
    let sent = sim.sent_messages();
    let ours = sent.iter().find(|m| m.body["biz_opaque_callback_data"] == id).expect("sent to Meta");
    assert_eq!(ours.body["to"], "14155550101");
    assert_eq!(ours.body["template"]["name"], "order_update");
    assert_eq!(ours.body["template"]["language"]["code"], "en_US");
    assert_eq!(
        ours.body["template"]["components"],
        json!([{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-1"}]}])
    );

    // The new phone became a contact, and the conversation shows the message.
    let contact_id = read["contact_id"].as_str().unwrap();
    let (status, contact) = get_json(&tp, &t.token, &format!("/contacts/{contact_id}")).await;
    assert_eq!((status, contact["phone"].as_str()), (StatusCode::OK, Some("+14155550101")));
    let (_, conv) =
        get_json(&tp, &t.token, &format!("/conversations/{}", read["conversation_id"].as_str().unwrap())).await;
    assert_eq!(conv["last_message_preview"], "[template order_update]");

    // Counted in usage at acceptance.
    let (_, tenant) = get_json(&tp, &t.token, "/tenant").await;
    assert_eq!(tenant["usage"]["messages_sent"], 1);

    // Full components instead of variables are passed through to Meta as given.
    let components =
        json!([{"type": "body", "parameters": [{"type": "text", "text": "Bo"}, {"type": "text", "text": "B-2"}]}]);
    let body = json!({"to": "+14155550112", "template": {"name": "order_update", "language": "en_US", "components": components}});
    let r = post(&tp, &t.token, "/messages", &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let cid = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    wait_status(&tp, &t.token, &cid, "read").await;
    let sent = sim.sent_messages();
    let ours = sent.iter().find(|m| m.body["biz_opaque_callback_data"] == cid.as_str()).expect("sent to Meta");
    assert_eq!(ours.body["template"]["components"], components);

    // By contact id: the same contact, no new one.
    let r = post(&tp, &t.token, "/messages", &send_template(contact_id)).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.json::<Value>().await.unwrap()["to"], "+14155550101");
}

#[tokio::test]
async fn refusals_have_precise_codes() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    reviewed_template(&tp, &t, &order_update("order_pending", "en_US"), "PENDING").await;
    let code = |r| error_code(r, StatusCode::UNPROCESSABLE_ENTITY);

    // Shape.
    let both = json!({"to": "+14155550102", "text": {"body": "hi"}, "template": {"name": "order_update", "language": "en_US"}});
    assert_eq!(code(post(&tp, &t.token, "/messages", &both).await).await, "validation_failed");
    assert_eq!(code(post(&tp, &t.token, "/messages", &json!({"to": "+14155550102"})).await).await, "validation_failed");
    let r = post(&tp, &t.token, "/messages", &json!({"to": "12", "text": {"body": "hi"}})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["details"][0]["field"], "to");
    let past = json!({"to": "+14155550102", "text": {"body": "hi"}, "schedule_at": "2001-01-01T00:00:00Z"});
    assert_eq!(code(post(&tp, &t.token, "/messages", &past).await).await, "validation_failed");
    // Unknown contact id.
    let r = post(&tp, &t.token, "/messages", &send_template("con_01NOSUCHCONTACT")).await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");

    // Templates.
    let unknown = json!({"to": "+14155550102", "template": {"name": "nope", "language": "en_US", "variables": []}});
    assert_eq!(code(post(&tp, &t.token, "/messages", &unknown).await).await, "unknown_template");
    let wrong_lang =
        json!({"to": "+14155550102", "template": {"name": "order_update", "language": "fr", "variables": ["a", "b"]}});
    assert_eq!(code(post(&tp, &t.token, "/messages", &wrong_lang).await).await, "unknown_template");
    let pending = json!({"to": "+14155550102", "template": {"name": "order_pending", "language": "en_US", "variables": ["a", "b"]}});
    assert_eq!(code(post(&tp, &t.token, "/messages", &pending).await).await, "template_not_approved");
    let one_var =
        json!({"to": "+14155550102", "template": {"name": "order_update", "language": "en_US", "variables": ["Ana"]}});
    let r = post(&tp, &t.token, "/messages", &one_var).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_variables");
    assert_eq!(
        (body["error"]["details"][0]["field"].as_str(), body["error"]["details"][0]["code"].as_str()),
        (Some("variables"), Some("count_mismatch"))
    );

    // Free text to a phone that never wrote: outside the window (and no contact is created).
    let text = json!({"to": "+14155550102", "text": {"body": "hello"}});
    assert_eq!(code(post(&tp, &t.token, "/messages", &text).await).await, "outside_service_window");
    let (_, contacts) = get_json(&tp, &t.token, "/contacts").await;
    assert_eq!(contacts["items"].as_array().unwrap().len(), 0, "refused messages create no contact");

    // Opted out.
    let r = post(&tp, &t.token, "/contacts", &json!({"phone": "+14155550103"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let cid = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{cid}")))
        .bearer_auth(&t.token)
        .json(&json!({"opted_out": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(code(post(&tp, &t.token, "/messages", &send_template("+14155550103")).await).await, "contact_opted_out");
    assert_eq!(code(post(&tp, &t.token, "/messages", &send_template(&cid)).await).await, "contact_opted_out");

    // Nothing was accepted, nothing counted.
    let (_, list) = get_json(&tp, &t.token, "/messages").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn free_text_inside_the_window_and_scheduled_messages() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    let r = post(&tp, &t.token, "/messages", &send_template("+14155550104")).await;
    let first: Value = r.json().await.unwrap();
    let (_, first) = get_json(&tp, &t.token, &format!("/messages/{}", first["id"].as_str().unwrap())).await;
    let contact_id = first["contact_id"].as_str().unwrap();

    // The customer writes back: the window opens.
    let ports = tp.ports();
    let inbound = InboundMessage {
        wamid: "wamid.in-window".into(),
        from: Some("14155550104".into()),
        from_user_id: None,
        timestamp: Utc::now().timestamp() - 60,
        kind: "text".into(),
        text: Some("Where is it?".into()),
        media_id: None,
        reply_id: None,
        context_id: None,
        referral: None,
        raw: json!({"type": "text", "text": {"body": "Where is it?"}}),
    };
    inbox::record_inbound(ports, &t.id, contact_id, &inbound).await.unwrap();
    let r = post(&tp, &t.token, "/messages", &json!({"to": "+14155550104", "text": {"body": "On its way!"}})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "queued");
    // Free text inside the window is a service message: not counted against the plan.
    let (_, tenant) = get_json(&tp, &t.token, "/tenant").await;
    assert_eq!(tenant["usage"]["messages_sent"], 1);

    // A text scheduled after the window closes is refused; a scheduled template is stored.
    let late = (Utc::now() + chrono::Duration::hours(30)).to_rfc3339();
    let r = post(
        &tp,
        &t.token,
        "/messages",
        &json!({"to": "+14155550104", "text": {"body": "later"}, "schedule_at": late}),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "outside_service_window");
    let mut body = send_template("+14155550105");
    body["schedule_at"] = json!(late);
    let r = post(&tp, &t.token, "/messages", &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, v) = get_json(&tp, &t.token, &format!("/messages/{id}")).await;
    assert_eq!(v["status"], "scheduled", "not sent before its time: {v}");
    assert!(v["schedule_at"].is_string());
}

#[tokio::test]
async fn quota_subscription_and_connection() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    let admin = tp.admin_token().await;

    // Quota: the plan allows 2 per month.
    set_plan(&tp, &admin, &t.plan_id, json!({"monthly_message_limit": 2})).await;
    for to in ["+14155550106", "+14155550107"] {
        assert_eq!(post(&tp, &t.token, "/messages", &send_template(to)).await.status(), StatusCode::ACCEPTED);
    }
    let r = post(&tp, &t.token, "/messages", &send_template("+14155550108")).await;
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "quota_exceeded");
    set_plan(&tp, &admin, &t.plan_id, json!({"monthly_message_limit": 1000})).await;

    // Subscription ended.
    let ports = tp.ports();
    let ended = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    ports.table.update(&keys::tenant(&t.id), Update::new().set("ends_at", ended), None).await.unwrap();
    let r = post(&tp, &t.token, "/messages", &send_template("+14155550108")).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "subscription_expired");
    ports.table.update(&keys::tenant(&t.id), Update::new().remove("ends_at"), None).await.unwrap();

    // Suspended.
    let patch = |status: &'static str| {
        tp.http
            .patch(tp.url(&format!("/admin/tenants/{}", t.id)))
            .bearer_auth(&admin)
            .json(&json!({"status": status}))
            .send()
    };
    assert_eq!(patch("suspended").await.unwrap().status(), StatusCode::OK);
    // The suspension ended the session; signed in again, the tenant is refused.
    let r = tp.login(&t.email, &t.password).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let r = post(&tp, &token, "/messages", &send_template("+14155550108")).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "tenant_suspended");
    assert_eq!(patch("active").await.unwrap().status(), StatusCode::OK);

    // Not connected.
    let r = tp.http.delete(tp.url("/whatsapp")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = post(&tp, &token, "/messages", &send_template("+14155550108")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "whatsapp_not_connected");
    let other = provision_and_activate(&tp).await;
    let r = post(&tp, &other.token, "/messages", &send_template("+14155550108")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "whatsapp_not_connected");
}

#[tokio::test]
async fn list_filters_isolation_and_idempotency() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    let other = provision_and_activate(&tp).await;

    let key = "send-once-1";
    let send = |body: Value| {
        tp.http.post(tp.url("/messages")).bearer_auth(&t.token).header("Idempotency-Key", key).json(&body).send()
    };
    let first = send(send_template("+14155550109")).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let replay = send(send_template("+14155550109")).await.unwrap();
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    assert_eq!(replay.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    let r = send(send_template("+14155550110")).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "idempotency_key_reused");

    let mut scheduled = send_template("+14155550111");
    scheduled["schedule_at"] = json!((Utc::now() + chrono::Duration::hours(2)).to_rfc3339());
    let r = post(&tp, &t.token, "/messages", &scheduled).await;
    let scheduled_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let first_id = first["id"].as_str().unwrap();

    // Newest first; one message per accepted request (the replay added none).
    let (status, list) = get_json(&tp, &t.token, "/messages").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [scheduled_id.as_str(), first_id]);
    let (_, list) = get_json(&tp, &t.token, "/messages?status=scheduled").await;
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [scheduled_id.as_str()]);
    let (_, list) = get_json(&tp, &t.token, "/messages?campaign_id=cmp_none").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (status, _) = get_json(&tp, &t.token, "/messages?status=bogus").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = get_json(&tp, &t.token, "/messages?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let (_, page2) = get_json(&tp, &t.token, &format!("/messages?limit=1&cursor={}", urlencode(cursor))).await;
    assert_eq!(page2["items"][0]["id"], first_id);

    // Another tenant sees none of it.
    let (status, _) = get_json(&tp, &other.token, &format!("/messages/{first_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = get_json(&tp, &other.token, "/messages").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (status, _) = get_json(&tp, &t.token, "/messages/msg_01NOSUCHMESSAGE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
