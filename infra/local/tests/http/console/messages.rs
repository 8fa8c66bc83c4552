//! Console: the messages pages (handler tests; browser scenarios in scenarios.rs).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD};

pub fn send_template(to: &str) -> Value {
    json!({"to": to, "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}})
}

/// Sends `body` through the API and waits until the message is `status`; returns its id.
pub async fn sent(tp: &common::TestPlatform, token: &str, body: &Value, status: &str) -> String {
    let r = common::post(tp, token, "/messages", body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    common::poll_field(tp, token, &format!("/messages/{id}"), "status", status).await;
    id
}

#[tokio::test]
async fn an_empty_log_says_how_messages_arrive_and_other_roles_are_refused() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    let page = c.get("/app/messages").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No messages yet");
    assert!(page.body.contains("href=\"/app/messages?status=failed\">failed</a>"), "{}", page.body);
    let r = c.get("/app/messages/msg_01NOSUCHMESSAGE").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.get("/app/messages?status=nonsense").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = admin.get("/app/messages").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_shows("Not available");
}

#[tokio::test]
async fn the_log_shows_statuses_with_metas_reason_filters_by_chip_and_opens_a_message() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    let read = sent(&tp, &t.token, &send_template("+1 415 555 0101"), "read").await;
    // The simulator refuses this number as undeliverable (131026).
    let failed = sent(&tp, &t.token, &send_template("+1 415 555 0000"), "failed").await;

    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    let log = c.get("/app/messages").await;
    assert_eq!(log.status, StatusCode::OK);
    log.assert_shows("+14155550101");
    log.assert_shows("Template order_update");
    assert!(log.body.contains("<span class=\"badge badge--read\">read</span>"), "{}", log.body);
    assert!(log.body.contains("<span class=\"reason\">131026 · "), "Meta's reason under failed: {}", log.body);
    // Newest first: the failed one was sent last.
    assert!(
        log.body.find(&format!("/app/messages/{failed}")).unwrap()
            < log.body.find(&format!("/app/messages/{read}")).unwrap()
    );

    let only_failed = c.get("/app/messages?status=failed").await;
    assert!(only_failed.body.contains(&format!("/app/messages/{failed}")));
    assert!(!only_failed.body.contains(&format!("/app/messages/{read}")));
    assert!(only_failed.body.contains("href=\"/app/messages?status=failed\" aria-current=\"true\""));
    let queued = c.get("/app/messages?status=queued").await;
    queued.assert_shows("No messages match");

    let by_campaign = c.get("/app/messages?campaign_id=cmp_01NOSUCH").await;
    by_campaign.assert_shows("Campaign: cmp_01NOSUCH");
    by_campaign.assert_shows("No messages match");

    let detail = c.get(&format!("/app/messages/{read}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    detail.assert_shows("Status history");
    for s in ["queued", "sent", "delivered", "read"] {
        assert!(detail.body.contains(&format!("<span class=\"badge badge--{s}\">{s}</span>")), "{s}: {}", detail.body);
    }
    detail.assert_shows("order_update");
    detail.assert_shows("(en_US)");
    let fail = c.get(&format!("/app/messages/{failed}")).await;
    fail.assert_shows("Meta error 131026");
    assert!(fail.body.contains("step step--failed"));

    // Another tenant's admin: not found, never confirmed.
    let other = common::provision_and_activate(&tp).await;
    let mut o = Console::new(&tp.base);
    o.sign_in(&other.email, &other.password).await;
    let r = o.get(&format!("/app/messages/{read}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.shows("+14155550101"));
    let theirs = o.get("/app/messages").await;
    assert!(!theirs.body.contains(&read));
}
