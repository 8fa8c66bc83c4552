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
async fn the_platform_owner_provisions_tops_up_suspends_reactivates_and_resends_the_welcome() {
    let tp = common::start().await;
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    // Something in the quarantine to inspect.
    let broken = "{\"entry\": [<not json>";
    assert_eq!(common::post_signed_webhook(&tp, broken.as_bytes()).await.status(), StatusCode::OK);
    let admin = tp.admin_token().await;
    let (tp_ref, admin_ref) = (&tp, &admin);
    common::until(10, "the body quarantined", || async move {
        let (_, page) = common::get_json(tp_ref, admin_ref, "/admin/webhooks/quarantine").await;
        !page["items"].as_array().unwrap().is_empty()
    })
    .await;
    browser::run_scenario(
        "console-admin",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OUTBOX_DIR", outbox.to_str().unwrap()),
            ("ADMIN_EMAIL", common::ADMIN_EMAIL),
            ("ADMIN_PASSWORD", common::ADMIN_PASSWORD),
            ("QUARANTINED_BODY", broken),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // The first welcome email, and the one the scenario asked for again.
    let (_, first) = common::welcome_password(&tp, "asha@acme.test", 0).await;
    let (_, second) = common::welcome_password(&tp, "asha@acme.test", 1).await;
    assert_ne!(first, second, "a new one-time password");
    let r = tp.login("asha@acme.test", &first).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the first one no longer works");
    let r = tp.login("asha@acme.test", &second).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_imports_contacts_finds_adds_and_deletes_them_and_reads_the_messages_log() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    let body = super::messages::send_template("+1 415 555 0101");
    super::messages::sent(&tp, &t.token, &body, "read").await;
    browser::run_scenario(
        "console-contacts",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OWNER_EMAIL", t.email.as_str()),
            ("OWNER_PASSWORD", t.password.as_str()),
            ("CONTACTS_CSV", super::contacts::MESSY_CSV),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_connects_whatsapp_manages_api_keys_and_the_callback_and_opens_billing() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    browser::run_scenario(
        "console-settings",
        &[("BASE_URL", tp.base.as_str()), ("OWNER_EMAIL", t.email.as_str()), ("OWNER_PASSWORD", t.password.as_str())],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_cancels_signup_then_connects_and_disconnects_whatsapp() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    browser::run_scenario(
        "console-connect",
        &[("BASE_URL", tp.base.as_str()), ("OWNER_EMAIL", t.email.as_str()), ("OWNER_PASSWORD", t.password.as_str())],
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_launches_a_campaign_with_the_wizard_and_watches_it_reach_read() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    for (name, phone, tag) in [
        ("Ana Silva", "+14155500011", "vip"),
        ("Ben Okafor", "+14155500012", "vip"),
        ("Dee Other", "+14155500014", "walk-in"),
    ] {
        super::campaigns::contact(&tp, &t, name, phone, &[tag]).await;
    }
    browser::run_scenario(
        "console-campaigns",
        &[("BASE_URL", tp.base.as_str()), ("OWNER_EMAIL", t.email.as_str()), ("OWNER_PASSWORD", t.password.as_str())],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_invites_an_agent_who_signs_in_then_changes_deactivates_and_removes_them() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    browser::run_scenario(
        "console-members",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OUTBOX_DIR", outbox.to_str().unwrap()),
            ("OWNER_EMAIL", t.email.as_str()),
            ("OWNER_PASSWORD", t.password.as_str()),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_reads_well_in_light_and_dark() {
    let tp = common::start().await;
    // A connected tenant with contacts and a campaign, so pages show rows, not only empty states.
    let (t, _) = common::ready_to_send(&tp).await;
    for (name, phone) in [("Ana Silva", "+14155500011"), ("Ben Okafor", "+14155500012")] {
        super::campaigns::contact(&tp, &t, name, phone, &["vip"]).await;
    }
    let body = serde_json::json!({"shortcut": "hours", "text": "We are open 9 to 6, {{contact.name}}."});
    let r = common::post(&tp, &t.token, "/canned-replies", &body).await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let canned = format!("/app/canned/{}", r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap());
    browser::run_scenario(
        "console-tour",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("CANNED_REPLY_PATH", canned.as_str()),
            ("OWNER_EMAIL", t.email.as_str()),
            ("OWNER_PASSWORD", t.password.as_str()),
            ("ADMIN_EMAIL", common::ADMIN_EMAIL),
            ("ADMIN_PASSWORD", common::ADMIN_PASSWORD),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_answers_a_customer_live_with_a_canned_reply_then_a_template_after_the_window() {
    use miping::domain::inbox::{self, ConversationStatus, ListFilter, Scope};
    use miping::ports::table::Update;

    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let r = common::post(
        &tp,
        &t.token,
        "/canned-replies",
        &json!({"shortcut": "fees", "text": "Hi {{contact.name}}, the fee can be paid until Friday."}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    let sim = common::simulator(&tp).base_url();
    // 24 hours pass for the conversation once the agent has resolved it: its customer's last
    // message is then 25 hours old, as a day of silence would leave it.
    let (ports, tenant) = (tp.ports().clone(), t.id.clone());
    let age = tokio::spawn(async move {
        let resolved = ListFilter { status: Some(ConversationStatus::Resolved), ..ListFilter::default() };
        loop {
            let (found, _) = inbox::list(&ports, &tenant, &resolved, &Scope::All, 10, None).await.unwrap();
            if let Some(c) = found.first() {
                let long_ago = chrono::Utc::now() - chrono::Duration::hours(25);
                let aged = Update::new()
                    .set("last_inbound_at", long_ago.to_rfc3339())
                    .set("last_inbound_ms", long_ago.timestamp_millis());
                ports.table.update(&inbox::conversation_key(&tenant, &c.conversation.id), aged, None).await.unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    let result = browser::run_scenario(
        "console-inbox",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OUTBOX_DIR", outbox.to_str().unwrap()),
            ("OWNER_EMAIL", t.email.as_str()),
            ("OWNER_PASSWORD", t.password.as_str()),
            ("SIM_URL", sim.as_str()),
            ("PHONE_NUMBER_ID", connection["phone_number_id"].as_str().unwrap()),
            ("CUSTOMER", "14155550777"),
        ],
    )
    .await;
    age.abort();
    result.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_a_campaign_report_show_the_numbers_the_api_gives() {
    let tp = common::start().await;
    let t = common::sending::ready(&tp, 1000).await;
    let campaign = crate::campaign_reports::finished_campaign(&tp, &t).await;
    browser::run_scenario(
        "console-analytics",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OWNER_EMAIL", t.email.as_str()),
            ("OWNER_PASSWORD", t.password.as_str()),
            ("TOKEN", t.token.as_str()),
            ("CAMPAIGN_ID", campaign.as_str()),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_a_customers_photo_and_replies_with_a_pdf() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let sim = common::simulator(&tp).base_url();
    browser::run_scenario(
        "console-media",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("AGENT_EMAIL", agent.email.as_str()),
            ("AGENT_PASSWORD", agent.password.as_str()),
            ("SIM_URL", sim.as_str()),
            ("PHONE_NUMBER_ID", connection["phone_number_id"].as_str().unwrap()),
            ("CUSTOMER", "14155550888"),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Issue 18's console part: an image-header template built with its sample, a campaign with an
/// uploaded image, and a document-header template reply in the inbox (console-media-headers.mjs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_builds_an_image_template_sends_it_with_a_photo_and_replies_with_an_invoice() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let invoice = "Hi {{1}}, your invoice {{2}} is attached.";
    super::media_headers::media_template(&tp, &t, "invoice_pdf", "DOCUMENT", invoice).await;
    let customer = "14155550877";
    let conversation = super::media_headers::closed_conversation(&tp, &t, &connection, customer).await;
    let sim = common::simulator(&tp).base_url();
    browser::run_scenario(
        "console-media-headers",
        &[
            ("BASE_URL", tp.base.as_str()),
            ("OWNER_EMAIL", t.email.as_str()),
            ("OWNER_PASSWORD", t.password.as_str()),
            ("SIM_URL", sim.as_str()),
            ("CUSTOMER", customer),
            ("CONVERSATION", conversation.as_str()),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}
