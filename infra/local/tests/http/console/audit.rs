//! Console: the audit log page (`/app/audit`): a tenant admin sees the tenant's entries (actions
//! made in the console included, and the super admin's on the tenant), the super admin every
//! entry with a tenant filter; filters in the URL with errors next to the fields; newest first
//! with "Load more"; agents refused.

use reqwest::StatusCode;
use serde_json::json;

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The action of each row, in the page's order.
fn actions(body: &str) -> Vec<String> {
    body.split("<td><a href=\"/app/audit?action=")
        .skip(1)
        .filter_map(|rest| rest.split("<code>").nth(1)?.split("</code>").next().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_admin_reads_the_tenants_log_with_its_console_actions_and_filters() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;

    // An action made in the console is recorded like the API's.
    let r = c.post("/app/members", &[("email", "ravi@team.test"), ("name", "Ravi"), ("role", "TENANT_AGENT")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let page = c.get("/app/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/app/audit\""), "in the navigation");
    let shown = actions(&page.body);
    assert_eq!(shown.first().map(String::as_str), Some("member.invited"), "newest first: {shown:?}");
    for a in ["auth.sign_in", "auth.password_changed", "tenant.created"] {
        assert!(shown.iter().any(|s| s == a), "{a} in {shown:?}");
    }
    page.assert_shows("role: — → TENANT_AGENT");
    page.assert_shows("super admin");
    page.assert_shows("127.0.0.1");

    // Filters in the URL, kept in the form.
    let page = c.get("/app/audit?action=member.invited").await;
    assert_eq!(actions(&page.body), ["member.invited"]);
    assert!(page.body.contains("<option value=\"member.invited\" selected>"));
    let page = c.get("/app/audit?action=api_key.revoked").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No entries match");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let page = c.get(&format!("/app/audit?from={today}&to={today}&action=member.invited")).await;
    assert_eq!(actions(&page.body), ["member.invited"], "today, in the tenant's zone (UTC)");
    assert_eq!(page.input_value("from").as_deref(), Some(today.as_str()));

    // Errors next to the fields.
    let page = c.get("/app/audit?from=yesterday").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.field_error("from").as_deref(), Some("Enter a date (year-month-day)."));
    let page = c.get("/app/audit?from=2026-12-07&to=2026-12-01").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.field_error("from").is_some(), "{}", page.body);
    let page = c.get("/app/audit?action=member.hugged").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.field_error("action").is_some());
    let page = c.get("/app/audit?cursor=forged").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn load_more_pages_the_log_and_agents_are_refused() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    for i in 0..55 {
        let zone = if i % 2 == 0 { "Asia/Kolkata" } else { "UTC" };
        let r = tp.http.patch(tp.url("/tenant/settings")).bearer_auth(&t.token).json(&json!({"time_zone": zone}));
        assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    }
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    let page = c.get("/app/audit?action=tenant.settings_changed").await;
    assert_eq!(actions(&page.body).len(), 50);
    let start = page.body.find("<tr class=\"load-more\">").expect("Load more");
    let href = page.body[start..].split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&");
    assert!(href.contains("action=tenant.settings_changed") && href.contains("cursor="), "{href}");
    c.hx = true;
    let more = c.get(&href).await;
    assert_eq!(more.status, StatusCode::OK);
    assert!(!more.body.contains("<html"), "the rows only");
    assert_eq!(actions(&more.body).len(), 5);
    assert!(!more.body.contains("load-more"), "the last page");
    c.hx = false;

    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let mut a = Console::new(&tp.base);
    a.sign_in(&agent.email, &agent.password).await;
    assert_eq!(a.get("/app/audit").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_super_admin_sees_every_tenant_and_filters_by_one() {
    let tp = common::start().await;
    let a = common::provision_and_activate(&tp).await;
    let b = common::provision_and_activate(&tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let page = c.get("/app/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/app/audit\""), "in the navigation");
    page.assert_shows(&a.id);
    page.assert_shows(&b.id);
    assert!(actions(&page.body).iter().any(|s| s == "plan.created"), "the platform's own entries");

    let page = c.get(&format!("/app/audit?tenant_id={}", a.id)).await;
    page.assert_shows(&a.id);
    assert!(!page.shows(&b.id), "another tenant's entries are filtered out");
    assert_eq!(page.input_value("tenant_id").as_deref(), Some(a.id.as_str()));
    let page = c.get("/app/audit?tenant_id=ten_nope").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.field_error("tenant_id").as_deref(), Some("No tenant has this id."));

    // A tenant admin has no tenant filter: their own tenant only.
    let mut t = Console::new(&tp.base);
    t.sign_in(&a.email, &a.password).await;
    let page = t.get(&format!("/app/audit?tenant_id={}", b.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.shows(&b.id) && page.input_value("tenant_id").is_none(), "{}", page.body);
}
