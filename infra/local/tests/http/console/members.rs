//! Console: the members page (`/app/members`): invite (errors next to the fields, the invitation
//! email), change role, deactivate/reactivate, remove after confirming, the last admin's refusal,
//! another tenant's member, role refusal, CSRF.

use reqwest::StatusCode;
use serde_json::Value;

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, ActiveTenant, TestPlatform};

async fn owner(tp: &TestPlatform) -> (ActiveTenant, Console) {
    let t = common::provision_and_activate(tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    (t, c)
}

/// The member's id from the page (the first action form naming `email`'s row).
fn member_id(body: &str, email: &str) -> String {
    let row = body.find(&format!("<td>{email}</td>")).expect("the member's row");
    let at = body[row..].find("/app/members/usr_").unwrap() + row + "/app/members/".len();
    body[at..at + body[at..].find('/').unwrap()].to_owned()
}

#[tokio::test]
async fn an_admin_invites_an_agent_who_gets_the_email() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let page = c.get("/app/members").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows(&t.email);
    assert!(page.body.contains("<label for=\"f-email\">Email</label>"));
    assert!(page.body.contains("href=\"/app/members\""), "in the navigation");

    // Errors next to the fields, what was typed kept.
    let r = c.post("/app/members", &[("email", "not-an-email"), ("name", ""), ("role", "TENANT_AGENT")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("email").as_deref(), Some("is not an email address"));
    assert!(r.field_error("name").is_some(), "{}", r.body);
    assert_eq!(r.input_value("email").as_deref(), Some("not-an-email"));
    assert_eq!(r.input_value("name").as_deref(), Some(""));
    let r = c.post("/app/members", &[("email", "x@team"), ("name", "Ravi"), ("role", "TENANT_ADMIN")]).await;
    assert_eq!(r.input_value("name").as_deref(), Some("Ravi"), "the form keeps what was typed");
    assert!(r.body.contains("<option value=\"TENANT_ADMIN\" selected>"), "and the role chosen");
    let r = c.post("/app/members", &[("email", &t.email), ("name", "Me again"), ("role", "TENANT_AGENT")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.field_error("email").as_deref(), Some("is already used by another account"));

    let r = c.post("/app/members", &[("email", "ravi@team.test"), ("name", "Ravi"), ("role", "TENANT_AGENT")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get("/app/members").await;
    page.assert_shows("Invitation sent to ravi@team.test");
    page.assert_shows("ravi@team.test");
    page.assert_shows("invited");
    let (_, password) = common::welcome_password(&tp, "ravi@team.test", 0).await;
    let r = tp.login("ravi@team.test", &password).await;
    assert_eq!(r.json::<Value>().await.unwrap()["user"]["role"], "TENANT_AGENT");
}

#[tokio::test]
async fn role_status_and_removal_and_the_last_admin() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let page = c.get("/app/members").await;
    let me = member_id(&page.body, &t.email);
    let id = member_id(&page.body, &agent.email);

    // The last admin: refused with the reason on the page.
    let r = c.post(&format!("/app/members/{me}/role"), &[("role", "TENANT_AGENT")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    r.assert_shows("A tenant keeps at least one active admin");
    // With console.js: the alert alone, for the page's alert region.
    c.hx = true;
    let r = c.post(&format!("/app/members/{me}/status"), &[("status", "deactivated")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.trim_start().starts_with("<div id=\"members-alert\">"), "{}", r.body);
    r.assert_shows("A tenant keeps at least one active admin");
    c.hx = false;

    let r = c.post(&format!("/app/members/{id}/role"), &[("role", "TENANT_ADMIN")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c.get("/app/members").await.assert_shows(&format!("Member {} is now an admin", agent.email));
    let (_, me_json) = common::get_json(&tp, &agent.token, "/auth/me").await;
    assert_eq!(me_json["error"]["code"], "session_revoked", "the role change signed them out");

    let r = c.post(&format!("/app/members/{id}/status"), &[("status", "deactivated")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/app/members").await;
    page.assert_shows("deactivated");
    assert!(page.body.contains("Reactivate"));
    assert_eq!(tp.login(&agent.email, &agent.password).await.status(), StatusCode::FORBIDDEN);

    // Removal asks first, naming the member.
    let path = format!("/app/members/{id}/remove");
    let r = c.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows(&format!("Remove Member {} ({})?", agent.email, agent.email));
    assert!(c.get("/app/members").await.shows(&agent.email), "not removed before confirming");
    let r = c.post(&path, &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/app/members").await;
    page.assert_shows("removed");
    assert!(!page.body.contains(&format!("<td>{}</td>", agent.email)));
}

#[tokio::test]
async fn another_tenants_member_is_not_found_and_only_admins_get_the_page() {
    let tp = common::start().await;
    let (other, _) = owner(&tp).await;
    let theirs = common::invite_and_activate(&tp, &other.token, "TENANT_AGENT").await;
    let (t, mut c) = owner(&tp).await;
    c.get("/app/members").await;
    for action in ["role", "status"] {
        let r = c
            .post(
                &format!("/app/members/{}/{action}", theirs.id),
                &[("role", "TENANT_ADMIN"), ("status", "deactivated")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    let r = c.post(&format!("/app/members/{}/remove", theirs.id), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(common::get_json(&tp, &theirs.token, "/auth/me").await.0, StatusCode::OK, "untouched");

    let r = c.post_raw("/app/members", &[("email", "x@team.test"), ("name", "X"), ("role", "TENANT_AGENT")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/app/members").await.status, StatusCode::FORBIDDEN);
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let mut a = Console::new(&tp.base);
    a.sign_in(&agent.email, &agent.password).await;
    assert_eq!(a.get("/app/members").await.status, StatusCode::FORBIDDEN);
    // An agent's start page is the inbox.
    assert_eq!(a.get("/").await.location(), Some("/app/inbox"));
    let home = a.get("/app/inbox").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Sign out"), "the account menu is there");
    for admin_page in ["/app/members", "/app/settings", "/app/campaigns", "/app/billing"] {
        assert!(!home.body.contains(&format!("href=\"{admin_page}\"")), "{admin_page} not in an agent's navigation");
    }
}

/// The platform owner sets a plan's seats in the plan form (the domain's rule next to the field).
#[tokio::test]
async fn a_plans_seat_limit_is_set_in_the_plan_form() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    c.get("/app/plans/new").await;
    let mut plan = vec![
        ("name", "Team"),
        ("price", "99.00"),
        ("currency", "INR"),
        ("monthly_message_limit", "1000"),
        ("contact_limit", "100"),
        ("template_limit", "10"),
        ("api_key_limit", "2"),
        ("messages_per_second", "10"),
        ("seat_limit", "0"),
    ];
    let r = c.post("/app/plans", &plan).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("seat_limit").as_deref(), Some("must be at least 1"));
    plan.last_mut().unwrap().1 = "3";
    assert_eq!(c.post("/app/plans", &plan).await.status, StatusCode::SEE_OTHER);
    let admin = tp.admin_token().await;
    let (_, plans) = common::get_json(&tp, &admin, "/plans").await;
    assert_eq!(plans["items"][0]["seat_limit"], 3);
    let id = plans["items"][0]["id"].as_str().unwrap();
    assert_eq!(c.get(&format!("/app/plans/{id}")).await.input_value("seat_limit").as_deref(), Some("3"));
}
