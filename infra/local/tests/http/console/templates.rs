//! Console: the templates pages (handler tests; browser scenarios in scenarios.rs).

use reqwest::StatusCode;

use super::{Console, Page};
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, ActiveTenant, TestPlatform};

/// A connected tenant (templates need a WABA) and its owner signed in to the console.
async fn signed_in_owner(tp: &TestPlatform) -> (ActiveTenant, Console) {
    let t = common::provision_and_activate(tp).await;
    common::connect_new(tp, &t).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    (t, c)
}

const GOOD: &[(&str, &str)] = &[
    ("language", "en"),
    ("category", "UTILITY"),
    ("header", "Order {{1}}"),
    ("header_example", "A-17"),
    ("body", "Hi {{1}}, your order {{2}} ships today."),
    ("example_1", "Asha"),
    ("example_2", "A-17"),
    ("footer", "Acme Dental"),
    ("button_1_type", "QUICK_REPLY"),
    ("button_1_text", "Thanks"),
];

fn with_name<'a>(name: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("name", name)];
    all.extend_from_slice(fields);
    all
}

/// The template's id from the list's row for `name`.
fn row_id(list: &Page, name: &str) -> String {
    let at = list.body.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("no row for {name}: {}", list.body));
    let href = list.body[..at].rfind("/app/templates/").unwrap() + "/app/templates/".len();
    list.body[href..].split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_empty_list_says_what_to_do_and_only_a_tenant_admin_sees_it() {
    let tp = common::start().await;
    let (_, mut c) = signed_in_owner(&tp).await;
    let list = c.get("/app/templates").await;
    assert_eq!(list.status, StatusCode::OK);
    list.assert_shows("No templates yet");
    assert!(list.body.contains("href=\"/app/templates/new\""), "the empty state offers New template");
    list.assert_shows("Sync with Meta");
    list.assert_shows("Install library templates");
    let filtered = c.get("/app/templates?status=rejected").await;
    filtered.assert_shows("No rejected templates");
    assert!(filtered.body.contains("href=\"/app/templates?status=rejected\" aria-current=\"true\""));
    assert_eq!(c.get("/app/templates?status=nonsense").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(c.get("/app/templates?cursor=forged").await.status, StatusCode::BAD_REQUEST);

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for path in ["/app/templates", "/app/templates/new"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        r.assert_shows("Not available");
    }
}

#[tokio::test]
async fn a_template_is_submitted_from_the_builder_and_its_row_polls_until_approved() {
    let tp = common::start().await;
    let (t, mut c) = signed_in_owner(&tp).await;
    let new = c.get("/app/templates/new").await;
    assert_eq!(new.status, StatusCode::OK);
    new.assert_shows("A text line above the body, or an image, a video or a document sent with each message.");
    assert!(new.body.contains("class=\"phone\""), "the preview is on the page");

    let r = c.post("/app/templates", &with_name("order_update", GOOD)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/app/templates"));
    let list = c.get("/app/templates").await;
    list.assert_shows("Template submitted for review");
    let id = row_id(&list, "order_update");

    // What the API sees: the form's fields as Meta's components.
    let (status, api) = common::get_json(&tp, &t.token, &format!("/templates/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api["components"][0]["example"]["header_text"][0], "A-17");
    assert_eq!(api["components"][1]["example"]["body_text"][0], serde_json::json!(["Asha", "A-17"]));
    assert_eq!(api["components"][2]["text"], "Acme Dental");
    assert_eq!(api["components"][3]["buttons"][0]["type"], "QUICK_REPLY");

    // The row polls while pending; once the simulator approved it, the row comes back without the poll.
    let row = common::eventually(15, "the row shows approved", || {
        let mut c2 = Console::new(&tp.base);
        c2.cookies = c.cookies.clone();
        c2.hx = true;
        let id = id.clone();
        async move {
            let r = c2.get(&format!("/app/templates/{id}/row")).await;
            assert_eq!(r.status, StatusCode::OK);
            if r.body.contains("data-hx-trigger") {
                assert!(r.body.contains("badge--pending"), "{}", r.body);
                None
            } else {
                Some(r)
            }
        }
    })
    .await;
    assert!(row.body.contains("<span class=\"badge badge--approved\">approved</span>"), "{}", row.body);
    assert!(row.body.trim_start().starts_with("<tr id=\"tpl-"), "a row fragment: {}", row.body);
    let approved = c.get("/app/templates?status=approved").await;
    row_id(&approved, "order_update");
    c.get("/app/templates?status=pending").await.assert_shows("No pending templates");
}

#[tokio::test]
async fn a_rejected_template_shows_the_reason() {
    let tp = common::start().await;
    let (t, mut c) = signed_in_owner(&tp).await;
    let r = c.post("/app/templates", &with_name("promo_reject", GOOD)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = row_id(&c.get("/app/templates").await, "promo_reject");
    common::poll_field(&tp, &t.token, &format!("/templates/{id}"), "status", "REJECTED").await;
    let list = c.get("/app/templates?status=rejected").await;
    assert!(
        list.body.contains("badge--rejected\">rejected</span><span class=\"reason\">Invalid format</span>"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("data-hx-trigger=\"every 2s\""), "a decided row does not poll");
}

#[tokio::test]
async fn the_domains_errors_are_shown_next_to_the_fields_with_what_was_typed() {
    let tp = common::start().await;
    let (_, mut c) = signed_in_owner(&tp).await;
    let r = c
        .post(
            "/app/templates",
            &[
                ("name", "Bad Name"),
                ("language", "en"),
                ("category", "UTILITY"),
                ("body", "{{1}} is due"),
                ("footer", "Reply {{1}}"),
                ("button_2_type", "URL"),
                ("button_2_text", "Pay"),
                ("button_2_value", "not a link"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("name").unwrap().contains("lowercase letters"), "{}", r.body);
    assert_eq!(r.field_error("body").as_deref(), Some("the body cannot start or end with a variable"));
    assert_eq!(r.field_error("examples").as_deref(), Some("1 example value(s) are required"));
    assert_eq!(r.field_error("footer").as_deref(), Some("the footer cannot have variables"));
    assert!(r.field_error("button_2_value").unwrap().contains("http(s) URL"), "{}", r.body);
    assert_eq!(r.input_value("name").as_deref(), Some("Bad Name"));
    assert_eq!(r.input_value("button_2_value").as_deref(), Some("not a link"));
    assert!(r.body.contains("name=\"example_1\""), "the example field for {{{{1}}}} is shown");
    assert!(r.body.contains("id=\"f-body\" name=\"body\""));
    r.assert_shows("{{1}} is due");

    // The same name twice: the domain's conflict, next to the name.
    assert_eq!(c.post("/app/templates", &with_name("twice", GOOD)).await.status, StatusCode::SEE_OTHER);
    let r = c.post("/app/templates", &with_name("twice", GOOD)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.field_error("name").unwrap().contains("already exists"), "{}", r.body);

    // console.js gets the form alone.
    c.hx = true;
    let r = c.post("/app/templates", &[("name", ""), ("body", "Hello")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.trim_start().starts_with("<form id=\"template-form\""), "{}", r.body);
    assert_eq!(r.field_error("name").as_deref(), Some("is required"));
}

#[tokio::test]
async fn the_preview_fills_the_examples_and_adds_example_fields_when_variables_change() {
    let tp = common::start().await;
    let (_, mut c) = signed_in_owner(&tp).await;
    c.get("/app/templates/new").await;
    c.hx = true;
    let r = c
        .post(
            "/app/templates/preview",
            &[("body", "Hi {{1}}, see you on {{2}}."), ("example_1", "Priya"), ("shown_vars", "h0b0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<span class=\"wa-var\">Priya</span>"), "{}", r.body);
    assert!(r.body.contains("<span class=\"wa-var wa-var--missing\">{{2}}</span>"), "{}", r.body);
    assert!(r.body.contains("id=\"examples\" class=\"stack\" data-hx-oob"), "new example fields out of band");
    assert!(r.body.contains("name=\"example_2\""));
    assert!(!r.body.contains("<html"), "a fragment");
    // Typing in an example field: the example fields stay as they are (no out-of-band swap).
    let r = c
        .post(
            "/app/templates/preview",
            &[("body", "Hi {{1}}, see you on {{2}}."), ("example_2", "Monday"), ("shown_vars", "h0b2")],
        )
        .await;
    assert!(r.body.contains("<span class=\"wa-var\">Monday</span>"));
    assert!(!r.body.contains("data-hx-oob"), "{}", r.body);
    // The domain's rules as you type.
    let r = c.post("/app/templates/preview", &[("body", "{{1}}"), ("shown_vars", "h0b1")]).await;
    r.assert_shows("Body: the body cannot start or end with a variable");

    // Without JavaScript ("Update preview"): the whole builder, values kept.
    c.hx = false;
    let r =
        c.post("/app/templates/preview", &[("name", "draft"), ("body", "Hello {{1}}!"), ("example_1", "Ravi")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<html"));
    assert!(r.body.contains("<span class=\"wa-var\">Ravi</span>"));
    assert_eq!(r.input_value("name").as_deref(), Some("draft"));
}

#[tokio::test]
async fn edit_resubmits_and_delete_is_confirmed_naming_the_template() {
    let tp = common::start().await;
    let (t, mut c) = signed_in_owner(&tp).await;
    let id = common::reviewed_template(&tp, &t, &common::order_update("order_update", "en"), "APPROVED").await;

    let form = c.get(&format!("/app/templates/{id}/edit")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.input_value("name").as_deref(), Some("order_update"));
    assert_eq!(form.input_value("example_2").as_deref(), Some("A-1"));
    form.assert_shows("Hi {{1}}, your order {{2}} ships today.");
    assert!(form.body.contains("<span class=\"wa-var\">Ana</span>"), "the preview is rendered on the first load");

    let r = c
        .post(
            &format!("/app/templates/{id}/edit"),
            &[
                ("category", "UTILITY"),
                ("body", "Hello {{1}}, order {{2}} has shipped."),
                ("example_1", "Ana"),
                ("example_2", "A-2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    c.get("/app/templates").await.assert_shows("Template resubmitted for review");
    let (_, api) = common::get_json(&tp, &t.token, &format!("/templates/{id}")).await;
    assert_eq!(api["components"][0]["text"], "Hello {{1}}, order {{2}} has shipped.");
    assert_eq!(api["name"], "order_update", "the name never changes");

    // An edit the domain refuses keeps the edit form, with the error.
    let r = c.post(&format!("/app/templates/{id}/edit"), &[("category", "UTILITY"), ("body", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("body").as_deref(), Some("the body text is required"));

    // Delete without JavaScript: a confirmation page naming the template, then the delete.
    let r = c.post(&format!("/app/templates/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("Delete the template “order_update” (en)?");
    assert!(r.body.contains("name=\"confirmed\" value=\"1\""));
    let (status, _) = common::get_json(&tp, &t.token, &format!("/templates/{id}")).await;
    assert_eq!(status, StatusCode::OK, "not deleted before confirming");
    let r = c.post(&format!("/app/templates/{id}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c.get("/app/templates").await.assert_shows("Template “order_update” deleted");
    let (status, _) = common::get_json(&tp, &t.token, &format!("/templates/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The row's poll of a deleted template stops (286).
    let r = c.get(&format!("/app/templates/{id}/row")).await;
    assert_eq!(r.status.as_u16(), 286);
}

#[tokio::test]
async fn another_tenants_template_is_not_found_and_forms_need_their_csrf_token() {
    let tp = common::start().await;
    let (other, _) = signed_in_owner(&tp).await;
    let foreign = common::reviewed_template(&tp, &other, &common::order_update("theirs", "en"), "APPROVED").await;
    let (_, mut c) = signed_in_owner(&tp).await;
    for path in [format!("/app/templates/{foreign}/edit")] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        r.assert_shows("Page not found");
    }
    let r = c.post(&format!("/app/templates/{foreign}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.post(&format!("/app/templates/{foreign}/edit"), &[("body", "Hi {{1}}.")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.post("/app/templates/preview", &[("id", &foreign), ("body", "x")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get(&format!("/app/templates/{foreign}/row")).await.status.as_u16(), 286);
    let (status, _) = common::get_json(&tp, &other.token, &format!("/templates/{foreign}")).await;
    assert_eq!(status, StatusCode::OK, "still there");

    let r = c.post_raw("/app/templates", &with_name("no_token", GOOD)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_shows("This form has expired");
    let r = c.post_raw("/app/templates/sync", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sync_and_library_install_report_what_changed_and_the_list_pages_with_load_more() {
    let tp = common::start().await;
    let (t, mut c) = signed_in_owner(&tp).await;
    let r = c.post("/app/templates/sync", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c.get("/app/templates").await.assert_shows("Synced with Meta: 0 created, 0 updated, 0 deleted");
    let r = c.post("/app/templates/library/install", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    c.get("/app/templates").await.assert_shows("Library templates: 0 installed, 0 already here");
    c.hx = true;
    let r = c.post("/app/templates/sync", &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("hx-location"), Some("/app/templates"));
    c.hx = false;

    // 27 templates (written to the store: the plan allows 10 through the API): a page of 25,
    // then "Load more" with the other 2 (the oldest).
    for n in 0..27 {
        stored_template(&tp, &t.id, &format!("bulk_{n:02}")).await;
        // Ids are time-ordered to the millisecond.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let first = c.get("/app/templates").await;
    assert_eq!(first.body.matches("<tr id=\"tpl-").count(), 25);
    assert!(first.body.find(">bulk_26<").unwrap() < first.body.find(">bulk_25<").unwrap(), "newest first");
    assert!(!first.shows(">bulk_00<"));
    let at = first.body.find("class=\"load-more\"").expect("a Load more row");
    let href_at = first.body[at..].find("href=\"").unwrap() + at + 6;
    let href = first.body[href_at..].split('"').next().unwrap().replace("&#38;", "&");
    c.hx = true;
    let more = c.get(&href).await;
    assert_eq!(more.status, StatusCode::OK);
    assert!(more.body.trim_start().starts_with("<tr"), "rows only: {}", more.body);
    assert_eq!(more.body.matches("<tr id=\"tpl-").count(), 2);
    assert!(more.body.contains(">bulk_00<") && !more.body.contains("load-more"), "{}", more.body);
}

/// An approved template written straight to the store.
async fn stored_template(tp: &TestPlatform, tenant_id: &str, name: &str) {
    use miping::domain::templates::model::{Template, TemplateInput};
    let input: TemplateInput = serde_json::from_value(common::order_update(name, "en")).unwrap();
    let valid = miping::domain::templates::validate::validate(&input).unwrap();
    let now = chrono::Utc::now();
    let t = Template {
        id: tp.ports().ids.new_id("tpl"),
        name: valid.name,
        language: valid.language,
        category: valid.category,
        status: "APPROVED".into(),
        components: valid.components,
        parameter_format: valid.parameter_format,
        meta_template_id: None,
        rejection_reason: None,
        quality: None,
        parameters: valid.parameters,
        created_at: now,
        updated_at: now,
    };
    let ops = miping::store::templates::insert_ops(tenant_id, &t, None).unwrap();
    tp.ports().table.transact(ops).await.unwrap();
}
