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
async fn an_owner_builds_templates_with_the_live_preview_and_sees_meta_review_them() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    common::connect_new(&tp, &t).await;
    browser::run_scenario(
        "console-templates",
        &[("BASE_URL", tp.base.as_str()), ("EMAIL", t.email.as_str()), ("PASSWORD", t.password.as_str())],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}
