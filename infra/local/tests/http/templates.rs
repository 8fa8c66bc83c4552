//! `/templates*` and `/admin/templates` over HTTP against the built-in Meta simulator: review
//! outcomes through real signed webhooks (receiver → queue → processor), sync with changes made
//! "in WhatsApp Manager", validation, limits, isolation, edit limits, the library.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Connects the tenant through Embedded Signup's backend (`POST /whatsapp/connect`) with a
/// simulator code; returns the WABA id.
async fn connect(tp: &TestPlatform, tenant: &ActiveTenant, code: &str) -> String {
    connect_whatsapp(tp, &tenant.token, code).await["waba_id"].as_str().unwrap().to_string()
}

fn sim(tp: &TestPlatform) -> &meta_sim::SimHandle {
    tp.platform.as_ref().unwrap().simulator.as_ref().unwrap()
}

fn utility(name: &str) -> Value {
    json!({"name": name, "language": "en_US", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-1"]}},
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships today.", "example": {"body_text": [["Ana", "A-1"]]}},
        {"type": "FOOTER", "text": "Thanks for shopping"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://shop.test/t/{{1}}", "example": ["https://shop.test/t/A-1"]}]}
    ]})
}

async fn create(tp: &TestPlatform, token: &str, body: &Value) -> Value {
    let r = post(tp, token, "/templates", body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// Polls the template until `field` is `want` (the review webhook is ~1 s away).
async fn wait_for(tp: &TestPlatform, token: &str, id: &str, field: &str, want: &str) -> Value {
    poll_field(tp, token, &format!("/templates/{id}"), field, want).await
}

#[tokio::test]
async fn pending_then_approved_or_rejected_by_signed_webhooks_then_edit_and_delete() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let waba = connect(&tp, &t, "lifecycle-code").await;

    let created = create(&tp, &t.token, &utility("order_update")).await;
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["rejection_reason"], Value::Null);
    assert!(created["meta_template_id"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(created["parameters"]["count"], 4, "header, 2 body, URL suffix: {created}");
    let id = created["id"].as_str().unwrap().to_string();
    let approved = wait_for(&tp, &t.token, &id, "status", "APPROVED").await;
    assert_eq!(approved["meta_template_id"], created["meta_template_id"]);

    let rejected = create(&tp, &t.token, &utility("promo_reject_me")).await;
    let rid = rejected["id"].as_str().unwrap();
    let r = wait_for(&tp, &t.token, rid, "status", "REJECTED").await;
    assert_eq!(r["rejection_reason"], "INVALID_FORMAT");

    let (_, list) = get_json(&tp, &t.token, "/templates?status=APPROVED").await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["order_update"]);
    // Paging parameters parse as numbers next to the status filter.
    let (status, page) = get_json(&tp, &t.token, "/templates?status=APPROVED&limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let r = tp.http.get(tp.url("/templates?status=bogus")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    // Same name+language again: 409 before Meta is asked.
    let r = post(&tp, &t.token, "/templates", &utility("order_update")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "template_exists");
    assert_eq!(sim(&tp).templates(&waba).len(), 2);

    // Edit an approved template: resubmitted (PENDING) then approved again; a second edit the
    // same day hits Meta's edit limit, which is surfaced with Meta's words.
    let mut components = utility("x")["components"].clone();
    components[2]["text"] = json!("Thank you for shopping with us");
    let r = tp
        .http
        .patch(tp.url(&format!("/templates/{id}")))
        .bearer_auth(&t.token)
        .json(&json!({"components": components}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["status"], "PENDING");
    assert_eq!(edited["components"][2]["text"], "Thank you for shopping with us");
    wait_for(&tp, &t.token, &id, "status", "APPROVED").await;
    let r = tp
        .http
        .patch(tp.url(&format!("/templates/{id}")))
        .bearer_auth(&t.token)
        .json(&json!({"components": components}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "meta_rejected");
    assert!(body["error"]["message"].as_str().unwrap().contains("Edit limit"), "{body}");
    // An invalid edit never reaches Meta.
    let r = tp
        .http
        .patch(tp.url(&format!("/templates/{id}")))
        .bearer_auth(&t.token)
        .json(&json!({"components": [{"type": "FOOTER", "text": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    // Delete: Meta first, then ours.
    let r = tp.http.delete(tp.url(&format!("/templates/{id}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_json(&tp, &t.token, &format!("/templates/{id}")).await.0, StatusCode::NOT_FOUND);
    let left: Vec<String> = sim(&tp).templates(&waba).into_iter().map(|t| t.name).collect();
    assert_eq!(left, ["promo_reject_me"]);
}

#[tokio::test]
async fn validation_errors_name_each_field_and_nothing_reaches_meta() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    // Not connected yet: a valid template is refused with 409.
    let r = post(&tp, &t.token, "/templates", &utility("order_update")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "whatsapp_not_connected");
    let waba = connect(&tp, &t, "validation-code").await;

    let bad = json!({"name": "Bad Name", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Hello {{1}}"},
        {"type": "BODY", "text": "Hi {{1}} {{2}}, order {{4}} ships.", "example": {"body_text": [["a", "b", "c"]]}},
        {"type": "FOOTER", "text": "f".repeat(61)},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "This button text is far too long"}]}
    ]});
    let r = post(&tp, &t.token, "/templates", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let fields: Vec<(&str, &str)> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    for want in [
        ("name", "invalid_format"),
        ("components[0].example.header_text", "example_required"),
        ("components[1].text", "adjacent_parameters"),
        ("components[1].text", "placeholder_sequence"),
        ("components[2].text", "too_long"),
        ("components[3].buttons[0].text", "invalid"),
    ] {
        assert!(fields.contains(&want), "{want:?} missing from {fields:?}");
    }
    let r = post(
        &tp,
        &t.token,
        "/templates",
        &json!({"name": "x", "language": "en", "category": "UTILITY", "components": [], "extra": 1}),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");
    assert!(sim(&tp).templates(&waba).is_empty(), "nothing invalid was submitted");
    let (_, list) = get_json(&tp, &t.token, "/templates").await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn sync_reconciles_templates_created_and_deleted_in_whatsapp_manager() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let waba = connect(&tp, &t, "sync-code").await;
    let ours = create(&tp, &t.token, &utility("order_update")).await;
    let kept = create(&tp, &t.token, &utility("shipping_update")).await;
    wait_for(&tp, &t.token, kept["id"].as_str().unwrap(), "status", "APPROVED").await;
    wait_for(&tp, &t.token, ours["id"].as_str().unwrap(), "status", "APPROVED").await;

    // In WhatsApp Manager: one template added, ours deleted (no webhooks for either).
    let base = sim(&tp).base_url();
    let r = tp
        .http
        .post(format!("{base}/_sim/templates"))
        .json(&json!({"waba_id": waba, "name": "made_in_manager", "language": "es", "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Hola {{1}}, gracias.", "example": {"body_text": [["Ana"]]}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = tp
        .http
        .delete(format!("{base}/_sim/templates/{}", ours["meta_template_id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = post(&tp, &t.token, "/templates/sync", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"created": 1, "updated": 0, "deleted": 1}));
    let (_, list) = get_json(&tp, &t.token, "/templates").await;
    let mut names: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|i| i["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["made_in_manager", "shipping_update"]);
    let adopted = list["items"].as_array().unwrap().iter().find(|i| i["name"] == "made_in_manager").unwrap();
    assert_eq!((adopted["status"].as_str(), adopted["parameters"]["count"].as_u64()), (Some("APPROVED"), Some(1)));

    // Nothing changed since: a second sync is a no-op.
    let r = post(&tp, &t.token, "/templates/sync", &json!({})).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"created": 0, "updated": 0, "deleted": 0}));
}

/// The built-in simulator keeps its templates in the data directory: after a restart of the
/// local process "Meta" still has them, so a sync keeps the tenant's templates (it used to find
/// an empty WABA and delete them all).
#[tokio::test]
async fn templates_survive_a_restart_of_the_local_process() {
    let mut tp = start().await;
    let t = provision_and_activate(&tp).await;
    let waba = connect(&tp, &t, "restart-code").await;
    let created = create(&tp, &t.token, &utility("order_update")).await;
    let id = created["id"].as_str().unwrap().to_string();
    wait_for(&tp, &t.token, &id, "status", "APPROVED").await;

    tp.stop().await;
    let again = start_in(tp.data_dir.clone(), false).await;
    let meta_id = created["meta_template_id"].as_str().unwrap();
    let held = sim(&again).templates(&waba);
    assert!(held.iter().any(|m| m.id == meta_id && m.status.as_str() == "APPROVED"), "{held:?}");
    let r = post(&again, &t.token, "/templates/sync", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"created": 0, "updated": 0, "deleted": 0}));
    let (_, template) = get_json(&again, &t.token, &format!("/templates/{id}")).await;
    assert_eq!((template["name"].as_str(), template["status"].as_str()), (Some("order_update"), Some("APPROVED")));
}

#[tokio::test]
async fn plan_limit_is_exact_and_tenants_are_isolated() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    set_plan(&tp, &admin, &t.plan_id, json!({"template_limit": 2})).await;
    connect(&tp, &t, "limit-code").await;
    let first = create(&tp, &t.token, &utility("first_one")).await;
    create(&tp, &t.token, &utility("second_one")).await;
    let r = post(&tp, &t.token, "/templates", &utility("third_one")).await;
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "template_limit_reached");

    // Another tenant cannot see or touch it.
    let other = provision_and_activate(&tp).await;
    connect(&tp, &other, "other-code").await;
    let path = format!("/templates/{}", first["id"].as_str().unwrap());
    assert_eq!(get_json(&tp, &other.token, &path).await.0, StatusCode::NOT_FOUND);
    let r = tp.http.delete(tp.url(&path)).bearer_auth(&other.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    let (_, list) = get_json(&tp, &other.token, "/templates").await;
    assert_eq!(list["items"], json!([]));

    // Deleting frees exactly one slot.
    let r = tp.http.delete(tp.url(&path)).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    create(&tp, &t.token, &utility("third_one")).await;
    let r = post(&tp, &t.token, "/templates", &utility("fourth_one")).await;
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "template_limit_reached");
    // The super admin has no tenant: 403 on tenant routes.
    let r = tp.http.get(tp.url("/templates")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
}

#[tokio::test]
async fn library_is_super_admin_only_and_installs_idempotently() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let r = post(&tp, &t.token, "/admin/templates", &utility("welcome_message")).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    assert_eq!(get_json(&tp, &t.token, "/admin/templates").await.0, StatusCode::FORBIDDEN);

    for name in ["welcome_message", "order_update"] {
        let r = post(&tp, &admin, "/admin/templates", &utility(name)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = post(&tp, &admin, "/admin/templates", &utility("order_update")).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "template_exists");
    let r = post(
        &tp,
        &admin,
        "/admin/templates",
        &json!({"name": "Nope", "language": "en", "category": "UTILITY", "components": []}),
    )
    .await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let (_, lib) = get_json(&tp, &admin, "/admin/templates").await;
    assert_eq!(lib["items"].as_array().unwrap().len(), 2);

    // Connecting installs the library into the new WABA (the flow's last step)...
    let waba = connect(&tp, &t, "library-code").await;
    let (_, mine) = get_json(&tp, &t.token, "/templates").await;
    let mut names: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["order_update", "welcome_message"]);
    // ...and installing again later only adds what the library gained since, idempotently.
    assert_eq!(post(&tp, &admin, "/admin/templates", &utility("shipping_notice")).await.status(), StatusCode::CREATED);
    let r = post(&tp, &t.token, "/templates/library/install", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"installed": 1, "skipped": 2, "failed": []}));
    let r = post(&tp, &t.token, "/templates/library/install", &json!({})).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"installed": 0, "skipped": 3, "failed": []}));
    let mut names: Vec<String> = sim(&tp).templates(&waba).into_iter().map(|t| t.name).collect();
    names.sort();
    assert_eq!(names, ["order_update", "shipping_notice", "welcome_message"]);
}
