//! Issue 16's journey in a real browser (`infra/browser-tests/console-journey.mjs`): from the
//! platform owner provisioning a tenant to that tenant's first campaign read by its contacts and
//! its first API key, every step through the console's pages, with axe-core on each. Screenshots
//! of the dashboard, the template builder and the campaign's progress land in the scenario's
//! artifacts (`target/tmp/browser-artifacts/console-journey`); the README shows copies of them
//! (`docs/console/*.png`).

use reqwest::StatusCode;

use crate::{browser, common};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_is_provisioned_connects_builds_imports_sends_and_integrates_in_the_console() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    common::create_plan(&tp, &admin).await;
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    browser::run_scenario(
        "console-journey",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OUTBOX_DIR", outbox.to_str().unwrap()),
            ("ADMIN_EMAIL", common::ADMIN_EMAIL),
            ("ADMIN_PASSWORD", common::ADMIN_PASSWORD),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    // What the browser did reached the platform: the owner's own password works, the one-time
    // one does not, and the campaign's messages were read.
    let r = tp.login("asha@acme-dental.test", "a long passphrase of my own").await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let (_, one_time) = common::welcome_password(&tp, "asha@acme-dental.test", 0).await;
    assert_eq!(tp.login("asha@acme-dental.test", &one_time).await.status(), StatusCode::UNAUTHORIZED);
    let campaigns = common::get_ok(&tp, &token, "/campaigns").await;
    let campaign = &campaigns["items"][0];
    assert_eq!(campaign["name"], "Check-up reminders", "{campaigns}");
    assert_eq!(campaign["counts"]["read"], 2, "{campaign}");
    let keys = common::get_ok(&tp, &token, "/api-keys").await;
    assert_eq!(keys["items"][0]["name"], "Booking system", "{keys}");
}
