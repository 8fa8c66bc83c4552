//! `/admin/webhooks/quarantine*` over HTTP: what the processor set aside is listed newest first
//! and inspectable with its payload, by the super admin only.

use crate::common::*;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

#[tokio::test]
async fn quarantine_lists_newest_first_and_shows_the_payload_to_the_super_admin_only() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    // An inbound message for a number nobody connected, then a malformed body.
    let fixture =
        std::fs::read_to_string(miping::testkit::fixtures_dir("meta-webhooks").join("inbound_text.json")).unwrap();
    assert_eq!(post_signed_webhook(&tp, fixture.as_bytes()).await.status(), StatusCode::OK);
    let (tp_ref, admin_ref) = (&tp, &admin);
    until(10, "one quarantined item", || async move {
        get_ok(tp_ref, admin_ref, "/admin/webhooks/quarantine").await["items"].as_array().unwrap().len() == 1
    })
    .await;
    let broken = "{\"this is\": not json";
    assert_eq!(post_signed_webhook(&tp, broken.as_bytes()).await.status(), StatusCode::OK);
    until(10, "two quarantined items", || async move {
        get_ok(tp_ref, admin_ref, "/admin/webhooks/quarantine").await["items"].as_array().unwrap().len() == 2
    })
    .await;

    let page = get_ok(&tp, &admin, "/admin/webhooks/quarantine?limit=1").await;
    let newest = &page["items"][0];
    assert_eq!(newest["reason"], "malformed", "newest first: {page}");
    assert!(newest.get("payload").is_none(), "the list does not carry bodies");
    let next = page["next_cursor"].as_str().expect("a second page");
    let page = get_ok(&tp, &admin, &format!("/admin/webhooks/quarantine?limit=1&cursor={next}")).await;
    let oldest = &page["items"][0];
    assert_eq!(oldest["reason"], "unrouted");
    assert!(oldest["detail"].as_str().unwrap().contains("phone number"));

    let id = oldest["id"].as_str().unwrap();
    let detail = get_ok(&tp, &admin, &format!("/admin/webhooks/quarantine/{id}")).await;
    assert_eq!((&detail["id"], &detail["reason"], &detail["at"]), (&oldest["id"], &json!("unrouted"), &oldest["at"]));
    let sent: Value = serde_json::from_str(&fixture).unwrap();
    let wamid = sent["entry"][0]["changes"][0]["value"]["messages"][0]["id"].as_str().unwrap();
    assert!(detail["payload"].to_string().contains(wamid), "the event as received: {detail}");
    let malformed =
        get_ok(&tp, &admin, &format!("/admin/webhooks/quarantine/{}", newest["id"].as_str().unwrap())).await;
    assert_eq!(malformed["payload"], broken);
    let secret = tp.platform.as_ref().unwrap().state.config.meta.app_secret.expose_secret().to_owned();
    assert!(!malformed.to_string().contains(&secret) && !detail.to_string().contains(&secret));

    for path in ["/admin/webhooks/quarantine/wq_bm9wZQ", "/admin/webhooks/quarantine/nonsense"] {
        let r = tp.http.get(tp.url(path)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found", "{path}");
    }
    for path in ["/admin/webhooks/quarantine".to_owned(), format!("/admin/webhooks/quarantine/{id}")] {
        let r = tp.http.get(tp.url(&path)).bearer_auth(&t.token).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role", "{path}");
    }
}
