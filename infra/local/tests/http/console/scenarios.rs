//! The console in headless Chromium (infra/browser-tests/console-*.mjs), against the real local
//! platform.

use reqwest::StatusCode;
use serde_json::json;

use crate::{browser, common};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_signs_in_changes_the_password_signs_out_and_resets_it() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    let plan_id = common::create_plan(&tp, &admin).await;
    let r = common::post(
        &tp,
        &admin,
        "/admin/tenants",
        &json!({"name": "Acme Dental", "slug": "acme",
        "admin_email": "owner@acme.test", "admin_name": "Owner Rao", "plan_id": plan_id}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    browser::run_scenario(
        "console-auth",
        &[("BASE_URL", tp.base.as_str()), ("OUTBOX_DIR", outbox.to_str().unwrap()), ("OWNER_EMAIL", "owner@acme.test")],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_launches_a_campaign_with_the_wizard_and_watches_it_reach_read() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    for (name, phone, tag) in
        [("Ana Silva", "+14155500011", "vip"), ("Ben Okafor", "+14155500012", "vip"), ("Dee Other", "+14155500014", "walk-in")]
    {
        super::campaigns::contact(&tp, &t, name, phone, &[tag]).await;
    }
    browser::run_scenario(
        "console-campaigns",
        &[("BASE_URL", tp.base.as_str()), ("OWNER_EMAIL", t.email.as_str()), ("OWNER_PASSWORD", t.password.as_str())],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}
