//! Meta's account webhooks (real fixtures, parsed by the webhook payload parser) change the
//! connection they route to: bans, reinstatement, offboarding, quality and limit updates.

use crate::common::*;
use crate::connect_support::*;
use meta_sim::business_for_code;
use miping::domain::webhooks::payload::{Event, parse};
use miping::domain::whatsapp::account_events::{
    Effect, apply_account_update, apply_phone_quality, tenant_for_phone_number, tenant_for_waba,
};
use miping::domain::whatsapp::{ConnectionStatus, business_token};
use reqwest::StatusCode;
use serde_json::Value;

/// A connected tenant and its WABA id.
async fn connected(tp: &TestPlatform, name: &str) -> (Tenant, String) {
    let t = tenant(tp, name).await;
    let code = code(name);
    assert_eq!(connect_code(tp, &t, &code).await.status(), StatusCode::OK);
    (t, business_for_code(&code).waba_id)
}

/// The fixture, addressed to `waba_id`, parsed as the processor would.
fn event(name: &str, waba_id: &str) -> Event {
    let mut body: Value = serde_json::from_str(&fixture(name)).unwrap();
    body["entry"][0]["id"] = Value::String(waba_id.to_string());
    let mut events = parse(&body.to_string()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

/// What the processor does with an account-level event: route by WABA, apply.
async fn deliver(tp: &TestPlatform, e: &Event) -> Effect {
    let ports = ports(tp);
    let tenant = tenant_for_waba(ports, e.waba_id()).await.unwrap().expect("routed");
    match e {
        Event::AccountUpdate { event, value, .. } => apply_account_update(ports, &tenant, event, value).await.unwrap(),
        Event::PhoneQuality { event, current_limit, .. } => {
            apply_phone_quality(ports, &tenant, event, current_limit.as_deref()).await.unwrap()
        }
        other => panic!("not an account event: {other:?}"),
    }
}

#[tokio::test]
async fn a_scheduled_disable_is_recorded_a_disable_bans_and_a_reinstate_restores() {
    let tp = start().await;
    let (t, waba) = connected(&tp, "ban").await;

    let scheduled = event("account_update_DISABLED_UPDATE_ban.json", &waba);
    assert_eq!(deliver(&tp, &scheduled).await, Effect::Updated);
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "connected", "still usable until the date");
    assert_eq!(view["ban_info"]["state"], "SCHEDULE_FOR_DISABLE");
    assert_eq!(view["ban_info"]["date"], "January 31, 2021");

    let Event::AccountUpdate { waba_id, event: name, mut value, at } = scheduled else { unreachable!() };
    value["ban_info"]["waba_ban_state"] = "DISABLE".into();
    let disabled = Event::AccountUpdate { waba_id: waba_id.clone(), event: name.clone(), value: value.clone(), at };
    assert_eq!(deliver(&tp, &disabled).await, Effect::Status(ConnectionStatus::Banned));
    assert_eq!(deliver(&tp, &disabled).await, Effect::Status(ConnectionStatus::Banned), "a duplicate changes nothing");
    assert_eq!(status(&tp, &t).await["status"], "banned");
    let e = miping::http::ApiError::from(business_token(ports(&tp), &t.id).await.unwrap_err());
    assert_eq!((e.status.as_u16(), e.code), (409, "whatsapp_banned"));

    value["ban_info"]["waba_ban_state"] = "REINSTATE".into();
    let reinstated = Event::AccountUpdate { waba_id, event: name, value, at };
    assert_eq!(deliver(&tp, &reinstated).await, Effect::Status(ConnectionStatus::Connected));
    assert_eq!(status(&tp, &t).await["status"], "connected");
    assert!(business_token(ports(&tp), &t.id).await.is_ok());
}

#[tokio::test]
async fn offboarding_disconnects_and_frees_the_routes() {
    let tp = start().await;
    let (t, waba) = connected(&tp, "offboard").await;
    let phone = status(&tp, &t).await["phone_number_id"].as_str().unwrap().to_string();
    let e = event("account_update_ACCOUNT_OFFBOARDED.json", &waba);
    assert_eq!(deliver(&tp, &e).await, Effect::Status(ConnectionStatus::Disconnected));
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "disconnected");
    assert!(view["notice"].as_str().unwrap().contains("ACCOUNT_OFFBOARDED"));
    assert_eq!(tenant_for_waba(ports(&tp), &waba).await.unwrap(), None);
    assert_eq!(tenant_for_phone_number(ports(&tp), &phone).await.unwrap(), None);
    let stored = miping::store::whatsapp::WhatsappStore::new(&*ports(&tp).table).get(&t.id).await.unwrap().unwrap();
    assert!(stored.sealed_token.is_none(), "the token is forgotten");
}

#[tokio::test]
async fn other_account_updates_are_recorded_only() {
    let tp = start().await;
    let (t, waba) = connected(&tp, "partner").await;
    let e = event("account_update_PARTNER_ADDED.json", &waba);
    assert_eq!(deliver(&tp, &e).await, Effect::Recorded);
    assert_eq!(status(&tp, &t).await["status"], "connected");
    let stored = miping::store::whatsapp::WhatsappStore::new(&*ports(&tp).table).get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.account_events.last().unwrap().event, "PARTNER_ADDED");
}

#[tokio::test]
async fn a_quality_update_changes_the_limit_and_the_quality_event() {
    let tp = start().await;
    let (t, waba) = connected(&tp, "quality").await;
    assert_eq!(status(&tp, &t).await["messaging_limit"], "TIER_1K");
    let e = event("phone_number_quality_update.json", &waba);
    assert_eq!(deliver(&tp, &e).await, Effect::Updated);
    let view = status(&tp, &t).await;
    assert_eq!(view["messaging_limit"], "TIER_10K");
    assert_eq!(view["quality_event"], "FLAGGED");
    assert_eq!(view["status"], "connected");

    let upgrade = Event::PhoneQuality {
        waba_id: waba.clone(),
        display_phone_number: String::new(),
        event: "THROUGHPUT_UPGRADE".into(),
        current_limit: None,
        at: None,
    };
    deliver(&tp, &upgrade).await;
    let view = status(&tp, &t).await;
    assert_eq!(view["throughput"]["messages_per_second"], 1000);
    assert_eq!(view["messaging_limit"], "TIER_10K", "a missing limit keeps the current one");
}

#[tokio::test]
async fn events_for_a_tenant_without_a_connection_change_nothing() {
    let tp = start().await;
    let t = tenant(&tp, "never").await;
    let ports = ports(&tp);
    let e = apply_account_update(ports, &t.id, "ACCOUNT_OFFBOARDED", &Value::Null).await.unwrap();
    assert_eq!(e, Effect::NoConnection);
    assert_eq!(status(&tp, &t).await["status"], "not_connected");
    assert_eq!(tenant_for_waba(ports, "100000000000000").await.unwrap(), None);
}

/// Meta sends the same account event again when it happens again: FLAGGED, UNFLAGGED, FLAGGED
/// (each with its own `entry.time`) is three events, not a duplicate dropped by the processor's
/// dedupe — the number ends FLAGGED. A true redelivery (same time) still changes nothing.
#[tokio::test]
async fn a_repeated_quality_event_is_not_taken_for_a_redelivery() {
    let tp = start().await;
    let (t, waba) = connected(&tp, "flagged-again").await;
    let deliveries = [("FLAGGED", 1_700_000_000), ("UNFLAGGED", 1_700_000_100), ("FLAGGED", 1_700_000_200)];
    for (n, (event, time)) in deliveries.iter().enumerate() {
        let mut body: Value = serde_json::from_str(&fixture("phone_number_quality_update.json")).unwrap();
        body["entry"][0]["id"] = Value::String(waba.clone());
        body["entry"][0]["time"] = Value::from(*time);
        body["entry"][0]["changes"][0]["value"]["event"] = Value::from(*event);
        assert_eq!(post_signed_webhook(&tp, body.to_string().as_bytes()).await.status(), StatusCode::OK);
        // One at a time: each is applied before the next arrives (as Meta's would, minutes apart).
        for _ in 0..100 {
            let stored =
                miping::store::whatsapp::WhatsappStore::new(&*ports(&tp).table).get(&t.id).await.unwrap().unwrap();
            if stored.account_events.len() == n + 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let stored = miping::store::whatsapp::WhatsappStore::new(&*ports(&tp).table).get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.account_events.len(), 3, "{:?}", stored.account_events);
    assert_eq!(status(&tp, &t).await["quality_event"], "FLAGGED");
}
