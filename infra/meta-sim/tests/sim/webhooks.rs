//! Signed webhooks, received and verified by a small axum endpoint: template reviews, message
//! statuses (order, failures, echo), inbound messages, retries, duplicates and shuffling.

use crate::common::*;
use meta_sim::{SimConfig, business_for_code};
use serde_json::{Value, json};

async fn setup(
    config: SimConfig,
    fail_first: usize,
) -> (meta_sim::SimHandle, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    let (url, rx) = receiver(&config.app_secret, fail_first).await;
    let sim = sim(SimConfig { webhook_url: Some(url), ..config }).await;
    (sim, rx)
}

#[tokio::test]
async fn templates_are_approved_or_rejected_by_signed_webhooks() {
    let (sim, mut rx) = setup(fast_config(), 0).await;
    let g = Graph::new(&sim);
    let c = code("review");
    let t = g.token(&c).await;
    let waba = business_for_code(&c).waba_id;
    let body = |name: &str| json!({"name": name, "language": "en_US", "category": "MARKETING", "components": [{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Ana"]]}}]});
    let (_, ok) = g.post(&format!("{waba}/message_templates"), &t, body("spring_sale")).await;
    let approved = next(&mut rx).await;
    assert!(approved.signature_ok);
    assert_eq!(approved.body["object"], "whatsapp_business_account");
    assert_eq!(approved.body["entry"][0]["id"], waba.as_str());
    let change = &approved.body["entry"][0]["changes"][0];
    assert_eq!(change["field"], "message_template_status_update");
    let v = &change["value"];
    assert_eq!(v["event"], "APPROVED");
    assert_eq!(v["message_template_id"].as_u64().unwrap().to_string(), ok["id"].as_str().unwrap());
    assert_eq!(
        (v["message_template_name"].clone(), v["message_template_language"].clone()),
        (json!("spring_sale"), json!("en_US"))
    );
    assert_eq!((v["reason"].clone(), v["message_template_category"].clone()), (json!("NONE"), json!("MARKETING")));

    g.post(&format!("{waba}/message_templates"), &t, body("please_reject_me")).await;
    let rejected = next(&mut rx).await;
    assert!(rejected.signature_ok);
    let v = &rejected.body["entry"][0]["changes"][0]["value"];
    assert_eq!(v["event"], "REJECTED");
    assert_eq!(v["reason"], "INVALID_FORMAT");
    assert!(v["rejection_info"]["reason"].is_string());
    assert_eq!(sim.templates(&waba).iter().map(|t| t.status.as_str()).collect::<Vec<_>>(), ["APPROVED", "REJECTED"]);
}

fn send_body(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
           "biz_opaque_callback_data": "msg-42",
           "template": {"name": "number_confirmation", "language": {"code": "pt_BR"},
                        "components": [{"type": "body", "parameters": [{"type": "text", "text": "18754269072"}]}]}})
}

#[tokio::test]
async fn statuses_arrive_sent_delivered_read_with_meta_fields() {
    let (sim, mut rx) = setup(fast_config(), 0).await;
    let g = Graph::new(&sim);
    let c = code("status");
    let t = g.token(&c).await;
    let b = business_for_code(&c);
    let phone = &b.phone_numbers[0];
    let (status, res) = g.post(&format!("{}/messages", phone.id), &t, send_body("5511987654321")).await;
    assert_eq!(status, 200, "{res}");
    let wamid = res["messages"][0]["id"].as_str().unwrap();

    let mut seen = Vec::new();
    for _ in 0..3 {
        let w = next(&mut rx).await;
        assert!(w.signature_ok);
        let value = &w.body["entry"][0]["changes"][0]["value"];
        assert_eq!(w.body["entry"][0]["id"], b.waba_id.as_str());
        assert_eq!(value["metadata"]["phone_number_id"], phone.id.as_str());
        assert_eq!(value["metadata"]["display_phone_number"], phone.display_digits());
        let s = status_of(&w.body);
        assert_eq!(s["id"], wamid);
        assert_eq!(s["recipient_id"], "5511987654321");
        assert_eq!(s["biz_opaque_callback_data"], "msg-42");
        assert!(s["timestamp"].as_str().unwrap().parse::<u64>().is_ok());
        assert_eq!(s["pricing"]["billable"], true);
        assert!(s["conversation"]["id"].is_string());
        if s["status"] == "sent" {
            assert!(s["conversation"]["expiration_timestamp"].is_string());
        }
        seen.push(s["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["sent", "delivered", "read"]);
    assert_eq!(sim.sent_messages()[0].body, send_body("5511987654321"));
}

#[tokio::test]
async fn recipients_ending_0000_and_0001_fail_with_meta_codes() {
    let (sim, mut rx) = setup(fast_config(), 0).await;
    let g = Graph::new(&sim);
    let c = code("fail");
    let t = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    for (to, code, title) in
        [("15550100000", 131026, "Message undeliverable"), ("15550100001", 131047, "Re-engagement message")]
    {
        let (status, _) = g.post(&format!("{phone}/messages"), &t, send_body(to)).await;
        assert_eq!(status, 200, "accepted synchronously; the failure is asynchronous");
        let w = next(&mut rx).await;
        let s = status_of(&w.body);
        assert_eq!(s["status"], "failed");
        assert_eq!(s["errors"][0]["code"], code);
        assert_eq!(s["errors"][0]["title"], title);
        assert!(s["errors"][0]["error_data"]["details"].is_string());
        assert!(s.get("pricing").is_none());
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(150), rx.recv()).await.is_err(),
        "nothing after failed"
    );
}

#[tokio::test]
async fn inbound_text_reaches_the_platform_signed() {
    let (sim, mut rx) = setup(fast_config(), 0).await;
    let c = code("inbound");
    let b = business_for_code(&c);
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/inbound", sim.base_url()))
        .json(&json!({"phone_number_id": b.phone_numbers[0].id, "from": "+972 98765-4321", "text": "Body Text", "name": "Test Name"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let wamid = r.json::<Value>().await.unwrap()["wamid"].as_str().unwrap().to_owned();
    let w = next(&mut rx).await;
    assert!(w.signature_ok);
    let v = &w.body["entry"][0]["changes"][0]["value"];
    assert_eq!(v["contacts"][0], json!({"profile": {"name": "Test Name"}, "wa_id": "972987654321"}));
    let m = &v["messages"][0];
    assert_eq!(
        (m["from"].clone(), m["id"].clone(), m["type"].clone()),
        (json!("972987654321"), json!(wamid), json!("text"))
    );
    assert_eq!(m["text"]["body"], "Body Text");
}

#[tokio::test]
async fn refused_webhooks_are_retried_until_accepted() {
    let (sim, mut rx) = setup(fast_config(), 2).await;
    let c = code("retry");
    let b = business_for_code(&c);
    reqwest::Client::new()
        .post(format!("{}/_sim/inbound", sim.base_url()))
        .json(&json!({"phone_number_id": b.phone_numbers[0].id, "from": "15550001234", "text": "hello"}))
        .send()
        .await
        .unwrap();
    let w = next(&mut rx).await;
    assert!(w.signature_ok);
    // The receiver saw it before answering; the simulator records the 200 just after.
    for _ in 0..100 {
        if sim.webhook_deliveries()[0].delivered {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let log = sim.webhook_deliveries();
    assert_eq!((log[0].attempts, log[0].delivered), (3, true));
}

#[tokio::test]
async fn duplicated_and_shuffled_webhooks_when_configured() {
    let config = SimConfig { duplicate_webhooks: true, shuffle_webhooks: true, ..fast_config() };
    let (sim, mut rx) = setup(config, 0).await;
    let g = Graph::new(&sim);
    let c = code("dup");
    let t = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    g.post(&format!("{phone}/messages"), &t, send_body("15550002222")).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let w = next(&mut rx).await;
        assert!(w.signature_ok);
        statuses.push(status_of(&w.body)["status"].as_str().unwrap().to_owned());
    }
    statuses.sort();
    assert_eq!(statuses, ["delivered", "delivered", "read", "read", "sent", "sent"]);
}

#[tokio::test]
async fn without_a_url_webhooks_are_only_recorded() {
    let sim = sim(fast_config()).await;
    let c = code("nourl");
    let b = business_for_code(&c);
    reqwest::Client::new()
        .post(format!("{}/_sim/inbound", sim.base_url()))
        .json(&json!({"phone_number_id": b.phone_numbers[0].id, "from": "15550001234", "text": "hello"}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let log = sim.webhook_deliveries();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].field.as_str(), log[0].url.clone(), log[0].attempts), ("messages", None, 0));
}
