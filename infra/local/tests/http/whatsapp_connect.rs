//! `POST /whatsapp/connect`, `GET /whatsapp/status`, `GET /whatsapp/signup-config` and
//! `DELETE /whatsapp` over HTTP against the local platform and its Meta simulator.

use crate::common::*;
use crate::connect_support::*;
use meta_sim::{Endpoint, ScriptedFault, business_for_code};
use miping::domain::whatsapp::account_events::{tenant_for_phone_number, tenant_for_waba};
use miping::domain::whatsapp::{business_token, mark_needs_reauth};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALL_STEPS: [&str; 9] = [
    "exchange_code",
    "validate_token",
    "fetch_phone_numbers",
    "claim_number",
    "subscribe_app",
    "register_phone",
    "fetch_profile",
    "sync_templates",
    "install_library",
];

fn all_done(view: &Value) -> bool {
    step_statuses(view) == ALL_STEPS.iter().map(|s| (s.to_string(), "done".to_string())).collect::<Vec<_>>()
}

#[tokio::test]
async fn a_code_connects_a_tenant_end_to_end() {
    let tp = start().await;
    let t = tenant(&tp, "Acme").await;
    let code = code("acme");
    let business = business_for_code(&code);
    let phone = &business.phone_numbers[0];

    let before = status(&tp, &t).await;
    assert_eq!(before["status"], "not_connected");
    assert_eq!(before["steps"], json!([]));

    let r = connect(&tp, &t, json!({"code": code, "waba_id": business.waba_id, "phone_number_id": phone.id})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["status"], "connected");
    assert_eq!(view["waba_id"], business.waba_id.as_str());
    assert_eq!(view["phone_number_id"], phone.id.as_str());
    assert_eq!(view["display_phone_number"], phone.display_phone_number.as_str());
    assert_eq!(view["business_name"], business.name.as_str());
    assert_eq!(view["quality_rating"], "GREEN");
    assert_eq!(view["messaging_limit"], "TIER_1K");
    assert_eq!(view["throughput"], json!({"level": "STANDARD", "messages_per_second": 80}));
    assert!(all_done(&view), "{view}");
    assert!(view["connected_at"].is_string());
    assert_eq!(status(&tp, &t).await, view, "status shows what connect answered");

    // Meta's side: the app is subscribed and the number registered.
    let sim = sim(&tp);
    assert!(sim.is_subscribed(&business.waba_id));
    assert!(sim.is_registered(&phone.id));
    // Webhooks for this number and WABA now route to the tenant.
    let ports = ports(&tp);
    assert_eq!(tenant_for_phone_number(ports, &phone.id).await.unwrap().as_deref(), Some(t.id.as_str()));
    assert_eq!(tenant_for_waba(ports, &business.waba_id).await.unwrap().as_deref(), Some(t.id.as_str()));
    // Senders get the business token.
    let (conn, _token) = business_token(ports, &t.id).await.unwrap();
    assert_eq!(conn.phone_number_id.as_deref(), Some(phone.id.as_str()));

    // The same body again is a no-op answering the same connection (the code is not re-exchanged).
    let again = connect(&tp, &t, json!({"code": code, "waba_id": business.waba_id, "phone_number_id": phone.id})).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "connected");
}

#[tokio::test]
async fn without_session_info_the_waba_and_number_are_found_from_the_token() {
    let tp = start().await;
    let t = tenant(&tp, "Solo").await;
    let code = code("solo");
    let r = connect_code(&tp, &t, &code).await;
    assert_eq!(r.status(), StatusCode::OK);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["waba_id"], business_for_code(&code).waba_id.as_str());
    assert_eq!(view["phone_number_id"], business_for_code(&code).phone_numbers[0].id.as_str());
}

#[tokio::test]
async fn signup_config_gives_the_sdk_what_it_needs() {
    let tp = start().await;
    let t = tenant(&tp, "Cfg").await;
    let r = tp.http.get(tp.url("/whatsapp/signup-config")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let meta = &tp.platform.as_ref().unwrap().state.config.meta;
    assert_eq!(body, json!({"app_id": meta.app_id, "config_id": meta.config_id, "graph_version": meta.graph_version}));
    // Tenant routes need a tenant user.
    let r = tp.http.get(tp.url("/whatsapp/signup-config")).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    let admin = tp.admin_token().await;
    let r = tp.http.get(tp.url("/whatsapp/status")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
}

#[tokio::test]
async fn an_invalid_code_is_a_502_with_metas_message() {
    let tp = start().await;
    let t = tenant(&tp, "Bad").await;
    let r = connect_code(&tp, &t, "invalid").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "meta_rejected");
    assert!(body["error"]["message"].as_str().unwrap().contains("Invalid verification code format."), "{body}");

    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "connecting");
    let exchange = step(&view, "exchange_code");
    assert_eq!(exchange["status"], "failed");
    assert_eq!(exchange["error"]["code"], "meta_rejected");
    assert_eq!(exchange["error"]["meta_code"], 100);
    assert_eq!(step(&view, "validate_token")["status"], "pending");

    // Nothing to resume without a token: a new code is needed.
    let r = connect(&tp, &t, json!({})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "code_required");
    // A good code afterwards connects.
    let r = connect_code(&tp, &t, &code("good")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_bodies_are_rejected_before_meta_is_called() {
    let tp = start().await;
    let t = tenant(&tp, "Body").await;
    let r = connect(&tp, &t, json!({"code": "x", "waba_id": "../../me"})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = connect(&tp, &t, json!({"code": 5})).await;
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");
    let r = connect(&tp, &t, json!({})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    assert_eq!(status(&tp, &t).await["status"], "not_connected");
}

#[tokio::test]
async fn a_failed_subscription_resumes_from_that_step() {
    let tp = start().await;
    let t = tenant(&tp, "Resume").await;
    let code = code("resume");
    let business = business_for_code(&code);
    sim(&tp).fail_next(Endpoint::SubscribeApp, ScriptedFault::ServerError);

    let r = connect_code(&tp, &t, &code).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "meta_unavailable");
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "connecting");
    let statuses = step_statuses(&view);
    assert_eq!(&statuses[..4].iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(), &["done"; 4]);
    assert_eq!(statuses[4], ("subscribe_app".into(), "failed".into()));
    assert_eq!(step(&view, "subscribe_app")["error"]["meta_code"], 2);
    assert!(!sim(&tp).is_subscribed(&business.waba_id));

    // A retry with no code continues with the stored token (the code was used and cannot be
    // exchanged again: re-running the exchange would fail).
    let r = connect(&tp, &t, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["status"], "connected");
    assert!(all_done(&view));
    assert!(sim(&tp).is_subscribed(&business.waba_id));
}

#[tokio::test]
async fn a_rejected_registration_resumes_when_the_same_body_is_sent_again() {
    let tp = start().await;
    let t = tenant(&tp, "Register").await;
    let code = code("register");
    let business = business_for_code(&code);
    let body = json!({"code": code, "waba_id": business.waba_id, "phone_number_id": business.phone_numbers[0].id});
    sim(&tp).fail_next(
        Endpoint::Register,
        ScriptedFault::Rejected { code: 133005, message: "Two step verification PIN Mismatch".into() },
    );

    let r = connect(&tp, &t, body.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "meta_rejected");
    assert!(err["error"]["message"].as_str().unwrap().contains("Two step verification PIN Mismatch"));
    let view = status(&tp, &t).await;
    assert_eq!(step(&view, "subscribe_app")["status"], "done");
    assert_eq!(step(&view, "register_phone")["status"], "failed");
    assert_eq!(step(&view, "register_phone")["error"]["meta_code"], 133005);

    let r = connect(&tp, &t, body).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(all_done(&r.json::<Value>().await.unwrap()));
    assert!(sim(&tp).is_registered(&business.phone_numbers[0].id));
}

#[tokio::test]
async fn an_expired_token_marks_the_connection_needs_reauth() {
    let tp = start().await;
    let t = tenant(&tp, "Expired").await;
    let code = code("expired");
    sim(&tp).fail_next(Endpoint::Register, ScriptedFault::ExpiredToken);
    let r = connect_code(&tp, &t, &code).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "whatsapp_needs_reauth");
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "needs_reauth");
    assert_eq!(step(&view, "register_phone")["error"]["meta_code"], 190);
    let e = miping::http::ApiError::from(business_token(ports(&tp), &t.id).await.unwrap_err());
    assert_eq!((e.status.as_u16(), e.code), (409, "whatsapp_needs_reauth"));
    // The stored token is dead: resuming is refused, a new signup of the same business works.
    let r = connect(&tp, &t, json!({})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = connect_code(&tp, &t, &format!("{code}~again")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "connected");

    // A sender whose Meta call answers 190 marks the connection too.
    assert!(mark_needs_reauth(ports(&tp), &t.id).await.unwrap());
    assert_eq!(status(&tp, &t).await["status"], "needs_reauth");
    assert!(!mark_needs_reauth(ports(&tp), &t.id).await.unwrap(), "only once");
}

#[tokio::test]
async fn an_expired_token_on_a_call_after_the_exchange_also_marks_needs_reauth() {
    let tp = start().await;
    let t = tenant(&tp, "Expired2").await;
    sim(&tp).fail_next(Endpoint::SubscribeApp, ScriptedFault::ExpiredToken);
    let r = connect_code(&tp, &t, &code("exp2")).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(status(&tp, &t).await["status"], "needs_reauth");
}

#[tokio::test]
async fn the_same_number_for_a_second_tenant_is_a_409() {
    let tp = start().await;
    let a = tenant(&tp, "First").await;
    let b = tenant(&tp, "Second").await;
    let code = code("shared");
    assert_eq!(connect_code(&tp, &a, &code).await.status(), StatusCode::OK);

    // The same business signs up again from another tenant (a new code for the same number).
    let r = connect_code(&tp, &b, &format!("{code}~b")).await;
    let body: Value = r.json::<Value>().await.unwrap();
    assert_eq!(body["error"]["code"], "phone_number_in_use", "{body}");
    assert!(!body.to_string().contains(&a.id), "the other tenant is not named");
    let view = status(&tp, &b).await;
    assert_eq!(step(&view, "claim_number")["status"], "failed");
    assert_eq!(step(&view, "subscribe_app")["status"], "pending");
    assert_eq!(status(&tp, &a).await["status"], "connected", "the first tenant keeps its number");
    let phone = &business_for_code(&code).phone_numbers[0].id;
    assert_eq!(tenant_for_phone_number(ports(&tp), phone).await.unwrap().as_deref(), Some(a.id.as_str()));

    // Once the first tenant lets it go, the second one's retry takes it.
    assert_eq!(disconnect(&tp, &a).await.status(), StatusCode::NO_CONTENT);
    let r = connect(&tp, &b, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(tenant_for_phone_number(ports(&tp), phone).await.unwrap().as_deref(), Some(b.id.as_str()));
}

#[tokio::test]
async fn the_409_status_is_the_http_status_too() {
    let tp = start().await;
    let a = tenant(&tp, "A409").await;
    let b = tenant(&tp, "B409").await;
    let code = code("conflict");
    assert_eq!(connect_code(&tp, &a, &code).await.status(), StatusCode::OK);
    let r = connect_code(&tp, &b, &format!("{code}~2")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "phone_number_in_use");
}

#[tokio::test]
async fn finish_only_waba_stops_at_the_phone_numbers_step_with_a_clear_message() {
    let tp = start().await;
    let t = tenant(&tp, "OnlyWaba").await;
    let code = code("x_finish_only_waba");
    let r = connect(&tp, &t, json!({"code": code, "waba_id": business_for_code(&code).waba_id})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_phone_number");
    assert!(body["error"]["message"].as_str().unwrap().contains("no phone number"));
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "connecting");
    assert_eq!(view["waba_id"], business_for_code(&code).waba_id.as_str());
    assert_eq!(step(&view, "validate_token")["status"], "done");
    assert_eq!(step(&view, "fetch_phone_numbers")["status"], "failed");
}

#[tokio::test]
async fn several_numbers_need_a_choice_which_a_retry_can_bring() {
    let tp = start().await;
    let t = tenant(&tp, "Many").await;
    let code = code("acme_numbers_3");
    let business = business_for_code(&code);
    let r = connect_code(&tp, &t, &code).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "phone_number_ambiguous");
    let r = connect(&tp, &t, json!({"phone_number_id": business.phone_numbers[2].id})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["phone_number_id"], business.phone_numbers[2].id.as_str());
}

#[tokio::test]
async fn disconnect_unsubscribes_forgets_the_token_and_frees_the_number() {
    let tp = start().await;
    let t = tenant(&tp, "Bye").await;
    let code = code("bye");
    let business = business_for_code(&code);
    assert_eq!(connect_code(&tp, &t, &code).await.status(), StatusCode::OK);
    assert!(sim(&tp).is_subscribed(&business.waba_id));

    assert_eq!(disconnect(&tp, &t).await.status(), StatusCode::NO_CONTENT);
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "disconnected");
    assert_eq!(view["waba_id"], Value::Null);
    assert_eq!(view["phone_number_id"], Value::Null);
    assert!(!sim(&tp).is_subscribed(&business.waba_id));
    let ports = ports(&tp);
    assert_eq!(tenant_for_phone_number(ports, &business.phone_numbers[0].id).await.unwrap(), None);
    assert_eq!(tenant_for_waba(ports, &business.waba_id).await.unwrap(), None);
    let stored = miping::store::whatsapp::WhatsappStore::new(&*ports.table).get(&t.id).await.unwrap().unwrap();
    assert!(stored.sealed_token.is_none() && stored.sealed_pin.is_none(), "the token and PIN are forgotten");
    let e = business_token(ports, &t.id).await.unwrap_err();
    assert_eq!(e.code, "whatsapp_not_connected");
    // Idempotent; resuming is not possible, a new signup is.
    assert_eq!(disconnect(&tp, &t).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(connect(&tp, &t, json!({})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(connect_code(&tp, &t, &format!("{code}~back")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_meta_failure_does_not_block_the_disconnect() {
    let tp = start().await;
    let t = tenant(&tp, "ByeAnyway").await;
    assert_eq!(connect_code(&tp, &t, &code("bye2")).await.status(), StatusCode::OK);
    sim(&tp).fail_next(Endpoint::UnsubscribeApp, ScriptedFault::ServerError);
    assert_eq!(disconnect(&tp, &t).await.status(), StatusCode::NO_CONTENT);
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "disconnected");
    assert!(view["notice"].as_str().unwrap().contains("Meta did not confirm"), "{view}");
}

#[tokio::test]
async fn tenants_only_ever_see_and_change_their_own_connection() {
    let tp = start().await;
    let a = tenant(&tp, "Mine").await;
    let b = tenant(&tp, "Theirs").await;
    assert_eq!(connect_code(&tp, &a, &code("iso")).await.status(), StatusCode::OK);
    assert_eq!(status(&tp, &b).await["status"], "not_connected");
    assert_eq!(disconnect(&tp, &b).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(status(&tp, &a).await["status"], "connected");
    // B resuming finds nothing of A's.
    assert_eq!(connect(&tp, &b, json!({})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status(&tp, &a).await["status"], "connected");
}

#[tokio::test]
async fn a_live_lease_refuses_a_second_run_and_an_expired_one_does_not() {
    let tp = start().await;
    let t = tenant(&tp, "Lease").await;
    let ports = ports(&tp);
    let store = miping::store::whatsapp::WhatsappStore::new(&*ports.table);
    let mut conn = miping::domain::whatsapp::Connection::new(&t.id);
    conn.lease_id = Some("lease_other".into());
    conn.lease_until = Some(chrono::Utc::now().timestamp() + 60);
    store.save(&mut conn).await.unwrap();

    let r = connect_code(&tp, &t, &code("lease")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "connect_in_progress");
    assert_eq!(disconnect(&tp, &t).await.status(), StatusCode::CONFLICT);

    // A run that died leaves a lease that expires: the next request proceeds.
    conn.lease_until = Some(chrono::Utc::now().timestamp() - 1);
    store.save(&mut conn).await.unwrap();
    let r = connect_code(&tp, &t, &code("lease2")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_connects_never_both_run() {
    let tp = start().await;
    let t = tenant(&tp, "Race").await;
    let (c1, c2) = (code("race1"), code("race2"));
    let (r1, r2) = tokio::join!(connect_code(&tp, &t, &c1), connect_code(&tp, &t, &c2));
    let statuses = [r1.status(), r2.status()];
    // Either they serialised (both 200, the second restarting) or one found the other's lease.
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT), "{statuses:?}");
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "connected");
    assert!(all_done(&view));
    // Exactly one business holds the tenant's routes.
    let ports = ports(&tp);
    let mut held = 0;
    for c in [&c1, &c2] {
        let phone = &business_for_code(c).phone_numbers[0].id;
        if tenant_for_phone_number(ports, phone).await.unwrap().as_deref() == Some(t.id.as_str()) {
            held += 1;
        }
    }
    assert_eq!(held, 1);
}
