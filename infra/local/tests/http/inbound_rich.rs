//! SPEC → Media and rich messages: a customer's interactive replies (reply button, list row,
//! Flow), template quick-reply buttons, reactions, locations and shared contacts are recorded
//! with structured data on the message (`interactive`, `reaction`, `location`, `contacts`), shown
//! by `GET /messages/{id}` and the conversation's thread, and delivered in the tenant's callback;
//! `text` stays the inbox list's readable line.

use miping::ports::table::Item;
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::sending::Collector;
use crate::common::{self, TestPlatform, post, post_signed_webhook, provision_and_activate};
use crate::media::inbound_message;

/// The customer at `from` sends a message of `kind` (`POST /_sim/inbound`, the simulator's typical
/// payload, or `extra`'s own object); returns its wamid.
async fn customer_sends(tp: &TestPlatform, connection: &Value, from: &str, kind: &str, extra: Value) -> String {
    let mut body = json!({"phone_number_id": connection["phone_number_id"], "from": from, "type": kind});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    let r =
        tp.http.post(format!("{}/_sim/inbound", common::simulator(tp).base_url())).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "the simulator took the {kind}");
    r.json::<Value>().await.unwrap()["wamid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn replies_reactions_locations_and_contacts_are_structured() {
    let tp = common::start().await;
    let t = provision_and_activate(&tp).await;
    let connection = common::connect_new(&tp, &t).await;
    let callbacks = Collector::start().await;
    callbacks.register(&tp, &t.token).await;
    let from = "919876500050";
    let first = common::customer_writes(&tp, &connection, from, "Hi").await;
    let conversation = inbound_message(&tp, &t.token, first["wamid"].as_str().unwrap()).await["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Our message the customer reacts to.
    let r = post(&tp, &t.token, &format!("/conversations/{conversation}/messages"), &json!({"text": "Booked!"})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let ours = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let our_wamid = common::eventually(30, "our message is sent", || async {
        common::get_ok(&tp, &t.token, &format!("/messages/{ours}")).await["wamid"].as_str().map(str::to_owned)
    })
    .await;

    let list_reply = json!({"interactive": {"type": "list_reply", "list_reply": {"id": "fri-10", "title": "10:00", "description": "With Dr. Rao"}}});
    let sent = [
        ("interactive", json!({"context_id": our_wamid})),
        ("interactive", list_reply),
        ("button", json!({})),
        ("reaction", json!({"context_id": our_wamid})),
        ("location", json!({})),
        ("contacts", json!({})),
    ];
    let mut got = Vec::new();
    for (kind, extra) in sent {
        let wamid = customer_sends(&tp, &connection, from, kind, extra).await;
        got.push(inbound_message(&tp, &t.token, &wamid).await);
    }
    assert_eq!(got[0]["interactive"], json!({"type": "button_reply", "id": "yes", "title": "Yes"}));
    assert_eq!(got[0]["text"], "Yes", "the inbox line stays the text");
    assert_eq!(
        got[1]["interactive"],
        json!({"type": "list_reply", "id": "fri-10", "title": "10:00", "description": "With Dr. Rao"})
    );
    assert_eq!(got[2]["interactive"], json!({"type": "button", "id": "Yes", "title": "Yes"}));
    assert_eq!(got[3]["kind"], "reaction");
    assert_eq!(got[3]["reaction"], json!({"emoji": "\u{1F44D}", "wamid": our_wamid, "message_id": ours}));
    assert_eq!(
        got[4]["location"],
        json!({"latitude": 37.4611978, "longitude": -122.2164385, "name": "Facebook HQ", "address": "1 Hacker Way, Menlo Park, CA 94025"})
    );
    assert_eq!(got[5]["contacts"], json!([{"name": "Ana Silva", "phones": ["+1 555-555-0123"]}]));
    // GET /messages/{id} shows the same.
    for m in &got {
        let one = common::get_ok(&tp, &t.token, &format!("/messages/{}", m["id"].as_str().unwrap())).await;
        for field in ["interactive", "reaction", "location", "contacts"] {
            assert_eq!(one.get(field), m.get(field), "{field} of {m}");
        }
    }
    // And the tenant's system got each with the same data.
    let events = common::eventually(20, "the callbacks arrive", || async {
        let events = callbacks.events("message.inbound");
        (events.len() >= 7).then_some(events)
    })
    .await;
    let data = |id: &Value| events.iter().find(|e| &e["data"]["message_id"] == id).map(|e| e["data"].clone()).unwrap();
    assert_eq!(data(&got[1]["id"])["interactive"], got[1]["interactive"]);
    assert_eq!(data(&got[3]["id"])["reaction"], got[3]["reaction"]);
    assert_eq!(data(&got[4]["id"])["location"], got[4]["location"]);
    assert_eq!(data(&got[5]["id"])["contacts"], got[5]["contacts"]);
}

/// Meta's own bodies: reply button, list row, Flow answer, template quick-reply button.
#[tokio::test]
async fn metas_fixtures_are_structured() {
    let tp = common::start().await;
    let t = provision_and_activate(&tp).await;
    let ports = tp.ports().clone();
    let names = [
        "inbound_interactive_button_reply.json",
        "inbound_interactive_list_reply.json",
        "inbound_flow_nfm_reply.json",
        "inbound_template_quick_reply_button.json",
    ];
    let all = miping::testkit::fixtures("meta-webhooks");
    let mut wamids = Vec::new();
    for name in names {
        let (_, body) = all.iter().find(|(n, _)| n == name).expect("the fixture exists");
        let v: Value = serde_json::from_slice(body).unwrap();
        let entry = &v["entry"][0];
        ports
            .table
            .put(Item::new(keys::waba_route(entry["id"].as_str().unwrap())).with("tenant_id", t.id.clone()), None)
            .await
            .unwrap();
        let value = &entry["changes"][0]["value"];
        let phone = value["metadata"]["phone_number_id"].as_str().unwrap();
        ports.table.put(Item::new(keys::phone_route(phone)).with("tenant_id", t.id.clone()), None).await.unwrap();
        assert_eq!(post_signed_webhook(&tp, body).await.status(), StatusCode::OK, "{name}");
        wamids.push(value["messages"][0]["id"].as_str().unwrap().to_owned());
    }
    let mut got = Vec::new();
    for w in &wamids {
        got.push(inbound_message(&tp, &t.token, w).await);
    }
    assert_eq!(got[0]["interactive"], json!({"type": "button_reply", "id": "callback_data", "title": "title"}));
    assert_eq!(got[1]["interactive"], json!({"type": "list_reply", "id": "callback_data", "title": "title"}));
    assert_eq!(got[2]["interactive"]["type"], "nfm_reply");
    assert_eq!(got[2]["interactive"]["response"]["comment_text"], "Comment Text");
    assert_eq!(got[2]["text"], "Sent");
    assert_eq!(got[3]["interactive"], json!({"type": "button", "id": "callback_data", "title": "title"}));
    assert_eq!(got[3]["kind"], "button");
}
