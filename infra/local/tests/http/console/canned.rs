//! Console: the canned replies page (`/app/canned`): the empty state, add (errors next to the
//! fields in the API's words, the form keeping what was typed), search, edit, delete after
//! confirming, another tenant's reply, role refusal, CSRF. What an agent sees of them is the
//! inbox's reply box.

use reqwest::StatusCode;
use serde_json::json;

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, ActiveTenant, TestPlatform};

async fn owner(tp: &TestPlatform) -> (ActiveTenant, Console) {
    let t = common::provision_and_activate(tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    (t, c)
}

/// The reply's id from the list (its edit link, found by its shortcut).
fn reply_id(body: &str, shortcut: &str) -> String {
    let at = body.find(&format!("><code>/{shortcut}</code>")).expect("the reply's row");
    let start = body[..at].rfind("/app/canned/").unwrap() + "/app/canned/".len();
    body[start..at - 1].to_owned()
}

#[tokio::test]
async fn an_admin_saves_searches_edits_and_deletes_canned_replies() {
    let tp = common::start().await;
    let (_, mut c) = owner(&tp).await;
    let page = c.get("/app/canned").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No canned replies yet");
    assert!(page.body.contains("href=\"/app/canned\""), "in the navigation");
    assert!(page.body.contains("<label for=\"f-shortcut\">Shortcut</label>"));

    // The API's refusals next to the fields, what was typed kept.
    let r = c.post("/app/canned", &[("shortcut", "no spaces"), ("text", "Hi {{contact.nickname}}")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("shortcut").is_some(), "{}", r.body);
    assert!(r.field_error("text").unwrap().contains("{{contact.nickname}}"), "{}", r.body);
    assert_eq!(r.input_value("shortcut").as_deref(), Some("no spaces"));

    let hours = "We are open 9 to 6, {{contact.name}}.";
    let r = c.post("/app/canned", &[("shortcut", "/hours"), ("text", hours)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.post("/app/canned", &[("shortcut", "pay"), ("text", "Pay by UPI to shop@bank.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = c.post("/app/canned", &[("shortcut", "HOURS"), ("text", "again")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.field_error("shortcut").as_deref(), Some("already used by another canned reply"));

    let page = c.get("/app/canned").await;
    page.assert_shows("Canned reply /pay saved");
    page.assert_shows("/hours");
    page.assert_shows("Pay by UPI to shop@bank.");
    let found = c.get("/app/canned?q=upi").await;
    found.assert_shows("/pay");
    assert!(!found.shows("/hours"), "search keeps only matches");
    c.get("/app/canned?q=zzz").await.assert_shows("No canned reply matches “zzz”");

    // Edit: the form filled in; refusals next to the field; saved.
    let id = reply_id(&page.body, "hours");
    let edit = c.get(&format!("/app/canned/{id}")).await;
    assert_eq!(edit.input_value("shortcut").as_deref(), Some("hours"));
    let r = c.post(&format!("/app/canned/{id}"), &[("shortcut", "pay"), ("text", hours)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.field_error("shortcut").is_some());
    let r = c.post(&format!("/app/canned/{id}"), &[("shortcut", "hours"), ("text", "Open 10 to 7.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c.get("/app/canned").await.assert_shows("Open 10 to 7.");

    // Delete asks first, naming the shortcut.
    let path = format!("/app/canned/{id}/delete");
    let r = c.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("Delete the canned reply /hours?");
    assert!(c.get("/app/canned").await.shows("Open 10 to 7."), "not deleted before confirming");
    assert_eq!(c.post(&path, &[("confirmed", "1")]).await.status, StatusCode::SEE_OTHER);
    let page = c.get("/app/canned").await;
    page.assert_shows("Canned reply /hours deleted");
    assert!(!page.shows("Open 10 to 7."));
}

#[tokio::test]
async fn another_tenants_reply_is_not_found_and_only_admins_get_the_page() {
    let tp = common::start().await;
    let (other, _) = owner(&tp).await;
    let r = common::post(&tp, &other.token, "/canned-replies", &json!({"shortcut": "x", "text": "X"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let theirs = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let (t, mut c) = owner(&tp).await;
    c.get("/app/canned").await;
    assert_eq!(c.get(&format!("/app/canned/{theirs}")).await.status, StatusCode::NOT_FOUND);
    let r = c.post(&format!("/app/canned/{theirs}"), &[("shortcut", "y"), ("text", "Y")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.post(&format!("/app/canned/{theirs}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (_, list) = common::get_json(&tp, &other.token, "/canned-replies").await;
    assert_eq!(list["items"][0]["text"], "X", "untouched");

    let r = c.post_raw("/app/canned", &[("shortcut", "z"), ("text", "Z")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/app/canned").await.status, StatusCode::FORBIDDEN);
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let mut a = Console::new(&tp.base);
    a.sign_in(&agent.email, &agent.password).await;
    assert_eq!(a.get("/app/canned").await.status, StatusCode::FORBIDDEN, "agents use them, admins write them");
}
