//! The Graph API client (`HttpGraph`) against the Meta simulator, in-process, over real HTTP:
//! every port method, page-following, Meta's errors parsed and classified, and secrets kept
//! out of every error and debug output.

use std::time::Duration;

use meta_sim::{Faults, SimConfig, SimHandle, business_for_code};
use miping::adapters::meta_graph::HttpGraph;
use miping::ports::meta::{Disposition, MetaError, MetaGraph, NewTemplate, TemplateEdit};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const VERSION: &str = "v24.0";

async fn sim() -> SimHandle {
    let config = SimConfig {
        status_delay: Duration::from_millis(10),
        template_review_delay: Duration::from_millis(30),
        pair_interval: Duration::from_millis(500),
        ..SimConfig::default()
    };
    meta_sim::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn client_for(base_url: &str, timeout: Duration) -> HttpGraph {
    HttpGraph::new(
        base_url,
        VERSION,
        meta_sim::DEFAULT_APP_ID,
        SecretString::from(meta_sim::DEFAULT_APP_SECRET),
        timeout,
    )
    .unwrap()
}

fn client(sim: &SimHandle) -> HttpGraph {
    client_for(&sim.base_url(), Duration::from_secs(5))
}

fn code(tag: &str) -> String {
    format!("{tag}-{}", ulid::Ulid::new())
}

fn utility(name: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        language: "en_US".into(),
        category: "UTILITY".into(),
        components: json!([{"type": "BODY", "text": "Order {{1}} confirmed", "example": {"body_text": [["A-1"]]}}]),
    }
}

fn text(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
           "text": {"preview_url": false, "body": "*Hello world!*"}})
}

#[tokio::test]
async fn embedded_signup_connect_flow() {
    let sim = sim().await;
    let g = client(&sim);
    let code = code("connect");
    let expected = business_for_code(&code);

    let token = g.exchange_code(&code).await.unwrap();
    let info = g.debug_token(&token).await.unwrap();
    assert!(info.is_valid);
    assert_eq!(info.app_id, meta_sim::DEFAULT_APP_ID);
    assert_eq!(info.token_type.as_deref(), Some("SYSTEM_USER"));
    assert_eq!(info.expires_at, 0);
    assert_eq!(info.waba_ids(), vec![expected.waba_id.clone()]);
    assert!(info.scopes.iter().any(|s| s == "whatsapp_business_messaging"));

    let phones = g.list_phone_numbers(&token, &expected.waba_id).await.unwrap();
    assert_eq!(phones.len(), 1);
    let phone = &phones[0];
    assert_eq!(phone.id, expected.phone_numbers[0].id);
    assert_eq!(phone.display_phone_number, expected.phone_numbers[0].display_phone_number);
    assert_eq!(phone.verified_name, expected.name);
    assert_eq!(phone.quality_rating.as_deref(), Some("GREEN"));
    assert_eq!(phone.messaging_limit_tier.as_deref(), Some("TIER_1K"));
    assert_eq!(phone.throughput.as_ref().map(|t| t.level.as_str()), Some("STANDARD"));

    g.register_phone(&token, &phone.id, &SecretString::from("123456")).await.unwrap();
    let one = g.get_phone_number(&token, &phone.id).await.unwrap();
    assert_eq!(one.name_status.as_deref(), Some("APPROVED"));
    assert_eq!(one.platform_type.as_deref(), Some("CLOUD_API"));

    g.subscribe_app(&token, &expected.waba_id).await.unwrap();
    g.unsubscribe_app(&token, &expected.waba_id).await.unwrap();

    let bad_pin = g.register_phone(&token, &phone.id, &SecretString::from("12")).await.unwrap_err();
    assert_eq!(bad_pin.code(), Some(100));
    assert_eq!(bad_pin.disposition(), Disposition::Permanent);
}

#[tokio::test]
async fn finish_only_waba_has_no_numbers() {
    let sim = sim().await;
    let g = client(&sim);
    let code = code("late_finish_only_waba");
    let token = g.exchange_code(&code).await.unwrap();
    assert!(g.list_phone_numbers(&token, &business_for_code(&code).waba_id).await.unwrap().is_empty());
}

#[tokio::test]
async fn phone_numbers_follow_every_page() {
    let sim = sim().await;
    let g = client(&sim).with_page_size(2);
    let code = code("group_numbers_5");
    let expected = business_for_code(&code);
    let token = g.exchange_code(&code).await.unwrap();
    let ids: Vec<String> =
        g.list_phone_numbers(&token, &expected.waba_id).await.unwrap().into_iter().map(|p| p.id).collect();
    let want: Vec<String> = expected.phone_numbers.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, want, "3 pages of 2, 2, 1");
}

#[tokio::test]
async fn templates_create_list_all_pages_edit_and_delete() {
    let sim = sim().await;
    let g = client(&sim);
    let code = code("templates");
    let waba = business_for_code(&code).waba_id;
    let token = g.exchange_code(&code).await.unwrap();

    let created = g.create_template(&token, &waba, &utility("order_confirmed")).await.unwrap();
    assert_eq!((created.status.as_str(), created.category.as_str()), ("PENDING", "UTILITY"));
    let dup = g.create_template(&token, &waba, &utility("order_confirmed")).await.unwrap_err();
    match &dup {
        MetaError::Api { status, code, subcode, title, .. } => {
            assert_eq!((*status, *code, *subcode), (400, 100, Some(2388024)));
            assert_eq!(title.as_deref(), Some("Content in this language already exists"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(dup.disposition(), Disposition::Permanent);
    sim.wait_template_status(&waba, &created.id, "APPROVED").await;

    // 30 more made in WhatsApp Manager: more than Meta's default page of 25.
    let http = reqwest::Client::new();
    for i in 0..30 {
        let r = http
            .post(format!("{}/_sim/templates", sim.base_url()))
            .json(
                &json!({"waba_id": waba, "name": format!("promo_{i:02}"), "language": "pt_BR", "category": "MARKETING",
                          "components": [{"type": "BODY", "text": "Oferta {{1}}"}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let all = g.list_templates(&token, &waba).await.unwrap();
    assert_eq!(all.len(), 31);
    assert_eq!(all[0].name, "order_confirmed");
    assert_eq!(all[30].name, "promo_29");
    assert_eq!(all[5].components[0]["type"], "BODY");
    let small_pages = client(&sim).with_page_size(7).list_templates(&token, &waba).await.unwrap();
    assert_eq!(small_pages, all);

    let edit =
        TemplateEdit { category: None, components: json!([{"type": "BODY", "text": "Order {{1}} is confirmed"}]) };
    g.edit_template(&token, &created.id, &edit).await.unwrap();
    let listed = g.list_templates(&token, &waba).await.unwrap();
    assert_eq!(listed[0].status, "PENDING");
    assert_eq!(listed[0].components[0]["text"], "Order {{1}} is confirmed");

    g.delete_template(&token, &waba, "promo_00", None).await.unwrap();
    g.delete_template(&token, &waba, "order_confirmed", Some(&created.id)).await.unwrap();
    assert_eq!(g.list_templates(&token, &waba).await.unwrap().len(), 29);
}

#[tokio::test]
async fn rejected_templates_carry_their_reason() {
    let sim = sim().await;
    let g = client(&sim);
    let code = code("reject");
    let waba = business_for_code(&code).waba_id;
    let token = g.exchange_code(&code).await.unwrap();
    let created = g.create_template(&token, &waba, &utility("reject_me")).await.unwrap();
    sim.wait_template_status(&waba, &created.id, "REJECTED").await;
    let listed = g.list_templates(&token, &waba).await.unwrap();
    assert_eq!(listed[0].rejected_reason.as_deref(), Some("INVALID_FORMAT"));
}

#[tokio::test]
async fn send_message_returns_wamid_and_wa_id_and_sends_the_body_verbatim() {
    let sim = sim().await;
    let g = client(&sim);
    let code = code("send");
    let phone = business_for_code(&code).phone_numbers[0].id.clone();
    let token = g.exchange_code(&code).await.unwrap();
    let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+55 11 98765-4321",
                      "type": "template", "biz_opaque_callback_data": "m1",
                      "template": {"name": "number_confirmation", "language": {"code": "pt_BR"},
                                   "components": [{"type": "body", "parameters": [{"type": "text", "text": "18754269072"}]}]}});
    let accepted = g.send_message(&token, &phone, &body).await.unwrap();
    assert!(accepted.wamid.starts_with("wamid."));
    assert_eq!(accepted.wa_id, "5511987654321");
    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, body);
    assert_eq!(sent[0].wamid, accepted.wamid);
}

#[tokio::test]
async fn invalid_and_reused_codes_are_permanent_oauth_errors() {
    let sim = sim().await;
    let g = client(&sim);
    let e = g.exchange_code("invalid").await.unwrap_err();
    match &e {
        MetaError::Api { status, code, error_type, fbtrace_id, .. } => {
            assert_eq!((*status, *code), (400, 100));
            assert_eq!(error_type.as_deref(), Some("OAuthException"));
            assert!(fbtrace_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.disposition(), Disposition::Permanent);

    let c = code("once");
    g.exchange_code(&c).await.unwrap();
    let reused = g.exchange_code(&c).await.unwrap_err();
    assert!(matches!(reused, MetaError::Api { code: 100, subcode: Some(36009), .. }), "{reused:?}");
    assert_eq!(reused.disposition(), Disposition::Permanent);
}

#[tokio::test]
async fn another_businesss_waba_is_a_permanent_permissions_error() {
    let sim = sim().await;
    let g = client(&sim);
    let token = g.exchange_code(&code("mine")).await.unwrap();
    let e = g.list_templates(&token, &business_for_code("theirs").waba_id).await.unwrap_err();
    assert!(matches!(e, MetaError::Api { status: 403, code: 200, .. }), "{e:?}");
    assert_eq!(e.disposition(), Disposition::Permanent);
}

#[tokio::test]
async fn injected_faults_are_classified() {
    let sim = sim().await;
    let g = client_for(&sim.base_url(), Duration::from_millis(400));
    let code = code("faults");
    let waba = business_for_code(&code).waba_id;
    let token = g.exchange_code(&code).await.unwrap();

    sim.set_faults(Faults { server_error_ratio: 1.0, ..Faults::default() });
    let e = g.list_phone_numbers(&token, &waba).await.unwrap_err();
    assert!(matches!(e, MetaError::Api { status: 500, code: 1 | 2, .. }), "{e:?}");
    assert_eq!(e.disposition(), Disposition::Retry);

    sim.set_faults(Faults { expired_token_ratio: 1.0, ..Faults::default() });
    let e = g.subscribe_app(&token, &waba).await.unwrap_err();
    assert!(matches!(e, MetaError::Api { status: 401, code: 190, subcode: Some(463), .. }), "{e:?}");
    assert_eq!(e.disposition(), Disposition::ReauthRequired);

    sim.set_faults(Faults { timeout_ratio: 1.0, ..Faults::default() });
    let e = g.get_phone_number(&token, &business_for_code(&code).phone_numbers[0].id).await.unwrap_err();
    assert!(matches!(e, MetaError::Timeout), "{e:?}");
    assert_eq!(e.disposition(), Disposition::Retry);

    sim.set_faults(Faults::default());
    g.subscribe_app(&token, &waba).await.unwrap();
}

#[tokio::test]
async fn rate_limits_are_retryable() {
    let sim = sim().await;
    sim.set_throughput(2);
    let g = client(&sim);
    let code = code("limits");
    let phone = business_for_code(&code).phone_numbers[0].id.clone();
    let token = g.exchange_code(&code).await.unwrap();

    g.send_message(&token, &phone, &text("15550101001")).await.unwrap();
    let pair = g.send_message(&token, &phone, &text("15550101001")).await.unwrap_err();
    assert!(matches!(pair, MetaError::Api { status: 400, code: 131056, .. }), "{pair:?}");
    assert_eq!(pair.disposition(), Disposition::Retry);

    g.send_message(&token, &phone, &text("15550101002")).await.unwrap();
    let burst = g.send_message(&token, &phone, &text("15550101003")).await.unwrap_err();
    match &burst {
        MetaError::Api { code, message, details, .. } => {
            assert_eq!(*code, 130429);
            assert_eq!(message, "(#130429) Rate limit hit");
            assert_eq!(details.as_deref(), Some("Cloud API message throughput has been reached."));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(burst.disposition(), Disposition::Retry);
}

#[test]
fn disposition_is_decided_by_code_and_status() {
    let api = |status: u16, code: i64| MetaError::Api {
        status,
        code,
        subcode: None,
        error_type: None,
        title: None,
        message: String::new(),
        details: None,
        fbtrace_id: None,
    };
    for code in [1, 2, 4, 80007, 130429, 131056] {
        assert_eq!(api(400, code).disposition(), Disposition::Retry, "{code}");
    }
    assert_eq!(api(503, 0).disposition(), Disposition::Retry);
    assert_eq!(api(401, 190).disposition(), Disposition::ReauthRequired);
    for code in [100, 200, 131026, 132001, 368] {
        assert_eq!(api(400, code).disposition(), Disposition::Permanent, "{code}");
    }
    assert_eq!(MetaError::Transport("reset".into()).disposition(), Disposition::Retry);
    assert_eq!(MetaError::Timeout.disposition(), Disposition::Retry);
    assert_eq!(MetaError::Protocol("bad json".into()).disposition(), Disposition::Permanent);
}

#[tokio::test]
async fn no_error_or_debug_output_contains_a_secret() {
    let sim = sim().await;
    let g = client_for(&sim.base_url(), Duration::from_millis(300));
    let code = code("secrets");
    let b = business_for_code(&code);
    let token = g.exchange_code(&code).await.unwrap();
    let secret = token.expose_secret().to_owned();

    let mut errors = Vec::new();
    errors.push(g.list_phone_numbers(&SecretString::from(format!("{secret}x")), &b.waba_id).await.unwrap_err());
    for faults in [
        Faults { server_error_ratio: 1.0, ..Faults::default() },
        Faults { expired_token_ratio: 1.0, ..Faults::default() },
        Faults { timeout_ratio: 1.0, ..Faults::default() },
    ] {
        sim.set_faults(faults);
        errors.push(g.debug_token(&token).await.unwrap_err());
        errors.push(g.send_message(&token, &b.phone_numbers[0].id, &text("15550102000")).await.unwrap_err());
    }
    sim.set_faults(Faults::default());

    // Nothing listens there: transport errors for the two calls with secrets in their query.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let offline = client_for(&format!("http://{dead}"), Duration::from_secs(2));
    errors.push(offline.debug_token(&token).await.unwrap_err());
    errors.push(offline.exchange_code("some-code").await.unwrap_err());
    assert!(matches!(errors.last(), Some(MetaError::Transport(_))), "{:?}", errors.last());

    for e in &errors {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(&secret), "token leaked: {text}");
            assert!(!text.contains(meta_sim::DEFAULT_APP_SECRET), "app secret leaked: {text}");
        }
    }
    let debug = format!("{g:?} {token:?}");
    assert!(!debug.contains(&secret) && !debug.contains(meta_sim::DEFAULT_APP_SECRET), "{debug}");
}
