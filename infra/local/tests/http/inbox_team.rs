//! The inbox as a team uses it (issue 17, API side): every outbound message in its contact's
//! conversation (campaign, one-off, API-triggered); the list's filters and shape; assignment,
//! resolve / reopen (and reopen on a new inbound); internal notes that never reach WhatsApp;
//! template replies outside the window; canned replies; opt-out by keyword and by Meta's
//! marketing preference, and what an opted-out contact no longer gets.

use std::time::Duration;

use crate::common::sending::{contacts, create, ready};
use crate::common::*;
use chrono::Utc;
use miping::domain::inbox::{self, ListFilter, Scope};
use miping::domain::webhooks::customers::CustomerEvents;
use miping::domain::webhooks::payload;
use miping::domain::webhooks::process::EventHandler;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

fn thread_path(conversation_id: &str) -> String {
    format!("/conversations/{conversation_id}/messages")
}

/// The thread's entries satisfying `pred`, once there is one.
async fn in_thread(
    tp: &TestPlatform,
    token: &str,
    conversation_id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (status, thread) = get_json(tp, token, &thread_path(conversation_id)).await;
        if status == StatusCode::OK
            && let Some(found) = thread["items"].as_array().unwrap().iter().find(|m| pred(m))
        {
            return found.clone();
        }
        last = thread;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never in the thread: {what}; last seen: {last}");
}

fn digits(phone: &str) -> String {
    phone.trim_start_matches('+').to_string()
}

async fn my_id(tp: &TestPlatform, token: &str) -> (String, String) {
    let me = get_ok(tp, token, "/auth/me").await;
    let user = if me["user"].is_object() { &me["user"] } else { &me };
    (user["id"].as_str().unwrap().to_string(), user["name"].as_str().unwrap_or_default().to_string())
}

async fn api_key(tp: &TestPlatform, token: &str) -> String {
    let r = post(tp, token, "/api-keys", &json!({"name": "erp"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string()
}

async fn trigger(tp: &TestPlatform, key: &str, body: &Value) -> reqwest::Response {
    tp.http.post(tp.url("/api/v1/trigger-message")).header("x-api-key", key).json(body).send().await.unwrap()
}

#[tokio::test]
async fn every_outbound_message_is_in_the_contacts_conversation() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    // Numbers ending 0001 (the simulator fails it with 131047), 0002 and 0003.
    let all = contacts(&tp, &t, 1..=3).await;
    let (failing, cs) = (&all[0], &all[1..]);
    let conversation = inbox::conversation_id(&cs[0].id);

    // A campaign: the contacts never wrote, yet the reminder is in each one's conversation, with
    // the statuses Meta reports (a failure with Meta's reason).
    let body = crate::common::sending::campaign(json!({"contact_ids": [failing.id, cs[0].id, cs[1].id]}));
    let campaign = create(&tp, &t, &body).await;
    let sent = in_thread(&tp, &t.token, &conversation, "the campaign message, read", |m| {
        m["campaign_id"] == campaign["id"] && m["status"] == "read"
    })
    .await;
    assert_eq!((sent["direction"].as_str(), sent["kind"].as_str()), (Some("outbound"), Some("template")));
    assert_eq!(sent["conversation_id"], conversation.as_str());
    let statuses: Vec<&str> =
        sent["status_history"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert!(statuses.ends_with(&["sent", "delivered", "read"]), "{statuses:?}");
    let failed = in_thread(&tp, &t.token, &inbox::conversation_id(&failing.id), "the failed campaign message", |m| {
        m["campaign_id"] == campaign["id"] && m["status"] == "failed"
    })
    .await;
    assert_eq!(failed["error"]["code"], 131047);
    let message = get_ok(&tp, &t.token, &format!("/messages/{}", sent["id"].as_str().unwrap())).await;
    assert_eq!(message["conversation_id"], conversation.as_str(), "no longer null");
    let list = get_ok(&tp, &t.token, "/conversations").await;
    let item = list["items"].as_array().unwrap().iter().find(|c| c["id"] == conversation.as_str()).expect("listed");
    assert_eq!(item["last_message"]["direction"], "outbound");
    assert_eq!(item["last_message"]["kind"], "template");
    assert_eq!(item["last_message"]["preview"], "[template city_news]");
    assert_eq!(item["contact"]["phone"], cs[0].phone.clone().unwrap().as_str());
    assert_eq!(item["window_open"], false, "the customer never wrote");

    // A one-off message and an API-triggered one land in the same conversation.
    let r = post(
        &tp,
        &t.token,
        "/messages",
        &json!({"to": cs[0].id,
        "template": {"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let one_off = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let key = api_key(&tp, &t.token).await;
    let r = trigger(
        &tp,
        &key,
        &json!({"phone": cs[0].phone, "template_name": "city_news", "language": "en_US",
        "variables": ["Ana", "Pune"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let triggered = r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_string();
    for id in [one_off, triggered] {
        in_thread(&tp, &t.token, &conversation, "the one-off / triggered message", |m| m["id"] == id.as_str()).await;
    }
    // The other recipient's message is in its own conversation, not this one.
    let (_, thread) = get_json(&tp, &t.token, &thread_path(&conversation)).await;
    assert!(thread["items"].as_array().unwrap().iter().all(|m| m["contact_id"] == cs[0].id.as_str()));
    in_thread(&tp, &t.token, &inbox::conversation_id(&cs[1].id), "the second recipient's message", |m| {
        m["campaign_id"] == campaign["id"]
    })
    .await;
}

#[tokio::test]
async fn filters_assignment_resolve_and_reopen() {
    let tp = start().await;
    let a = provision_and_activate(&tp).await;
    let b = provision_and_activate(&tp).await;
    let ports = tp.ports().clone();
    let cs = contacts(&tp, &a, 1..=3).await;
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{}", cs[0].id)))
        .bearer_auth(&a.token)
        .json(&json!({"tags": ["all", "vip"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let now = Utc::now().timestamp();
    let conv: Vec<String> = cs.iter().map(|c| inbox::conversation_id(&c.id)).collect();
    for (i, c) in cs.iter().enumerate() {
        let from = digits(c.phone.as_deref().unwrap());
        let msg =
            inbound_message(&from, &format!("wamid.f{i}"), &format!("hello {}", i + 1), now - 300 + 100 * i as i64);
        inbox::record_inbound(&ports, &a.id, &c.id, &msg).await.unwrap();
    }
    let list = |q: &'static str| {
        let (tp, token) = (&tp, a.token.clone());
        async move { get_ok(tp, &token, &format!("/conversations{q}")).await }
    };
    assert_eq!(ids(&list("").await), [conv[2].as_str(), conv[1].as_str(), conv[0].as_str()], "latest activity first");

    // The item's shape (SPEC → Inbox).
    let all = list("").await;
    let first = all["items"].as_array().unwrap().iter().find(|c| c["id"] == conv[0].as_str()).unwrap().clone();
    assert_eq!(
        first["contact"],
        json!({"id": cs[0].id, "name": "Name 1", "phone": cs[0].phone, "user_id": null, "username": null})
    );
    assert_eq!((first["status"].as_str(), first["unread"].as_i64()), (Some("open"), Some(1)));
    assert_eq!(first["assignee"], Value::Null);
    assert_eq!(first["last_message"]["direction"], "inbound");
    assert_eq!(first["last_message"]["kind"], "text");
    assert_eq!(first["last_message"]["preview"], "hello 1");
    assert!(first["last_message"]["at"].is_string());
    assert_eq!(first["window_open"], true);
    assert!(first["window_expires_at"].is_string());

    // Paging: the cursor walks the same order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/conversations?limit=1&cursor={c}"),
            None => "/conversations?limit=1".to_string(),
        };
        let page = get_ok(&tp, &a.token, &path).await;
        walked.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, [conv[2].clone(), conv[1].clone(), conv[0].clone()]);

    // Assignment: to me, then the filters.
    let (me, my_name) = my_id(&tp, &a.token).await;
    let r = post(&tp, &a.token, &format!("/conversations/{}/assign", conv[0]), &json!({"member_id": me})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let assigned: Value = r.json().await.unwrap();
    assert_eq!(assigned["assignee"], json!({"id": me, "name": my_name}));
    assert_eq!(ids(&list("?assignee=me").await), [conv[0].as_str()]);
    assert_eq!(ids(&get_ok(&tp, &a.token, &format!("/conversations?assignee={me}")).await), [conv[0].as_str()]);
    assert_eq!(ids(&list("?assignee=unassigned").await), [conv[2].as_str(), conv[1].as_str()]);

    // Resolve, and the status filter.
    let r = post(&tp, &a.token, &format!("/conversations/{}/resolve", conv[1]), &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "resolved");
    assert_eq!(ids(&list("?status=resolved").await), [conv[1].as_str()]);
    assert_eq!(ids(&list("?status=open").await), [conv[2].as_str(), conv[0].as_str()]);
    assert_eq!(ids(&list("?assignee=unassigned&status=open").await), [conv[2].as_str()]);
    let r = tp.http.get(tp.url("/conversations?status=closed")).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    // Unread, tag and search.
    let r = post(&tp, &a.token, &format!("/conversations/{}/read", conv[2]), &json!({})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(ids(&list("?unread=true").await), [conv[1].as_str(), conv[0].as_str()]);
    assert_eq!(ids(&list("?tag=vip").await), [conv[0].as_str()]);
    assert_eq!(ids(&list("?q=name%202").await), [conv[1].as_str()]);
    assert_eq!(ids(&list("?q=5500003").await), [conv[2].as_str()], "by phone digits");

    // A new inbound message reopens a resolved conversation (and moves it to the top).
    let from = digits(cs[1].phone.as_deref().unwrap());
    inbox::record_inbound(&ports, &a.id, &cs[1].id, &inbound_message(&from, "wamid.again", "still there?", now))
        .await
        .unwrap();
    let reopened = get_ok(&tp, &a.token, &format!("/conversations/{}", conv[1])).await;
    assert_eq!(reopened["status"], "open");
    assert!(ids(&list("?status=resolved").await).is_empty());
    assert_eq!(ids(&list("?status=open").await), [conv[1].as_str(), conv[2].as_str(), conv[0].as_str()]);

    // Resolve and reopen by hand.
    post(&tp, &a.token, &format!("/conversations/{}/resolve", conv[2]), &json!({})).await;
    let r = post(&tp, &a.token, &format!("/conversations/{}/reopen", conv[2]), &json!({})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "open");

    // Assignment only to members of the tenant; null unassigns.
    let (b_admin, _) = my_id(&tp, &b.token).await;
    let r = post(&tp, &a.token, &format!("/conversations/{}/assign", conv[2]), &json!({"member_id": b_admin})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "invalid_member");
    let away = invite_and_activate(&tp, &a.token, "TENANT_AGENT").await;
    let r = tp
        .http
        .patch(tp.url(&format!("/members/{}", away.id)))
        .bearer_auth(&a.token)
        .json(&json!({"status": "deactivated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(&tp, &a.token, &format!("/conversations/{}/assign", conv[2]), &json!({"member_id": away.id})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_member", "a deactivated member is not assignable: {body}");
    assert_eq!(body["error"]["details"][0]["message"], "is deactivated: reactivate them or pick another");
    let r = post(&tp, &a.token, &format!("/conversations/{}/assign", conv[0]), &json!({"member_id": null})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["assignee"], Value::Null);
    assert!(ids(&list("?assignee=me").await).is_empty());

    // An agent's scope (the domain rule the routes apply to agents): assigned to them or to nobody.
    post(&tp, &a.token, &format!("/conversations/{}/assign", conv[0]), &json!({"member_id": me})).await;
    let agent = Scope::AssignedToOrUnassigned("usr_someone_else".into());
    let (seen, _) = inbox::list(&ports, &a.id, &ListFilter::default(), &agent, 50, None).await.unwrap();
    let seen: Vec<&str> = seen.iter().map(|c| c.conversation.id.as_str()).collect();
    assert_eq!(seen, [conv[1].as_str(), conv[2].as_str()]);
    assert!(inbox::get(&ports, &a.id, &conv[0], &agent).await.unwrap().is_none(), "another's: not found");
    let mine = Scope::AssignedToOrUnassigned(me.clone());
    assert!(inbox::get(&ports, &a.id, &conv[0], &mine).await.unwrap().is_some());

    // Another tenant can neither see nor act on these conversations.
    assert!(ids(&get_ok(&tp, &b.token, "/conversations").await).is_empty());
    for (path, body) in [
        ("assign", json!({"member_id": null})),
        ("resolve", json!({})),
        ("reopen", json!({})),
        ("notes", json!({"text": "hi"})),
        ("messages", json!({"text": "hi"})),
    ] {
        let r = post(&tp, &b.token, &format!("/conversations/{}/{path}", conv[0]), &body).await;
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found", "{path}");
    }
}

#[tokio::test]
async fn notes_stay_internal_and_never_reach_whatsapp() {
    let tp = start().await;
    let (t, connection) = ready_to_send(&tp).await;
    customer_writes(&tp, &connection, "14155550701", "Can I pay tomorrow?").await;
    let conversation = eventually(20, "the customer's conversation", || async {
        let list = get_ok(&tp, &t.token, "/conversations").await;
        list["items"][0]["id"].as_str().map(str::to_string)
    })
    .await;
    let (me, my_name) = my_id(&tp, &t.token).await;
    let r = post(&tp, &t.token, &format!("/conversations/{conversation}/notes"), &json!({"text": "  Ask accounts  "}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let note: Value = r.json().await.unwrap();
    assert_eq!((note["direction"].as_str(), note["kind"].as_str()), (Some("internal"), Some("note")));
    assert_eq!(note["text"], "Ask accounts");
    assert_eq!(note["author"], json!({"id": me, "name": my_name}));
    let r = post(&tp, &t.token, &format!("/conversations/{conversation}/notes"), &json!({"text": " "})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    in_thread(&tp, &t.token, &conversation, "the note", |m| m["id"] == note["id"]).await;
    let log = get_ok(&tp, &t.token, "/messages").await;
    assert!(log["items"].as_array().unwrap().iter().all(|m| m["id"] != note["id"]), "not in the messages log");

    // A reply afterwards reaches the customer's phone; the note never does.
    let r = post(&tp, &t.token, &format!("/conversations/{conversation}/messages"), &json!({"text": "Yes, of course"}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let sim = simulator(&tp);
    until(20, "the reply reaches the simulator", || async { !sim.sent_messages().is_empty() }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 1, "only the reply was sent");
    assert_eq!(sent[0].body["text"]["body"], "Yes, of course");
    assert!(!serde_json::to_string(&sent[0].body).unwrap().contains("Ask accounts"));
}

#[tokio::test]
async fn template_reply_outside_the_window() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    let cs = contacts(&tp, &t, 4..=4).await;
    let ports = tp.ports().clone();
    let long_ago = Utc::now().timestamp() - 25 * 3600;
    let from = digits(cs[0].phone.as_deref().unwrap());
    inbox::record_inbound(&ports, &t.id, &cs[0].id, &inbound_message(&from, "wamid.old", "Hi", long_ago))
        .await
        .unwrap();
    let conversation = inbox::conversation_id(&cs[0].id);
    post(&tp, &t.token, &format!("/conversations/{conversation}/resolve"), &json!({})).await;
    let reply = |body: Value| {
        let (tp, token, path) = (&tp, t.token.clone(), thread_path(&conversation));
        async move { post(tp, &token, &path, &body).await }
    };

    let r = reply(json!({"text": "Hello again"})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "outside_service_window");
    let template = json!({"name": "city_news", "language": "en_US", "variables": ["Ana", "Pune"]});
    let r = reply(json!({"text": "Hello again", "template": template})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = reply(json!({})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    // Files go by the id of an upload (media.rs sends one), never by link.
    let r = reply(json!({"media": {"kind": "image", "link": "https://example.com/a.jpg"}})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["details"][0]["code"], "link_not_supported");
    let r = reply(json!({"interactive": {"type": "button", "body": "Pick", "buttons": []}})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["details"][0]["field"], "interactive.buttons");
    let buttons = json!({"type": "button", "body": "Pick", "buttons": [{"id": "a", "title": "A"}]});
    let r = reply(json!({"interactive": buttons})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "outside_service_window");
    let r = reply(json!({"template": {"name": "no_such", "language": "en_US"}})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "unknown_template");

    let r = reply(json!({"template": template})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let message: Value = r.json().await.unwrap();
    assert_eq!(message["kind"], "template");
    // The answer is the message as stored when it is read back: the in-process send worker may
    // have claimed it already.
    assert!(["queued", "sending", "sent"].contains(&message["status"].as_str().unwrap()), "{message}");
    assert_eq!(message["conversation_id"], conversation.as_str());
    let sim = simulator(&tp);
    until(20, "the template reaches the customer", || async {
        sim.sent_messages().iter().any(|m| m.to == from && m.body["template"]["name"] == "city_news")
    })
    .await;
    let conv = get_ok(&tp, &t.token, &format!("/conversations/{conversation}")).await;
    assert_eq!(conv["status"], "open", "a template reopens the conversation");
    // The template send path: counted in the plan's usage like any business-initiated template.
    let tenant = get_ok(&tp, &t.token, "/tenant").await;
    assert_eq!(tenant["usage"]["messages_sent"], 1, "{tenant}");
}

#[tokio::test]
async fn canned_replies_crud_and_render() {
    let tp = start().await;
    let a = provision_and_activate(&tp).await;
    let b = provision_and_activate(&tp).await;
    let r = post(
        &tp,
        &a.token,
        "/canned-replies",
        &json!({"shortcut": "/Fees",
        "text": "Hi {{contact.name}}, the {{contact.attributes.city}} office is open."}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let fees: Value = r.json().await.unwrap();
    assert_eq!(fees["shortcut"], "fees");
    let id = fees["id"].as_str().unwrap().to_string();
    let r = post(&tp, &a.token, "/canned-replies", &json!({"shortcut": "FEES", "text": "again"})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "shortcut_taken");
    let r =
        post(&tp, &a.token, "/canned-replies", &json!({"shortcut": "hours", "text": "We open at {{contact.phone}}"}))
            .await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = post(&tp, &a.token, "/canned-replies", &json!({"shortcut": "hours", "text": "We open at nine."})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let hours = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // Another tenant may use the same shortcut, and sees none of these.
    let r = post(&tp, &b.token, "/canned-replies", &json!({"shortcut": "fees", "text": "theirs"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(get_ok(&tp, &b.token, "/canned-replies").await["items"].as_array().unwrap().len(), 1);

    assert_eq!(ids(&get_ok(&tp, &a.token, "/canned-replies").await), [hours.as_str(), id.as_str()]);
    assert_eq!(ids(&get_ok(&tp, &a.token, "/canned-replies?q=OFFICE").await), [id.as_str()]);
    assert_eq!(ids(&get_ok(&tp, &a.token, "/canned-replies?q=hou").await), [hours.as_str()]);

    let patch = |id: String, body: Value, token: String| {
        let tp = &tp;
        async move {
            tp.http.patch(tp.url(&format!("/canned-replies/{id}"))).bearer_auth(token).json(&body).send().await.unwrap()
        }
    };
    let r = patch(hours.clone(), json!({"shortcut": "Fees"}), a.token.clone()).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "shortcut_taken");
    let r = patch(id.clone(), json!({"shortcut": "fee"}), a.token.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["shortcut"], "fee");
    // The old shortcut is free again.
    let r = patch(hours.clone(), json!({"shortcut": "fees", "text": "Open 9 to 5."}), a.token.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = patch(id.clone(), json!({"text": "x"}), b.token.clone()).await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");

    // Rendered for a contact.
    let cs = contacts(&tp, &a, 7..=7).await;
    let text = inbox::canned::render_for(tp.ports(), &a.id, &id, &cs[0].id).await.unwrap();
    assert_eq!(text, "Hi Name 7, the City 7 office is open.");

    let r = tp.http.delete(tp.url(&format!("/canned-replies/{id}"))).bearer_auth(&b.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    let r = tp.http.delete(tp.url(&format!("/canned-replies/{id}"))).bearer_auth(&a.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(ids(&get_ok(&tp, &a.token, "/canned-replies").await), [hours.as_str()]);
    let r = post(&tp, &a.token, "/canned-replies", &json!({"shortcut": "fee", "text": "back"})).await;
    assert_eq!(r.status(), StatusCode::CREATED, "a deleted reply's shortcut is free");
}

async fn contact_of(tp: &TestPlatform, token: &str, id: &str) -> Value {
    get_ok(tp, token, &format!("/contacts/{id}")).await
}

#[tokio::test]
async fn stop_and_start_keywords() {
    let tp = start().await;
    let (t, connection) = ready_to_send(&tp).await;
    let cs = contacts(&tp, &t, 1..=2).await;
    let (c1, phone1) = (cs[0].id.clone(), cs[0].phone.clone().unwrap());
    let conversation = inbox::conversation_id(&c1);

    customer_writes(&tp, &connection, &digits(&phone1), "  Stop ").await;
    let opted = eventually(20, "opted out by STOP", || async {
        let c = contact_of(&tp, &t.token, &c1).await;
        (c["opted_out"] == true).then_some(c)
    })
    .await;
    assert_eq!(opted["opt_out_source"], "keyword");
    assert!(opted["opted_out_at"].is_string());
    let entry = in_thread(&tp, &t.token, &conversation, "the opt-out entry", |m| m["kind"] == "system").await;
    assert_eq!(entry["direction"], "internal");
    assert!(entry["text"].as_str().unwrap().contains("opted out"));

    // No business-initiated template any more: POST /messages (by id and by phone), the trigger
    // API, a template reply in the conversation.
    let template = json!({"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]});
    for to in [json!(c1), json!(phone1)] {
        let r = post(&tp, &t.token, "/messages", &json!({"to": to, "template": template})).await;
        assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "contact_opted_out");
    }
    let key = api_key(&tp, &t.token).await;
    let r = trigger(&tp, &key, &json!({"phone": phone1, "template_name": "order_update", "variables": ["Ana", "A-1"]}))
        .await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "contact_opted_out");
    let r = post(&tp, &t.token, &thread_path(&conversation), &json!({"template": template})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "contact_opted_out");
    // A campaign skips the contact and counts it.
    let body = json!({"name": "Reminder", "template": {"name": "order_update", "language": "en_US"},
        "audience": {"contact_ids": [c1, cs[1].id]}, "variables": ["{{contact.name}}", "A-1"]});
    let campaign = create(&tp, &t, &body).await;
    let done =
        poll_field(&tp, &t.token, &format!("/campaigns/{}", campaign["id"].as_str().unwrap()), "status", "completed")
            .await;
    assert_eq!(done["counts"]["skipped_opted_out"], 1, "{done}");
    assert_eq!(done["counts"]["total"], 2);
    let sim = simulator(&tp);
    until(20, "the other recipient's message", || async { !sim.sent_messages().is_empty() }).await;
    assert!(sim.sent_messages().iter().all(|m| m.to != digits(&phone1)), "nothing went to the opted-out contact");

    // START opts back in.
    customer_writes(&tp, &connection, &digits(&phone1), "start").await;
    let back = eventually(20, "opted in by START", || async {
        let c = contact_of(&tp, &t.token, &c1).await;
        (c["opted_out"] == false).then_some(c)
    })
    .await;
    assert_eq!((back["opt_out_source"].clone(), back["opted_out_at"].clone()), (Value::Null, Value::Null));
    let r = post(&tp, &t.token, "/messages", &json!({"to": c1, "template": template})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    // The tenant's own keyword.
    let r = tp
        .http
        .patch(tp.url("/tenant/settings"))
        .bearer_auth(&t.token)
        .json(&json!({"opt_out_keywords": ["BAND KARO"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    customer_writes(&tp, &connection, &digits(&phone1), "band karo").await;
    until(20, "opted out by the tenant's keyword", || async {
        contact_of(&tp, &t.token, &c1).await["opted_out"] == true
    })
    .await;
    // Ordinary text changes nothing.
    let c2 = cs[1].id.clone();
    customer_writes(&tp, &connection, &digits(cs[1].phone.as_deref().unwrap()), "please stop sending bills").await;
    in_thread(&tp, &t.token, &inbox::conversation_id(&c2), "the ordinary message", |m| m["direction"] == "inbound")
        .await;
    assert_eq!(contact_of(&tp, &t.token, &c2).await["opted_out"], false);
}

/// A webhook body of `fixture` addressed to the tenant's number.
fn addressed(fixture: &str, connection: &Value) -> Value {
    let raw = std::fs::read_to_string(miping::testkit::fixtures_dir("meta-webhooks").join(fixture)).unwrap();
    let mut body: Value = serde_json::from_str(&raw).unwrap();
    body["entry"][0]["id"] = connection["waba_id"].clone();
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = connection["phone_number_id"].clone();
    body
}

#[tokio::test]
async fn meta_marketing_preferences_and_redelivered_events() {
    let tp = start().await;
    let (t, connection) = ready_to_send(&tp).await;
    let mut stop = addressed("user_marketing_preferences_stop_resume.json", &connection);
    let pref = &mut stop["entry"][0]["changes"][0]["value"]["user_preferences"][0];
    pref["value"] = json!("stop");
    pref["timestamp"] = json!(Utc::now().timestamp() - 60);
    let r = post_signed_webhook(&tp, stop.to_string().as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let contact = eventually(20, "opted out by Meta's preference", || async {
        let list = get_ok(&tp, &t.token, "/contacts?q=16505551234").await;
        list["items"].as_array().unwrap().first().filter(|c| c["opted_out"] == true).cloned()
    })
    .await;
    assert_eq!(contact["opt_out_source"], "meta");
    let id = contact["id"].as_str().unwrap().to_string();
    let conversation = inbox::conversation_id(&id);
    let r = post(
        &tp,
        &t.token,
        "/messages",
        &json!({"to": id,
        "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}}),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "contact_opted_out");

    // The same event handled again (a redelivery after a crash before its dedup record): no
    // second entry, the first opt-out time kept.
    let events = payload::parse(&stop.to_string()).unwrap();
    let ports = tp.ports().clone();
    for _ in 0..2 {
        assert!(CustomerEvents.handle(&ports, &t.id, &events[0]).await.unwrap());
    }
    let again = contact_of(&tp, &t.token, &id).await;
    assert_eq!(again["opted_out_at"], contact["opted_out_at"]);
    let thread = get_ok(&tp, &t.token, &thread_path(&conversation)).await;
    let entries = thread["items"].as_array().unwrap().iter().filter(|m| m["kind"] == "system").count();
    assert_eq!(entries, 1, "{thread}");

    // Resume opts back in, with its own entry.
    let mut resume = addressed("user_marketing_preferences_stop_resume.json", &connection);
    resume["entry"][0]["changes"][0]["value"]["user_preferences"][0]["timestamp"] = json!(Utc::now().timestamp());
    let r = post_signed_webhook(&tp, resume.to_string().as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    until(20, "opted back in by Meta's preference", || async {
        contact_of(&tp, &t.token, &id).await["opted_out"] == false
    })
    .await;
    in_thread(&tp, &t.token, &conversation, "the opt-in entry", |m| {
        m["kind"] == "system" && m["text"].as_str().unwrap_or_default().contains("back in")
    })
    .await;

    // Redelivered keyword webhooks: one entry per inbound message.
    let mut inbound = addressed("inbound_text.json", &connection);
    let value = &mut inbound["entry"][0]["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!("14155550999");
    value["contacts"][0]["user_id"] = json!("US.4155550999");
    value["messages"][0]["from"] = json!("14155550999");
    value["messages"][0]["text"]["body"] = json!("UNSUBSCRIBE");
    value["messages"][0]["timestamp"] = json!(Utc::now().timestamp().to_string());
    let events = payload::parse(&inbound.to_string()).unwrap();
    for _ in 0..2 {
        assert!(CustomerEvents.handle(&ports, &t.id, &events[0]).await.unwrap());
    }
    let list = get_ok(&tp, &t.token, "/contacts?q=14155550999").await;
    let unsub = &list["items"][0];
    assert_eq!((unsub["opted_out"].clone(), unsub["opt_out_source"].clone()), (json!(true), json!("keyword")));
    let thread = get_ok(&tp, &t.token, &thread_path(&inbox::conversation_id(unsub["id"].as_str().unwrap()))).await;
    let kinds: Vec<&str> = thread["items"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "system").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "text").count(), 1, "{kinds:?}");
}

/// SPEC → Roles: an agent sees the conversations assigned to them or to no one; another agent's
/// is 404 to them (list, read, act), as a foreign id; the admin sees all of them.
#[tokio::test]
async fn an_agent_sees_only_their_own_and_unassigned_conversations() {
    let tp = start().await;
    let a = provision_and_activate(&tp).await;
    let ports = tp.ports().clone();
    let ann = invite_and_activate(&tp, &a.token, "TENANT_AGENT").await;
    let bob = invite_and_activate(&tp, &a.token, "TENANT_AGENT").await;
    let cs = contacts(&tp, &a, 1..=3).await;
    let now = Utc::now().timestamp();
    let conv: Vec<String> = cs.iter().map(|c| inbox::conversation_id(&c.id)).collect();
    for (i, c) in cs.iter().enumerate() {
        let msg =
            inbound_message(&digits(c.phone.as_deref().unwrap()), &format!("wamid.ag{i}"), "hi", now - 60 + i as i64);
        inbox::record_inbound(&ports, &a.id, &c.id, &msg).await.unwrap();
    }
    // conv[0] → Ann, conv[1] → Bob, conv[2] unassigned.
    for (conv, member) in [(&conv[0], &ann.id), (&conv[1], &bob.id)] {
        let r = post(&tp, &a.token, &format!("/conversations/{conv}/assign"), &json!({"member_id": member})).await;
        assert_eq!(r.status(), StatusCode::OK, "assign {conv}");
    }
    let mut seen = ids(&get_ok(&tp, &ann.token, "/conversations").await);
    seen.sort();
    let mut want = vec![conv[0].clone(), conv[2].clone()];
    want.sort();
    assert_eq!(seen, want, "Ann sees hers and the unassigned one");
    assert_eq!(ids(&get_ok(&tp, &a.token, "/conversations").await).len(), 3, "the admin sees all");

    // Bob's conversation does not exist for Ann: reading, replying, noting, resolving.
    let bobs = &conv[1];
    let r = tp.http.get(tp.url(&format!("/conversations/{bobs}"))).bearer_auth(&ann.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for (path, body) in [
        (format!("/conversations/{bobs}/messages"), json!({"text": "hello"})),
        (format!("/conversations/{bobs}/notes"), json!({"text": "mine now"})),
        (format!("/conversations/{bobs}/resolve"), json!({})),
        (format!("/conversations/{bobs}/assign"), json!({"member_id": ann.id})),
    ] {
        assert_eq!(post(&tp, &ann.token, &path, &body).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Ann takes the unassigned one: it stays hers.
    let r = post(&tp, &ann.token, &format!("/conversations/{}/assign", conv[2]), &json!({"member_id": ann.id})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(ids(&get_ok(&tp, &ann.token, "/conversations?assignee=me").await).len(), 2);
    // Bob sees only his own now.
    assert_eq!(ids(&get_ok(&tp, &bob.token, "/conversations").await), std::slice::from_ref(bobs));
}
