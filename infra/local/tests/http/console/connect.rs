//! Console: the connect pages (handler tests; browser scenarios in scenarios.rs).

use meta_sim::{Endpoint, ScriptedFault};
use reqwest::StatusCode;

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, ActiveTenant, TestPlatform};
use crate::connect_support::{code, sim};

async fn owner(tp: &TestPlatform) -> (ActiveTenant, Console) {
    let t = common::provision_and_activate(tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    (t, c)
}

/// `data-sdk-url="…"` on the page's button.
fn sdk_url(body: &str) -> String {
    let at = body.find("data-sdk-url=\"").expect("the button carries the SDK URL") + "data-sdk-url=\"".len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn the_page_invites_to_connect_and_widens_its_policy_to_the_sdk_only() {
    let tp = common::start().await;
    let (_, mut c) = owner(&tp).await;
    let page = c.get("/app/connect").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("Not connected yet");
    page.assert_shows("Connect WhatsApp");
    assert!(page.body.contains("status-chip status-chip--warn"), "the chip says not connected");
    let sdk = sdk_url(&page.body);
    let origin = &sdk[..sdk[8..].find('/').unwrap() + 8];
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains(&format!("script-src 'self' {origin}")), "{csp}");
    assert!(csp.contains(&format!("frame-src {origin}")) && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!page.body.contains("<script>"), "no inline script");
    // The script is a content-addressed asset of its own.
    let at = page.body.find("/assets/connect.").unwrap();
    let src = &page.body[at..at + page.body[at..].find('"').unwrap()];
    let js = c.get(src).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.contains("WA_EMBEDDED_SIGNUP"));
    // Other pages keep the strict policy.
    let other = c.get("/app/settings").await;
    assert!(!other.header("content-security-policy").unwrap().contains(origin));
}

#[tokio::test]
async fn a_signup_code_connects_and_the_steps_and_chip_say_so() {
    let tp = common::start().await;
    let (_, mut c) = owner(&tp).await;
    c.get("/app/connect").await;
    let r = c.post("/app/connect/code", &[("code", &code("console"))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/app/connect"));
    let page = c.get("/app/connect").await;
    page.assert_shows("WhatsApp connected");
    assert_eq!(page.body.matches("step step--done").count(), 9, "every step is done:\n{}", page.body);
    assert!(page.body.contains("id=\"wa-chip\" class=\"status-chip \""), "the chip is green");
    page.assert_shows("Reconnect WhatsApp");
    assert!(!page.body.contains("data-hx-trigger=\"refresh, every 2s\""), "nothing to poll once connected");
    // console.js's poll of the panel gets the fragment with the chip out of band.
    c.hx = true;
    let panel = c.get("/app/connect/panel").await;
    assert!(!panel.body.contains("<html"));
    assert!(panel.body.contains("id=\"wa-chip\" data-hx-oob"));
}

#[tokio::test]
async fn a_failed_step_shows_metas_words_and_retry_resumes_it() {
    let tp = common::start().await;
    let (_, mut c) = owner(&tp).await;
    c.get("/app/connect").await;
    sim(&tp).fail_next(Endpoint::SubscribeApp, ScriptedFault::ServerError);
    c.hx = true;
    let r = c.post("/app/connect/code", &[("code", &code("retry"))]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "console.js gets 204 + HX-Location");
    assert_eq!(r.header("hx-location"), Some("/app/connect"));
    c.hx = false;
    let page = c.get("/app/connect").await;
    assert!(page.body.contains("toast toast--danger"), "the failure is a danger toast:\n{}", page.body);
    assert_eq!(page.body.matches("step step--done").count(), 4);
    assert_eq!(page.body.matches("step step--failed").count(), 1);
    page.assert_shows("Meta did not complete");
    page.assert_shows("Retry");
    assert!(page.body.contains("data-hx-trigger=\"refresh\""), "stopped at a failed step: no polling");
    let r = c.post("/app/connect/retry", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/app/connect").await;
    page.assert_shows("WhatsApp connected");
    assert_eq!(page.body.matches("step step--done").count(), 9);
}

#[tokio::test]
async fn disconnect_asks_first_naming_the_number() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let view = common::connect_new(&tp, &t).await;
    let number = view["display_phone_number"].as_str().unwrap().to_owned();
    let page = c.get("/app/connect").await;
    page.assert_shows(&number);
    let r = c.post("/app/connect/disconnect", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows(&format!("Disconnect {number}?"));
    assert_eq!(common::get_ok(&tp, &t.token, "/whatsapp/status").await["status"], "connected", "not yet");
    let r = c.post("/app/connect/disconnect", &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(common::get_ok(&tp, &t.token, "/whatsapp/status").await["status"], "disconnected");
    c.get("/app/connect").await.assert_shows("WhatsApp disconnected");
}

#[tokio::test]
async fn only_a_tenant_admin_connects_and_only_with_the_forms_token() {
    let tp = common::start().await;
    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/app/connect").await.status, StatusCode::FORBIDDEN);
    let (t, mut c) = owner(&tp).await;
    c.get("/app/connect").await;
    let r = c.post_raw("/app/connect/code", &[("code", &code("nocsrf"))]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(common::get_ok(&tp, &t.token, "/whatsapp/status").await["status"], "not_connected");
}
