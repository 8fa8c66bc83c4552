//! SPEC → Media and rich messages: interactive messages (reply buttons, lists) through
//! `POST /messages` and the conversation's reply, free-form (inside the 24 h window), checked
//! against Meta's limits at acceptance (422 per field); the simulator takes them and reports
//! `sent`, `delivered`, `read` as for text.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestPlatform, error_code, post, provision_and_activate};
use crate::media::inbound_message;

async fn read(tp: &TestPlatform, token: &str, message_id: &str) -> Value {
    common::eventually(30, "the message is read", || async {
        let (_, m) = common::get_json(tp, token, &format!("/messages/{message_id}")).await;
        (m["status"] == "read").then_some(m)
    })
    .await
}

fn buttons() -> Value {
    json!({"type": "button", "body": "Shall we book Friday at 10?",
        "buttons": [{"id": "slot-fri-10", "title": "Yes, book it"}, {"id": "other", "title": "Another day"}]})
}

#[tokio::test]
async fn reply_buttons_and_a_list_reach_the_customer() {
    let tp = common::start().await;
    let t = provision_and_activate(&tp).await;
    let connection = common::connect_new(&tp, &t).await;

    // Outside the window: refused like free text.
    let r = post(&tp, &t.token, "/messages", &json!({"to": "+919876500040", "interactive": buttons()})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "outside_service_window");

    let wrote = common::customer_writes(&tp, &connection, "919876500040", "Can I book a visit?").await;
    let inbound = inbound_message(&tp, &t.token, wrote["wamid"].as_str().unwrap()).await;
    let r = post(&tp, &t.token, "/messages", &json!({"to": "+919876500040", "interactive": buttons()})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let m = read(&tp, &t.token, &id).await;
    assert_eq!(m["kind"], "interactive");
    assert_eq!(m["text"], "Shall we book Friday at 10?");
    assert_eq!(m["interactive"], buttons());
    let sim = common::simulator(&tp);
    let sent = sim.sent_message(m["wamid"].as_str().unwrap()).expect("Meta got it");
    assert_eq!(sent.body["type"], "interactive");
    assert_eq!(
        sent.body["interactive"],
        json!({"type": "button", "body": {"text": "Shall we book Friday at 10?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "slot-fri-10", "title": "Yes, book it"}},
            {"type": "reply", "reply": {"id": "other", "title": "Another day"}}]}})
    );

    // A list as the conversation's reply.
    let list = json!({"type": "list", "body": "Pick a slot", "button": "Slots", "sections": [
        {"title": "Friday", "rows": [{"id": "fri-10", "title": "10:00", "description": "With Dr. Rao"}, {"id": "fri-11", "title": "11:00"}]},
        {"title": "Saturday", "rows": [{"id": "sat-10", "title": "10:00"}]}]});
    let conversation = inbound["conversation_id"].as_str().unwrap();
    let r =
        post(&tp, &t.token, &format!("/conversations/{conversation}/messages"), &json!({"interactive": list})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let reply: Value = r.json().await.unwrap();
    assert_eq!((&reply["kind"], &reply["interactive"]), (&json!("interactive"), &list));
    let m = read(&tp, &t.token, reply["id"].as_str().unwrap()).await;
    let sent = sim.sent_message(m["wamid"].as_str().unwrap()).expect("Meta got the list");
    assert_eq!(sent.body["interactive"]["action"]["button"], "Slots");
    assert_eq!(sent.body["interactive"]["action"]["sections"], list["sections"]);
    let thread = common::get_ok(&tp, &t.token, &format!("/conversations/{conversation}/messages")).await;
    assert!(
        thread["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == reply["id"] && x["interactive"]["type"] == "list")
    );
}

#[tokio::test]
async fn metas_limits_are_422s_naming_each_field() {
    let tp = common::start().await;
    let t = provision_and_activate(&tp).await;
    let connection = common::connect_new(&tp, &t).await;
    common::customer_writes(&tp, &connection, "919876500041", "Hello").await;
    let eleven: Vec<Value> = (0..11).map(|i| json!({"id": format!("r{i}"), "title": format!("Row {i}")})).collect();
    let cases = [
        (
            json!({"type": "button", "body": "Hi", "buttons": [{"id": "a", "title": "This title is far too long"}]}),
            "interactive.buttons[0].title",
            "too_long",
        ),
        (
            json!({"type": "button", "body": "Hi", "buttons": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}),
            "interactive.buttons[1].id",
            "duplicate",
        ),
        (json!({"type": "button", "body": "Hi", "buttons": []}), "interactive.buttons", "invalid"),
        (
            json!({"type": "button", "body": "x".repeat(1025), "buttons": [{"id": "a", "title": "A"}]}),
            "interactive.body",
            "too_long",
        ),
        (
            json!({"type": "list", "body": "Hi", "button": "Open", "sections": [{"title": "All", "rows": eleven}]}),
            "interactive.sections",
            "too_many_rows",
        ),
        (
            json!({"type": "list", "body": "Hi", "button": "Open", "sections": [{"title": "All", "rows": [{"id": "a", "title": "A", "description": "d".repeat(73)}]}]}),
            "interactive.sections[0].rows[0].description",
            "too_long",
        ),
        (
            json!({"type": "list", "body": "Hi", "button": "This button is too long", "sections": [{"title": "All", "rows": [{"id": "a", "title": "A"}]}]}),
            "interactive.button",
            "too_long",
        ),
        (
            json!({"type": "list", "body": "Hi", "button": "Open", "sections": [{"title": "A section title far too long", "rows": [{"id": "a", "title": "A"}]}]}),
            "interactive.sections[0].title",
            "too_long",
        ),
        (
            json!({"type": "list", "body": "Hi", "button": "Open", "sections": [{"title": "All", "rows": [{"id": "a", "title": "A row title that is too long"}]}]}),
            "interactive.sections[0].rows[0].title",
            "too_long",
        ),
        (json!({"type": "flow", "body": "Hi"}), "interactive.type", "invalid"),
    ];
    for (interactive, field, code) in cases {
        let r = post(&tp, &t.token, "/messages", &json!({"to": "+919876500041", "interactive": interactive})).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{interactive}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], field, "{interactive}: {body}");
        assert_eq!(body["error"]["details"][0]["code"], code, "{interactive}: {body}");
    }
    let both = json!({"to": "+919876500041", "text": {"body": "hi"}, "interactive": buttons()});
    let r = post(&tp, &t.token, "/messages", &both).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    assert!(common::simulator(&tp).sent_messages().iter().all(|m| m.body["type"] != "interactive"));
}
