//! The webhook processor end to end over HTTP: signed deliveries in any order, duplicated,
//! reach the right message; unroutable and malformed ones are quarantined, not lost.

use std::time::Duration;

use crate::common::*;
use chrono::Utc;
use miping::domain::billing;
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::ports::table::{Item, Query};
use miping::store::{keys, messages};
use rand::seq::SliceRandom;
use reqwest::StatusCode;
use serde_json::Value;

const PHONE_ID: &str = "109876543210001";

async fn post(tp: &TestPlatform, body: &str) {
    assert_eq!(post_signed_webhook(tp, body.as_bytes()).await.status(), StatusCode::OK);
}

fn status_body(wamid: &str, message_id: &str, status: &str, ts: i64) -> String {
    status_webhook(PHONE_ID, wamid, message_id, status, ts).to_string()
}

async fn route_to(tp: &TestPlatform, tenant: &str) {
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    ports.table.put(Item::new(keys::phone_route(PHONE_ID)).with("tenant_id", tenant), None).await.unwrap();
}

async fn message(tp: &TestPlatform, tenant: &str) -> String {
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    let id = ports.ids.new_id("msg");
    let m = Message {
        to: Some("+15550001111".into()),
        ..Message::new(id.clone(), tenant, Direction::Outbound, "template", MessageStatus::Sending, Utc::now())
    };
    assert!(messages::Messages::new(&*ports.table).create(&m).await.unwrap());
    id
}

async fn quarantined(tp: &TestPlatform) -> Vec<Item> {
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    ports.table.query(Query::index(keys::LISTS, keys::QUARANTINE_LIST).limit(500)).await.unwrap().items
}

async fn refund_count(ports: &miping::ports::Ports, tenant: &str) -> usize {
    let (entries, _) = billing::list(ports, tenant, 100, None).await.unwrap();
    entries.iter().filter(|e| e.kind == billing::EntryKind::Refund).count()
}

#[tokio::test]
async fn statuses_in_any_order_with_duplicates_end_right() {
    let tp = start().await;
    let tenant = "ten_webhooks";
    route_to(&tp, tenant).await;
    let ports = tp.platform.as_ref().unwrap().state.ports.clone();
    billing::credit(&ports, tenant, "10.00".parse().unwrap(), None).await.unwrap();
    let mut rng = rand::thread_rng();
    let mut expected = Vec::new();
    for round in 0..4 {
        let id = message(&tp, tenant).await;
        let wamid = format!("wamid.{id}");
        // Dispatch debited it (what the send worker does).
        let debit = billing::DebitRequest {
            message_id: id.clone(),
            amount: "1.00".parse().unwrap(),
            reference: billing::Reference::message(&id),
            category: "marketing".into(),
        };
        billing::debit(&ports, tenant, &[debit]).await.unwrap();
        let fails = round % 2 == 1;
        let statuses: Vec<&str> = if fails { vec!["sent", "failed"] } else { vec!["sent", "delivered", "read"] };
        let mut bodies: Vec<String> =
            statuses.iter().enumerate().map(|(i, s)| status_body(&wamid, &id, s, 1_800_000_000 + i as i64)).collect();
        bodies.extend(bodies.clone()); // every delivery twice
        bodies.shuffle(&mut rng);
        for b in &bodies {
            post(&tp, b).await;
        }
        expected.push((id, if fails { MessageStatus::Failed } else { MessageStatus::Read }, statuses.len() + 1));
    }
    for (id, status, history_len) in expected {
        let probe = ports.clone();
        let id2 = id.clone();
        until(10, "the final status", move || {
            let ports = probe.clone();
            let id = id2.clone();
            async move {
                let v = messages::Messages::new(&*ports.table).view(tenant, &id).await.unwrap().unwrap();
                v.status == status && v.status_history.len() == history_len
            }
        })
        .await;
        let v = messages::Messages::new(&*ports.table).view(tenant, &id).await.unwrap().unwrap();
        if status == MessageStatus::Failed {
            let e = v.error.unwrap();
            assert_eq!((e.code, e.detail.as_deref()), (131026, Some("Unable to deliver")));
        }
    }
    assert!(quarantined(&tp).await.is_empty());
    // Two messages failed (each failure delivered twice): exactly two refunds, and the balance is
    // what the two delivered messages cost. A refund follows its failure (grouped with the
    // tenant's other refunds of the moment: billing::group), so it may land just after the status.
    let probe = ports.clone();
    until(10, "both refunds", move || {
        let ports = probe.clone();
        async move { refund_count(&ports, tenant).await >= 2 }
    })
    .await;
    assert_eq!(refund_count(&ports, tenant).await, 2);
    assert_eq!(billing::balance(&ports, tenant).await.unwrap(), "8.00".parse().unwrap());
}

#[tokio::test]
async fn unrouted_and_malformed_deliveries_are_quarantined() {
    let tp = start().await;
    // A real fixture for a number nobody connected.
    let fixture =
        std::fs::read_to_string(miping::testkit::fixtures_dir("meta-webhooks").join("inbound_text.json")).unwrap();
    post(&tp, &fixture).await;
    post(&tp, &fixture).await; // a redelivery adds nothing
    post(&tp, "{\"this is\": not json").await;
    post(&tp, r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"security","value":{"x":1}}]}]}"#).await;
    let tp_ref = &tp;
    until(10, "three quarantined items", || async move { quarantined(tp_ref).await.len() == 3 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let items = quarantined(&tp).await;
    let mut reasons: Vec<&str> = items.iter().map(|i| i.get_str("reason").unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, vec!["malformed", "unhandled", "unrouted"]);
    let unrouted = items.iter().find(|i| i.get_str("reason") == Some("unrouted")).unwrap();
    assert!(unrouted.get_str("detail").unwrap().contains("phone number"));
    let malformed = items.iter().find(|i| i.get_str("reason") == Some("malformed")).unwrap();
    assert_eq!(malformed.get("payload"), Some(&Value::String("{\"this is\": not json".into())));
}
