//! Console: the campaigns pages (handler tests; browser scenarios in scenarios.rs).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Console, Page};
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, ActiveTenant, TestPlatform};

/// A contact through the API; returns its id.
pub async fn contact(tp: &TestPlatform, t: &ActiveTenant, name: &str, phone: &str, tags: &[&str]) -> String {
    let r = common::post(tp, &t.token, "/contacts", &json!({"name": name, "phone": phone, "tags": tags})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn opt_out(tp: &TestPlatform, t: &ActiveTenant, id: &str) {
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{id}")))
        .bearer_auth(&t.token)
        .json(&json!({"opted_out": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn owner(tp: &TestPlatform, t: &ActiveTenant) -> Console {
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    c
}

/// The wizard's fields for `order_update` ("Hi {{1}}, your order {{2}} ships today.") to the tag
/// `vip`, {{1}} = the contact's name, {{2}} = `order`.
fn wizard<'a>(name: &'a str, order: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("template", "order_update|en_US"),
        ("audience", "tags"),
        ("tags", "vip"),
        ("var_kind_1", "name"),
        ("var_value_1", ""),
        ("var_kind_2", "literal"),
        ("var_value_2", order),
        ("when", "now"),
        ("schedule_at", ""),
    ]
}

fn campaign_id(location: &str) -> String {
    location.strip_prefix("/app/campaigns/").expect("the campaign's page").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_counts_the_audience_previews_the_first_message_and_the_campaign_reaches_read() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    let mut c = owner(&tp, &t).await;

    let page = c.get("/app/campaigns").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No campaigns yet");

    contact(&tp, &t, "Ana Silva", "+14155500011", &["vip"]).await;
    contact(&tp, &t, "Ben Okafor", "+14155500012", &["vip"]).await;
    let out = contact(&tp, &t, "Cy Opted", "+14155500013", &["vip"]).await;
    opt_out(&tp, &t, &out).await;
    contact(&tp, &t, "Dee Other", "+14155500014", &["walk-in"]).await;
    // The simulator fails numbers ending 0000 with 131026.
    contact(&tp, &t, "Fay Fails", "+14155510000", &["vip"]).await;

    let page = c.get("/app/campaigns/new").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("order_update (en_US)");
    assert!(page.body.contains("name=\"tags\" value=\"vip\""), "the tags in use are offered");
    assert!(page.body.contains("name=\"tags\" value=\"walk-in\""));

    // console.js asks for the live part as the person chooses.
    c.hx = true;
    let live = c.post("/app/campaigns/new/estimate", &wizard("", "A-7")).await;
    c.hx = false;
    assert_eq!(live.status, StatusCode::OK);
    assert!(!live.body.contains("<html"), "a fragment");
    assert!(live.body.contains("<strong>3</strong> recipients · 1 opted out"), "{}", live.body);
    assert!(
        live.body.contains("Hi <span class=\"wa-var\">Ana Silva</span>, your order <span class=\"wa-var\">A-7</span>")
    );
    live.assert_shows("Quota left this month: ");
    assert!(live.body.contains("id=\"var-kind-2\""), "one field per variable of the template");

    // Without JavaScript the "Update" button shows the same count on the whole page.
    let mut update = wizard("", "A-7");
    update.push(("step", "preview"));
    let page = c.post("/app/campaigns/new", &update).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<strong>3</strong> recipients · 1 opted out"));

    // The domain's errors next to their fields, the values kept.
    let page = c.post("/app/campaigns/new", &wizard("", "A-7")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.field_error("name").as_deref(), Some("1 to 128 characters"));
    assert_eq!(page.input_value("var_value_2").as_deref(), Some("A-7"));
    let mut bad = wizard("Launch", "A-7");
    bad[6] = ("var_kind_2", "attribute");
    bad[7] = ("var_value_2", "no spaces allowed");
    let page = c.post("/app/campaigns/new", &bad).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.field_error("variables").unwrap().contains("is not a contact field"), "{}", page.body);

    let done = c.post("/app/campaigns/new", &wizard("Spring orders", "A-7")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location().unwrap().to_owned();
    let id = campaign_id(&location);
    let page = c.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("Spring orders");
    page.assert_shows("Campaign started");
    assert!(page.body.contains(&format!("href=\"/app/messages?campaign_id={id}\"")));

    // The polled fragment, until every message is read; then it stops polling.
    let progress: Page = common::eventually(30, "the campaign is read by everyone", || {
        let mut probe = Console { hx: true, ..Console::new(&tp.base) };
        probe.cookies = c.cookies.clone();
        let path = format!("/app/campaigns/{id}/progress");
        async move {
            let p = probe.get(&path).await;
            assert_eq!(p.status, StatusCode::OK);
            (p.body.contains("data-stage=\"Read\">2<") && p.body.contains("data-stage=\"Failed\">1<")).then_some(p)
        }
    })
    .await;
    assert!(!progress.body.contains("<html"));
    assert!(progress.body.contains("data-stage=\"Skipped (opted out)\">1<"));
    // Failures by Meta's code, from the counters; 131026 is final: no retry button.
    assert!(progress.body.contains("<td class=\"num\">131026</td>"), "{}", progress.body);
    progress.assert_shows("Message undeliverable");
    assert!(!progress.body.contains("Retry failed"));
    assert!(!progress.body.contains("data-hx-trigger"), "a settled campaign is not polled: {}", progress.body);

    // The export: every recipient with a message, as CSV, with the session cookie.
    let csv = c.get(&format!("/app/campaigns/{id}/recipients.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 1 + 3, "{}", csv.body);
    assert!(csv.body.contains(",failed,131026,"));
    c.get(&format!("/app/campaigns/{id}")).await.assert_shows("Export recipients (CSV)");

    let page = c.get("/app/campaigns").await;
    page.assert_shows("Spring orders");
    assert!(page.body.contains("badge--completed"));
    let page = c.get("/").await;
    page.assert_shows("Spring orders");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_roles_foreign_ids_csrf_and_a_confirmed_cancel() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    contact(&tp, &t, "Ana Silva", "+14155500011", &["vip"]).await;
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let r = common::post(
        &tp,
        &t.token,
        "/campaigns",
        &json!({"name": "Next week", "template": {"name": "order_update", "language": "en_US"},
            "audience": {"all": true}, "variables": ["{{contact.name}}", "A-1"], "schedule_at": later}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // The platform owner has no campaigns pages.
    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/app/campaigns").await.status, StatusCode::FORBIDDEN);

    // Another tenant never sees this campaign.
    let other = common::provision_and_activate(&tp).await;
    let mut stranger = owner(&tp, &other).await;
    stranger.get("/app/campaigns").await.assert_shows("No campaigns yet");
    let page = stranger.get(&format!("/app/campaigns/{id}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(stranger.get(&format!("/app/campaigns/{id}/progress")).await.status, StatusCode::NOT_FOUND);
    let page = stranger.post(&format!("/app/campaigns/{id}/cancel"), &[("confirmed", "1")]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    let mut c = owner(&tp, &t).await;
    let page = c.get(&format!("/app/campaigns/{id}")).await;
    assert!(page.body.contains("badge--scheduled"));
    assert!(page.body.contains("data-hx-trigger=\"every 2s\""), "a scheduled campaign is live");
    page.assert_shows("Cancel the campaign “Next week”?");

    let r = c.post_raw("/app/campaigns/new", &wizard("No token", "A-1")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_shows("This form has expired");

    // Without JavaScript the cancel asks first, naming the campaign.
    let page = c.post(&format!("/app/campaigns/{id}/cancel"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("Cancel the campaign “Next week”? Messages not sent yet will not be sent.");
    let (_, v) = common::get_json(&tp, &t.token, &format!("/campaigns/{id}")).await;
    assert_eq!(v["status"], "scheduled", "nothing happens before the confirmation");
    let done = c.post(&format!("/app/campaigns/{id}/cancel"), &[("confirmed", "1")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), Some(format!("/app/campaigns/{id}").as_str()));
    let (_, v) = common::get_json(&tp, &t.token, &format!("/campaigns/{id}")).await;
    assert_eq!(v["status"], "cancelled");
    let page = c.get(&format!("/app/campaigns/{id}")).await;
    page.assert_shows("Campaign “Next week” cancelled");
    assert!(!page.body.contains("Cancel campaign"), "a cancelled campaign cannot be cancelled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_is_typed_and_shown_in_the_tenants_time_zone() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    contact(&tp, &t, "Ana Silva", "+14155500011", &["vip"]).await;
    let r = tp
        .http
        .patch(tp.url("/tenant/settings"))
        .bearer_auth(&t.token)
        .json(&json!({"time_zone": "Asia/Kolkata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut c = owner(&tp, &t).await;
    c.get("/app/campaigns/new").await.assert_shows("Send at (Asia/Kolkata time)");

    // 10:00 in Kolkata (+05:30) is 04:30 UTC.
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let local = format!("{day}T10:00");
    let mut fields = wizard("Morning reminder", "A-1");
    fields[8] = ("when", "later");
    fields[9] = ("schedule_at", &local);
    let done = c.post("/app/campaigns/new", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location().unwrap().to_owned();
    let (_, v) = common::get_json(&tp, &t.token, &format!("/campaigns/{}", campaign_id(&location))).await;
    let at = chrono::DateTime::parse_from_rfc3339(v["schedule_at"].as_str().unwrap()).unwrap();
    assert_eq!(at.to_utc().format("%Y-%m-%dT%H:%M").to_string(), format!("{day}T04:30"), "{v}");
    let page = c.get(&location).await;
    assert!(page.body.contains(", 10:00 IST</time>"), "shown back in Kolkata time:\n{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_failed_is_offered_for_retryable_failures_confirmed_and_lands_on_the_retry() {
    let tp = common::start().await;
    let t = common::sending::ready(&tp, 1000).await;
    let people = common::sending::contacts(&tp, &t, 0..2).await;
    let mut body = common::sending::campaign(json!({"all": true}));
    body["schedule_at"] = json!((chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339());
    let id = common::sending::create(&tp, &t, &body).await["id"].as_str().unwrap().to_owned();
    for (p, code) in people.iter().zip([131026, 131048]) {
        common::sending::campaign_message_failed(&tp, &t, &id, &p.id, p.phone.as_deref().unwrap(), code).await;
    }
    let mut c = owner(&tp, &t).await;
    let page = c.get(&format!("/app/campaigns/{id}")).await;
    assert!(page.body.contains("<td class=\"num\">131048</td>"));
    page.assert_shows("can be retried");
    page.assert_shows("Retry failed");

    // Another tenant: 404; without JavaScript it asks first.
    let other = common::provision_and_activate(&tp).await;
    let mut stranger = owner(&tp, &other).await;
    let refused = stranger.post(&format!("/app/campaigns/{id}/retry-failed"), &[("confirmed", "1")]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(stranger.get(&format!("/app/campaigns/{id}/recipients.csv")).await.status, StatusCode::NOT_FOUND);
    let ask = c.post(&format!("/app/campaigns/{id}/retry-failed"), &[]).await;
    assert_eq!(ask.status, StatusCode::OK);
    ask.assert_shows("for a reason a retry can fix");
    let done = c.post(&format!("/app/campaigns/{id}/retry-failed"), &[("confirmed", "1")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let to = done.location().unwrap().to_owned();
    assert!(to.starts_with("/app/campaigns/cmp_") && !to.ends_with(&id), "{to}");
    c.get(&to).await.assert_shows("Launch (retry)");
    // Once only: the second time says why.
    let again = c.post(&format!("/app/campaigns/{id}/retry-failed"), &[("confirmed", "1")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    c.get(&format!("/app/campaigns/{id}")).await.assert_shows("retried by");
}
