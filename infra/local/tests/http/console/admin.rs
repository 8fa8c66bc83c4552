//! Console: the platform owner's pages (tenants, plans, library templates, webhook quarantine).
//! Handler tests; the browser scenario is in scenarios.rs.

use reqwest::StatusCode;

use secrecy::ExposeSecret;

use super::{Console, Page, with};
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn super_admin(tp: &common::TestPlatform) -> Console {
    let mut c = Console::new(&tp.base);
    c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    c
}

/// Follows a 303 (a no-JS browser after a form) and returns the page it leads to.
async fn follow(c: &mut Console, r: Page) -> Page {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "expected a redirect: {}", r.body);
    let to = r.location().unwrap().to_owned();
    c.get(&to).await
}

const PLAN: &[(&str, &str)] = &[
    ("name", "Growth"),
    ("price", "1499.00"),
    ("currency", "INR"),
    ("monthly_message_limit", "10000"),
    ("contact_limit", "5000"),
    ("template_limit", "50"),
    ("api_key_limit", "5"),
    ("messages_per_second", "80"),
];

#[tokio::test]
async fn each_page_starts_empty_saying_what_to_do_and_the_start_page_is_the_tenants() {
    let tp = common::start().await;
    let mut c = super_admin(&tp).await;
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/app/tenants"));
    for (path, empty, action) in [
        ("/app/tenants", "No tenants yet", "New tenant"),
        ("/app/plans", "No plans yet", "New plan"),
        ("/app/library", "The library is empty", "New library template"),
        ("/app/quarantine", "Nothing quarantined", "Webhook quarantine"),
    ] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        page.assert_shows(empty);
        page.assert_shows(action);
        assert!(page.body.contains(&format!("href=\"{path}\" aria-current=\"page\"")), "{path}: the nav marks it");
    }
    let new = c.get("/app/tenants/new").await;
    new.assert_shows("There is no plan yet.");
}

#[tokio::test]
async fn a_tenant_admin_gets_403_pages_and_unknown_ids_are_404_pages() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    for path in [
        "/app/tenants",
        "/app/tenants/new",
        &format!("/app/tenants/{}", t.id),
        "/app/plans",
        "/app/library",
        "/app/quarantine",
    ] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        page.assert_shows("Your role cannot open this page");
    }
    let r = c.post(&format!("/app/tenants/{}/credits", t.id), &[("amount", "100")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_shows("Your role cannot open this page");

    let mut admin = super_admin(&tp).await;
    for path in ["/app/tenants/ten_nope", "/app/plans/plan_nope"] {
        let page = admin.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        page.assert_shows("Page not found");
    }
    let r = admin.post("/app/tenants/ten_nope/suspend", &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = admin.get("/app/tenants?cursor=forged").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn plans_are_created_edited_and_deleted_with_the_domains_errors_next_to_the_fields() {
    let tp = common::start().await;
    let mut c = super_admin(&tp).await;
    c.get("/app/plans/new").await;

    // CSRF: a form without its token is refused.
    let r = c.post_raw("/app/plans", PLAN).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut bad = with(PLAN, "messages_per_second", "5000");
    bad = with(&bad, "currency", "inr");
    bad = with(&bad, "contact_limit", "lots");
    let r = c.post("/app/plans", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("contact_limit").as_deref(), Some("must be a whole number"));
    let r = c.post("/app/plans", &with(&bad, "contact_limit", "5000")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("messages_per_second").as_deref(), Some("must be between 1 and 1000"));
    assert_eq!(r.field_error("currency").as_deref(), Some("must be an ISO 4217 code in upper case, e.g. INR"));
    assert_eq!(r.field_error("name"), None);
    assert_eq!(r.input_value("name").as_deref(), Some("Growth"), "the form keeps what was typed");
    let r = c.post("/app/plans", &with(PLAN, "price", "")).await;
    assert_eq!(r.field_error("price").as_deref(), Some("is required"));

    // With console.js: the form alone comes back.
    c.hx = true;
    let r = c.post("/app/plans", &with(PLAN, "price", "-1")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.trim_start().starts_with("<form"), "{}", r.body);
    assert_eq!(r.field_error("price").as_deref(), Some("must not be negative"));
    c.hx = false;

    let list = post_follow(&mut c, "/app/plans", PLAN).await;
    list.assert_shows("Plan Growth created");
    list.assert_shows("1499.00 INR");
    list.assert_shows("10,000");
    let admin = tp.admin_token().await;
    let (_, plans) = common::get_json(&tp, &admin, "/plans").await;
    let id = plans["items"][0]["id"].as_str().unwrap().to_owned();

    let edit = c.get(&format!("/app/plans/{id}")).await;
    assert_eq!(edit.input_value("monthly_message_limit").as_deref(), Some("10000"));
    let r = c.post(&format!("/app/plans/{id}"), &with(PLAN, "template_limit", "-3")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("template_limit").as_deref(), Some("must not be negative"));
    let saved = post_follow(&mut c, &format!("/app/plans/{id}"), &with(PLAN, "name", "Growth 2027")).await;
    saved.assert_shows("Plan Growth 2027 saved");
    let (_, plan) = common::get_json(&tp, &admin, &format!("/plans/{id}")).await;
    assert_eq!(plan["name"], "Growth 2027");

    // In use: refused, as an alert.
    let r = common::post(
        &tp,
        &admin,
        "/admin/tenants",
        &serde_json::json!({"name": "Acme", "slug": "acme", "admin_email": "a@acme.test", "admin_name": "A", "plan_id": id}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c.post(&format!("/app/plans/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "without JavaScript: a confirmation page first");
    r.assert_shows("Delete the plan “Growth 2027”?");
    let r = c.post(&format!("/app/plans/{id}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("class=\"alert alert--danger\" role=\"alert\""), "{}", r.body);
    r.assert_shows("Tenants are on this plan; move them to another plan first.");
    // With console.js: only the alert, swapped next to the delete button.
    c.hx = true;
    let r = c.post(&format!("/app/plans/{id}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.starts_with("<div class=\"alert alert--danger\" role=\"alert\">"), "{}", r.body);
    c.hx = false;

    let other = common::create_plan(&tp, &admin).await;
    let gone = post_follow(&mut c, &format!("/app/plans/{other}/delete"), &[("confirmed", "1")]).await;
    gone.assert_shows("Plan Starter deleted");
    assert_eq!(c.get(&format!("/app/plans/{other}")).await.status, StatusCode::NOT_FOUND);
}

/// Posts a form that must succeed and returns the page it redirects to.
async fn post_follow(c: &mut Console, path: &str, fields: &[(&str, &str)]) -> Page {
    let r = c.post(path, fields).await;
    follow(c, r).await
}

const TENANT: &[(&str, &str)] = &[
    ("name", "Acme Dental"),
    ("slug", "acme-dental"),
    ("admin_email", "asha@acme.test"),
    ("admin_name", "Asha Rao"),
    ("starts_at", ""),
    ("ends_at", ""),
];

#[tokio::test]
async fn a_tenant_is_provisioned_topped_up_suspended_reactivated_and_its_welcome_resent() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    let plan_id = common::create_plan(&tp, &admin).await;
    let mut c = super_admin(&tp).await;
    let form = c.get("/app/tenants/new").await;
    form.assert_shows("Starter");

    let mut fields: Vec<(&str, &str)> = with(TENANT, "slug", "Acme Dental!");
    fields = with(&fields, "admin_email", "not an email");
    fields = with(&fields, "ends_at", "someday");
    fields.push(("plan_id", &plan_id));
    let r = c.post("/app/tenants", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("ends_at").as_deref(), Some("must be a date (YYYY-MM-DD)"));
    let fields = with(&fields, "ends_at", "");
    let r = c.post("/app/tenants", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("slug").unwrap().starts_with("must be 3 to 40 lower-case letters"), "{}", r.body);
    assert_eq!(r.field_error("admin_email").as_deref(), Some("is not an email address"));
    assert_eq!(r.input_value("name").as_deref(), Some("Acme Dental"));
    assert!(r.body.contains(&format!("<option value=\"{plan_id}\" selected>")), "the plan stays chosen");

    let mut fields: Vec<(&str, &str)> = TENANT.to_vec();
    fields.push(("plan_id", &plan_id));
    let r = c.post("/app/tenants", &fields).await;
    let location = r.location().unwrap().to_owned();
    let id = location.strip_prefix("/app/tenants/").unwrap().to_owned();
    let page = follow(&mut c, r).await;
    page.assert_shows("Welcome email sent to asha@acme.test");
    page.assert_shows("Acme Dental");
    page.assert_shows("0.00 INR");
    page.assert_shows("No ledger entries yet");
    common::welcome_password(&tp, "asha@acme.test", 0).await;

    // The same slug, then the same email: said next to the field.
    let r = c.post("/app/tenants", &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.field_error("slug").as_deref(), Some("a tenant with this slug already exists"));
    let r = c.post("/app/tenants", &with(&fields, "slug", "acme-2")).await;
    assert_eq!(r.field_error("admin_email").as_deref(), Some("a user with this email already exists"));
    let list = c.get("/app/tenants").await;
    list.assert_shows("acme-dental");
    list.assert_shows("Starter");

    // Credits.
    let r = c.post(&format!("/app/tenants/{id}/credits"), &[("amount", "-5"), ("description", "oops")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A correction may not take the (empty) balance below zero: refused next to the amount.
    assert_eq!(
        r.field_error("amount").as_deref(),
        Some("this would take the balance below zero; the most you can remove is 0.00")
    );
    assert_eq!(r.input_value("description").as_deref(), Some("oops"));
    let page = post_follow(
        &mut c,
        &format!("/app/tenants/{id}/credits"),
        &[("amount", "250.5"), ("description", "Invoice 118")],
    )
    .await;
    page.assert_shows("Added 250.50 credits");
    page.assert_shows("250.50 INR");
    page.assert_shows("Invoice 118");
    let (_, balance) = common::get_json(&tp, &admin, &format!("/admin/tenants/{id}/ledger")).await;
    assert_eq!(balance["items"][0]["balance_after"], "250.50");

    // Plan and end date: the domain's rule, next to the field.
    let r =
        c.post(&format!("/app/tenants/{id}/subscription"), &[("plan_id", &plan_id), ("ends_at", "2001-01-01")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("ends_at").as_deref(), Some("must be after starts_at"));
    let page = post_follow(
        &mut c,
        &format!("/app/tenants/{id}/subscription"),
        &[("plan_id", &plan_id), ("ends_at", "2099-03-01")],
    )
    .await;
    page.assert_shows("Subscription updated");
    page.assert_shows("1 Mar 2099");

    // Suspension: confirmed first, naming the tenant.
    let r = c.post(&format!("/app/tenants/{id}/suspend"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("Suspend Acme Dental?");
    let (_, t) = common::get_json(&tp, &admin, &format!("/admin/tenants/{id}")).await;
    assert_eq!(t["status"], "active", "nothing happened before confirming");
    let page = post_follow(&mut c, &format!("/app/tenants/{id}/suspend"), &[("confirmed", "1")]).await;
    page.assert_shows("Acme Dental suspended");
    assert!(page.body.contains("<span class=\"badge badge--suspended\">suspended</span>"));
    let page = post_follow(&mut c, &format!("/app/tenants/{id}/reactivate"), &[]).await;
    page.assert_shows("Acme Dental reactivated");
    assert!(page.body.contains("<span class=\"badge badge--active\">active</span>"));

    // console.js: 204 + HX-Location, the toast as the flash.
    c.hx = true;
    let r = c.post(&format!("/app/tenants/{id}/resend-welcome"), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("hx-location"), Some(location.as_str()));
    c.hx = false;
    c.get(&location).await.assert_shows("Welcome email sent to asha@acme.test");
    let (_, second) = common::welcome_password(&tp, "asha@acme.test", 1).await;
    Console::new(&tp.base).sign_in("asha@acme.test", &second).await;
}

#[tokio::test]
async fn library_templates_are_added_with_errors_next_to_the_body_and_its_examples() {
    let tp = common::start().await;
    let mut c = super_admin(&tp).await;
    let form = c.get("/app/library/new").await;
    assert_eq!(form.input_value("language").as_deref(), Some("en_US"));
    let base = [("name", "order_update"), ("language", "en_US"), ("category", "UTILITY")];
    let mut fields = base.to_vec();
    fields.extend([("body", "Hi {{1}}, order {{2}} is on its way."), ("examples", "Asha")]);
    let r = c.post("/app/library", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("examples").is_some(), "{}", r.body);
    assert_eq!(r.input_value("name").as_deref(), Some("order_update"));
    let mut fields = base.to_vec();
    fields.extend([("body", ""), ("examples", "")]);
    let r = c.post("/app/library", &fields).await;
    assert!(r.field_error("body").is_some(), "{}", r.body);

    let mut fields = base.to_vec();
    fields.extend([("body", "Hi {{1}}, order {{2}} is on its way."), ("examples", "Asha\nA-1001")]);
    let list = post_follow(&mut c, "/app/library", &fields).await;
    list.assert_shows("Library template order_update added");
    list.assert_shows("Hi {{1}}, order {{2}} is on its way.");
    let r = c.post("/app/library", &fields).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    r.assert_shows("The library already has order_update in en_US.");
    let admin = tp.admin_token().await;
    let (_, lib) = common::get_json(&tp, &admin, "/admin/templates").await;
    assert_eq!(lib["items"][0]["components"][0]["example"]["body_text"][0][1], "A-1001");
}

#[tokio::test]
async fn the_tenants_list_is_newest_first() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    let plan_id = common::create_plan(&tp, &admin).await;
    for slug in ["first-co", "second-co"] {
        let body = serde_json::json!({"name": slug, "slug": slug, "admin_email": format!("a@{slug}.test"),
            "admin_name": "A", "plan_id": plan_id});
        assert_eq!(common::post(&tp, &admin, "/admin/tenants", &body).await.status(), StatusCode::CREATED);
    }
    let mut c = super_admin(&tp).await;
    let list = c.get("/app/tenants").await;
    let (first, second) = (list.body.find("first-co").unwrap(), list.body.find("second-co").unwrap());
    assert!(second < first, "newest first:\n{}", list.body);
    // The API keeps its order (oldest first).
    let (_, api) = common::get_json(&tp, &admin, "/admin/tenants").await;
    assert_eq!(api["items"][0]["slug"], "first-co");
}

/// A webhook body nobody can read, quarantined as `malformed`.
async fn quarantine_malformed(tp: &common::TestPlatform, body: &str) {
    assert_eq!(common::post_signed_webhook(tp, body.as_bytes()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn quarantined_webhooks_are_listed_newest_first_and_inspected_by_the_super_admin_only() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let mut c = super_admin(&tp).await;
    // An inbound message for a number nobody connected (unrouted), then 25 malformed bodies.
    let fixture =
        std::fs::read_to_string(miping::testkit::fixtures_dir("meta-webhooks").join("inbound_text.json")).unwrap();
    assert_eq!(common::post_signed_webhook(&tp, fixture.as_bytes()).await.status(), StatusCode::OK);
    let admin = tp.admin_token().await;
    let (tp_ref, admin_ref) = (&tp, &admin);
    let quarantined = |n: usize| async move {
        let (_, page) = common::get_json(tp_ref, admin_ref, "/admin/webhooks/quarantine?limit=100").await;
        page["items"].as_array().unwrap().len() == n
    };
    common::until(10, "the unrouted webhook quarantined", || quarantined(1)).await;
    for i in 0..25 {
        quarantine_malformed(&tp, &format!("{{\"<b>broken</b>\": {i}")).await;
    }
    common::until(20, "26 quarantined webhooks", || quarantined(26)).await;

    let list = c.get("/app/quarantine").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.shows("Nothing quarantined"));
    list.assert_shows("malformed");
    assert!(!list.shows("unrouted"), "25 a page, newest first: the oldest is on the next one");
    let at = list.body.find("/app/quarantine?cursor=").expect("Load more");
    let href = list.body[at..at + list.body[at..].find('"').unwrap()].to_owned();
    c.hx = true;
    let more = c.get(&href).await;
    c.hx = false;
    assert!(!more.body.contains("<html"), "rows only:\n{}", more.body);
    more.assert_shows("unrouted");
    more.assert_shows("phone number");
    assert!(!more.body.contains("Load more"), "the last page");

    // The unrouted one: why, and the event as received.
    let at = more.body.find("/app/quarantine/wq_").unwrap() + "/app/quarantine/".len();
    let id = more.body[at..at + more.body[at..].find('"').unwrap()].to_owned();
    let page = c.get(&format!("/app/quarantine/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No tenant has this phone number or WhatsApp account.");
    let sent: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    let wamid = sent["entry"][0]["changes"][0]["value"]["messages"][0]["id"].as_str().unwrap();
    page.assert_shows(wamid);
    assert!(page.body.contains("UTC</time>"), "the platform's pages are in UTC");
    // A malformed body: as it came, escaped.
    let (_, newest) = common::get_json(&tp, &admin, "/admin/webhooks/quarantine?limit=1").await;
    let page = c.get(&format!("/app/quarantine/{}", newest["items"][0]["id"].as_str().unwrap())).await;
    page.assert_shows("{\"<b>broken</b>\": ");
    assert!(!page.body.contains("<b>broken</b>"), "escaped");
    let secret = tp.platform.as_ref().unwrap().state.config.meta.app_secret.expose_secret().to_owned();
    assert!(!page.body.contains(&secret));

    for path in ["/app/quarantine/wq_bm9wZQ", "/app/quarantine/nonsense"] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        r.assert_shows("Page not found");
    }
    let mut owner = Console::new(&tp.base);
    owner.sign_in(&t.email, &t.password).await;
    let r = owner.get(&format!("/app/quarantine/{id}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains(wamid));
}
