//! The simulator's Graph conventions over HTTP: code exchange, debug_token, phone numbers,
//! permissions, paging, registration, subscriptions, templates, limits and faults.

use std::time::Duration;

use crate::common::*;
use meta_sim::{Faults, business_for_code};
use serde_json::{Value, json};

#[tokio::test]
async fn a_code_works_once_and_always_maps_to_the_same_business() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let code = code("det");
    let token = g.token(&code).await;
    assert!(token.starts_with("EAA"));

    let (status, body) = g.exchange(&code).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 100);
    assert_eq!(body["error"]["error_subcode"], 36009);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert_eq!(body["error"]["message"], "This authorization code has been used.");
    assert!(body["error"]["fbtrace_id"].as_str().is_some_and(|s| !s.is_empty()));

    // Another simulator (a restart) maps the same code to the same business, and the token
    // issued before still works there.
    let other = sim_restart_check(&code, &token).await;
    let expected = business_for_code(&code);
    assert_eq!(other, expected.waba_id);
    let (status, phones) = g.get(&format!("{}/phone_numbers", expected.waba_id), &token).await;
    assert_eq!(status, 200);
    assert_eq!(phones["data"][0]["id"], expected.phone_numbers[0].id.as_str());
    assert_eq!(phones["data"][0]["display_phone_number"], expected.phone_numbers[0].display_phone_number.as_str());
    assert_ne!(business_for_code("other-code").waba_id, expected.waba_id);
}

async fn sim_restart_check(code: &str, token: &str) -> String {
    let sim2 = sim(fast_config()).await;
    let g2 = Graph::new(&sim2);
    let (status, body) = g2.exchange(code).await;
    assert_eq!(status, 200, "a fresh simulator has not seen the code");
    let waba = business_for_code(code).waba_id;
    let (status, _) = g2.get(&format!("{waba}/phone_numbers"), token).await;
    assert_eq!(status, 200, "tokens survive a restart");
    let (status, info) = g2
        .get(
            &format!("debug_token?input_token={}", body["access_token"].as_str().unwrap()),
            "100000000000001|sim-app-secret",
        )
        .await;
    assert_eq!(status, 200);
    info["data"]["granular_scopes"][0]["target_ids"][0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn invalid_code_wrong_secret_and_missing_code_are_oauth_errors() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let (status, body) = g.exchange("invalid").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert_eq!(body["error"]["code"], 100);

    let r = g.http.get(exchange_url(&g.base, "wrong", "c")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "OAuthException");
    assert_eq!(body["error"]["message"], "Error validating client secret.");
    // The failed attempt did not burn the code.
    assert_eq!(g.exchange("c").await.0, 200);
}

#[tokio::test]
async fn debug_token_reports_granular_scopes_for_the_waba() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let code = code("dbg");
    let token = g.token(&code).await;
    let waba = business_for_code(&code).waba_id;
    let (status, body) = g.get(&format!("debug_token?input_token={token}"), "100000000000001|sim-app-secret").await;
    assert_eq!(status, 200, "{body}");
    let d = &body["data"];
    assert_eq!(d["app_id"], meta_sim::DEFAULT_APP_ID);
    assert_eq!(d["type"], "SYSTEM_USER");
    assert_eq!(d["is_valid"], true);
    assert_eq!(d["expires_at"], 0);
    assert_eq!(
        d["granular_scopes"],
        json!([
            {"scope": "whatsapp_business_management", "target_ids": [waba]},
            {"scope": "whatsapp_business_messaging", "target_ids": [waba]}
        ])
    );
    let (_, bad) = g.get("debug_token?input_token=EAAnope", "100000000000001|sim-app-secret").await;
    assert_eq!(bad["data"]["is_valid"], false);
}

#[tokio::test]
async fn phone_numbers_paging_single_number_and_finish_only_waba() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);

    let code3 = code("acme_numbers_3");
    let token = g.token(&code3).await;
    let b = business_for_code(&code3);
    let (status, page1) = g.get(&format!("{}/phone_numbers?limit=2", b.waba_id), &token).await;
    assert_eq!(status, 200);
    assert_eq!(page1["data"].as_array().unwrap().len(), 2);
    let next = page1["paging"]["next"].as_str().expect("a next link");
    assert!(next.starts_with(&sim.base_url()), "absolute: {next}");
    assert!(!next.contains("access_token"), "a header token is not copied into links");
    let page2: Value = g.http.get(next).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    assert!(page2["paging"].get("next").is_none());
    assert_eq!(page2["data"][0]["id"], b.phone_numbers[2].id.as_str());

    let code1 = code("one");
    let t1 = g.token(&code1).await;
    let b1 = business_for_code(&code1);
    let (_, one) = g.get(&format!("{}/phone_numbers", b1.waba_id), &t1).await;
    let p = &one["data"][0];
    assert_eq!(p["verified_name"], b1.name.as_str());
    assert_eq!(p["quality_rating"], "GREEN");
    assert_eq!(p["throughput"]["level"], "STANDARD");
    assert_eq!(p["messaging_limit_tier"], "TIER_1K");
    assert!(p["code_verification_status"].is_string() && p["platform_type"].is_string());
    assert!(one["paging"]["cursors"]["after"].is_string());
    let (status, single) = g.get(&b1.phone_numbers[0].id, &t1).await;
    assert_eq!(status, 200);
    assert_eq!(single["display_phone_number"], b1.phone_numbers[0].display_phone_number.as_str());
    assert_eq!(single["name_status"], "APPROVED");

    let code0 = code("x_finish_only_waba");
    let t0 = g.token(&code0).await;
    let (status, none) = g.get(&format!("{}/phone_numbers", business_for_code(&code0).waba_id), &t0).await;
    assert_eq!(status, 200);
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn a_token_touches_only_its_own_business() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let (ca, cb) = (code("a"), code("b"));
    let ta = g.token(&ca).await;
    let b = business_for_code(&cb);

    for path in [format!("{}/phone_numbers", b.waba_id), b.phone_numbers[0].id.clone()] {
        let (status, body) = g.get(&path, &ta).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], 200);
        assert_eq!(body["error"]["message"], "(#200) Permissions error");
    }
    let (status, body) = g
        .post(
            &format!("{}/messages", b.phone_numbers[0].id),
            &ta,
            json!({"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}}),
        )
        .await;
    assert_eq!((status, body["error"]["code"].clone()), (403, json!(200)));

    let (status, body) = g.get("123/phone_numbers", &ta).await;
    assert_eq!(status, 400);
    assert_eq!((body["error"]["code"].clone(), body["error"]["error_subcode"].clone()), (json!(100), json!(33)));

    let (status, body) = g.get(&format!("{}/phone_numbers", b.waba_id), "EAAforged").await;
    assert_eq!((status, body["error"]["code"].clone()), (401, json!(190)));

    let r = g.http.get(format!("{}/bad/{}/phone_numbers", sim.base_url(), b.waba_id)).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // The token also works as an access_token query parameter, as on Graph.
    let a = business_for_code(&ca);
    let r = g.http.get(format!("{}/{}/phone_numbers?access_token={ta}", g.base, a.waba_id)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn register_needs_a_six_digit_pin_and_subscriptions_round_trip() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("reg");
    let t = g.token(&c).await;
    let b = business_for_code(&c);
    let phone = &b.phone_numbers[0].id;

    let (status, body) =
        g.post(&format!("{phone}/register"), &t, json!({"messaging_product": "whatsapp", "pin": "12a4"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 100);
    assert!(body["error"]["error_data"]["details"].as_str().unwrap().contains("6-digit"));
    let (status, body) =
        g.post(&format!("{phone}/register"), &t, json!({"messaging_product": "whatsapp", "pin": "123456"})).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (_, p) = g.get(phone, &t).await;
    assert_eq!(p["platform_type"], "CLOUD_API");

    let path = format!("{}/subscribed_apps", b.waba_id);
    assert_eq!(g.get(&path, &t).await.1, json!({"data": []}));
    assert_eq!(g.post(&path, &t, json!({})).await.1, json!({"success": true}));
    let (_, subs) = g.get(&path, &t).await;
    assert_eq!(subs["data"][0]["whatsapp_business_api_data"]["id"], meta_sim::DEFAULT_APP_ID);
    assert!(subs["data"][0]["whatsapp_business_api_data"]["name"].is_string());
    assert_eq!(g.delete(&path, &t).await.1, json!({"success": true}));
    assert_eq!(g.get(&path, &t).await.1, json!({"data": []}));
}

/// Meta's create-template body (as in the shared fixture `create_template_request_1.json`,
/// with its legacy TRANSACTIONAL category), renamed.
fn template(name: &str, language: &str) -> Value {
    json!({
        "name": name,
        "category": "TRANSACTIONAL",
        "components": [
            {"format": "TEXT", "type": "HEADER", "text": "Código de confirmação"},
            {"type": "BODY", "text": "Este é o seu código de confirmação: *{{1}}.*", "example": {"body_text": [["1458425"]]}},
            {"type": "FOOTER", "text": "Use este código para confirmar seu telefone."}
        ],
        "language": language
    })
}

#[tokio::test]
async fn template_create_validates_names_and_duplicates() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("tpl");
    let t = g.token(&c).await;
    let waba = business_for_code(&c).waba_id;
    let path = format!("{waba}/message_templates");

    let (status, body) = g.post(&path, &t, template("number_confirmation", "pt_BR")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "PENDING");
    assert_eq!(body["category"], "UTILITY", "legacy TRANSACTIONAL maps to UTILITY");
    assert!(body["id"].as_str().unwrap().bytes().all(|b| b.is_ascii_digit()));

    let (status, dup) = g.post(&path, &t, template("number_confirmation", "pt_BR")).await;
    assert_eq!(status, 400);
    assert_eq!(dup["error"]["code"], 100);
    assert_eq!(dup["error"]["error_subcode"], 2388024);
    assert_eq!(dup["error"]["error_user_title"], "Content in this language already exists");
    // Another language of the same name is a different template.
    assert_eq!(g.post(&path, &t, template("number_confirmation", "en_US")).await.0, 200);

    for bad in ["Number-Confirmation", "with space", ""] {
        let (status, e) = g.post(&path, &t, template(bad, "en_US")).await;
        assert_eq!((status, e["error"]["code"].clone()), (400, json!(100)), "{bad}");
    }
}

#[tokio::test]
async fn template_list_pages_with_cursors_and_absolute_next_links() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("pages");
    let t = g.token(&c).await;
    let waba = business_for_code(&c).waba_id;
    for i in 0..30 {
        let r = g
            .http
            .post(format!("{}/_sim/templates", sim.base_url()))
            .json(&json!({"waba_id": waba, "name": format!("t_{i:02}"), "language": "en_US", "category": "MARKETING",
                          "components": [{"type": "BODY", "text": "hello"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let (_, first) = g.get(&format!("{waba}/message_templates?fields=name,status"), &t).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 25, "default limit");
    assert_eq!(first["data"][0], json!({"id": first["data"][0]["id"], "name": "t_00", "status": "APPROVED"}));
    let next = first["paging"]["next"].as_str().unwrap();
    assert!(next.contains("fields=name%2Cstatus") && next.contains("after="), "{next}");
    let second: Value = g.http.get(next).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = second["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["t_25", "t_26", "t_27", "t_28", "t_29"]);
    assert!(second["paging"].get("next").is_none());

    let after = first["paging"]["cursors"]["after"].as_str().unwrap();
    let (_, small) = g.get(&format!("{waba}/message_templates?limit=2&after={}", meta_sim_encode(after)), &t).await;
    assert_eq!(small["data"][0]["name"], "t_25");
    assert_eq!(small["data"][0]["components"][0]["type"], "BODY", "default fields include components");

    // Removed in WhatsApp Manager: gone from the list.
    let id = small["data"][0]["id"].as_str().unwrap();
    let r = g.http.delete(format!("{}/_sim/templates/{id}", sim.base_url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.templates(&waba).len(), 29);
}

fn meta_sim_encode(s: &str) -> String {
    s.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
}

#[tokio::test]
async fn template_edit_limits_and_delete() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("edit");
    let t = g.token(&c).await;
    let waba = business_for_code(&c).waba_id;
    let (_, created) = g.post(&format!("{waba}/message_templates"), &t, template("order_update", "en_US")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let edit =
        json!({"components": [{"type": "BODY", "text": "Order {{1}} shipped", "example": {"body_text": [["42"]]}}]});

    let (status, e) = g.post(&id, &t, edit.clone()).await;
    assert_eq!(status, 400, "a template in review cannot be edited: {e}");

    sim.wait_template_status(&waba, &id, "APPROVED").await;
    assert_eq!(g.post(&id, &t, edit.clone()).await, (200, json!({"success": true})));
    let (_, one) = g.get(&id, &t).await;
    assert_eq!(one["status"], "PENDING");
    assert_eq!(one["components"][0]["text"], "Order {{1}} shipped");
    sim.wait_template_status(&waba, &id, "APPROVED").await;
    let (status, e) = g.post(&id, &t, edit).await;
    assert_eq!(status, 400);
    assert_eq!(e["error"]["error_user_title"], "Edit limit reached");

    let (status, e) = g.delete(&format!("{waba}/message_templates?name=nope"), &t).await;
    assert_eq!((status, e["error"]["code"].clone()), (400, json!(100)));
    let (status, _) = g.delete(&format!("{waba}/message_templates?name=order_update&hsm_id={id}"), &t).await;
    assert_eq!(status, 200);
    assert!(sim.templates(&waba).is_empty());
}

pub fn text_to(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": {"preview_url": false, "body": "hi"}})
}

#[tokio::test]
async fn pair_rate_limit_answers_131056() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("pair");
    let t = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    let path = format!("{phone}/messages");
    let (status, ok) = g.post(&path, &t, text_to("+44 7700 900123")).await;
    assert_eq!(status, 200);
    assert_eq!(ok["messaging_product"], "whatsapp");
    assert_eq!(ok["contacts"][0], json!({"input": "+44 7700 900123", "wa_id": "447700900123"}));
    assert!(ok["messages"][0]["id"].as_str().unwrap().starts_with("wamid."));
    let (status, body) = g.post(&path, &t, text_to("447700900123")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 131056);
    assert_eq!(body["error"]["message"], "(#131056) (Business Account, Consumer Account) pair rate limit hit");
    assert_eq!(g.post(&path, &t, text_to("447700900124")).await.0, 200, "other recipients are unaffected");
    tokio::time::sleep(Duration::from_millis(510)).await;
    assert_eq!(g.post(&path, &t, text_to("447700900123")).await.0, 200);
    assert_eq!(sim.sent_messages().len(), 3);
}

#[tokio::test]
async fn injected_faults_look_like_meta_failures() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("faults");
    let t = g.token(&c).await;
    let path = format!("{}/phone_numbers", business_for_code(&c).waba_id);

    sim.set_faults(Faults { server_error_ratio: 1.0, ..Faults::default() });
    let (status, body) = g.get(&path, &t).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["is_transient"], true);
    assert!(matches!(body["error"]["code"].as_i64(), Some(1 | 2)));

    sim.set_faults(Faults { expired_token_ratio: 1.0, ..Faults::default() });
    let (status, body) = g.get(&path, &t).await;
    assert_eq!(status, 401);
    assert_eq!((body["error"]["code"].clone(), body["error"]["error_subcode"].clone()), (json!(190), json!(463)));
    assert_eq!(body["error"]["type"], "OAuthException");

    sim.set_faults(Faults { timeout_ratio: 1.0, ..Faults::default() });
    let started = std::time::Instant::now();
    let err = g
        .http
        .get(format!("{}/{path}", g.base))
        .bearer_auth(&t)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(started.elapsed() < Duration::from_secs(2));

    sim.set_faults(Faults::default());
    assert_eq!(g.get(&path, &t).await.0, 200);
}

#[tokio::test]
async fn send_faults_throttle_or_lose_the_response() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let c = code("sendfaults");
    let t = g.token(&c).await;
    let path = format!("{}/messages", business_for_code(&c).phone_numbers[0].id);

    // Throttled: Meta's 130429, and nothing was sent.
    sim.set_faults(Faults { throttle_ratio: 1.0, ..Faults::default() });
    let (status, body) = g.post(&path, &t, text_to("15550001111")).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(130429)));
    assert!(sim.sent_messages().is_empty());

    // Lost response: the client times out, but the message was sent (and its webhooks follow).
    sim.set_faults(Faults { lost_response_ratio: 1.0, ..Faults::default() });
    let err = g
        .http
        .post(format!("{}/{path}", g.base))
        .bearer_auth(&t)
        .json(&text_to("15550002222"))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].wa_id, "15550002222");

    sim.set_faults(Faults::default());
    assert_eq!(g.post(&path, &t, text_to("15550003333")).await.0, 200);
}

#[tokio::test]
async fn scripted_faults_fail_the_next_call_to_one_endpoint_once() {
    use meta_sim::{Endpoint, ScriptedFault};
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let first_code = code("scripted");
    let business = business_for_code(&first_code);
    let token = g.token(&first_code).await;
    let waba = &business.waba_id;
    let phone = &business.phone_numbers[0].id;

    sim.fail_next(Endpoint::SubscribeApp, ScriptedFault::ServerError);
    sim.fail_next(Endpoint::SubscribeApp, ScriptedFault::ExpiredToken);
    sim.fail_next(Endpoint::Register, ScriptedFault::Rejected { code: 133005, message: "PIN mismatch".into() });
    // Other endpoints are untouched by faults scripted for these two.
    let (status, _) = g.get(&format!("{waba}/phone_numbers"), &token).await;
    assert_eq!(status, 200);

    let (status, body) = g.post(&format!("{waba}/subscribed_apps"), &token, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64(), body["error"]["is_transient"].as_bool()),
        (500, Some(2), Some(true))
    );
    let (status, body) = g.post(&format!("{waba}/subscribed_apps"), &token, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()),
        (401, Some(190), Some(463))
    );
    assert!(!sim.is_subscribed(waba));
    let (status, _) = g.post(&format!("{waba}/subscribed_apps"), &token, json!({})).await;
    assert_eq!(status, 200, "each scripted fault happens once");
    assert!(sim.is_subscribed(waba));

    let pin = json!({"messaging_product": "whatsapp", "pin": "123456"});
    let (status, body) = g.post(&format!("{phone}/register"), &token, pin.clone()).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(133005)));
    assert_eq!(body["error"]["message"], "PIN mismatch");
    assert!(!sim.is_registered(phone));
    let (status, _) = g.post(&format!("{phone}/register"), &token, pin).await;
    assert_eq!(status, 200);
    assert!(sim.is_registered(phone));

    sim.fail_next(Endpoint::ExchangeCode, ScriptedFault::ServerError);
    let (status, _) = g.exchange(&code("fresh")).await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn a_second_code_for_the_same_business_gets_its_own_token() {
    let sim = sim(fast_config()).await;
    let g = Graph::new(&sim);
    let base = code("again");
    let first = g.token(&base).await;
    let second = g.token(&format!("{base}~2")).await;
    assert_ne!(first, second);
    let waba = business_for_code(&base).waba_id;
    for token in [&first, &second] {
        let (status, body) = g.get(&format!("{waba}/phone_numbers"), token).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"][0]["id"], business_for_code(&base).phone_numbers[0].id.as_str());
    }
}
