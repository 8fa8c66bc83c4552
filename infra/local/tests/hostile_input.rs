//! Hostile input gets a clear answer (SPEC error body, right status) and changes nothing:
//! control characters in names, bodies on routes that take none, wrong JSON shapes, foreign
//! cursors, and what the HTTP server itself refuses (raw requests over TCP).

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const INJECTION: &str = "Inj\r\nBcc: evil@attacker.test";

async fn details(r: reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap().to_owned(), d["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn control_characters_in_names_are_refused_with_422() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;

    let mut plan = sample_plan();
    plan["name"] = json!(INJECTION);
    let d = details(post(&tp, &admin, "/plans", &plan).await).await;
    assert_eq!(d, [("name".to_owned(), "invalid_characters".to_owned())]);

    let tenant = json!({"name": INJECTION, "slug": "inj", "admin_email": "inj@tenant.test",
        "admin_name": "Ana\u{7}", "plan_id": plan_id});
    let d = details(post(&tp, &admin, "/admin/tenants", &tenant).await).await;
    assert_eq!(
        d,
        [
            ("name".to_owned(), "invalid_characters".to_owned()),
            ("admin_name".to_owned(), "invalid_characters".to_owned())
        ]
    );
    // Nothing was created, and no email went out.
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    assert!(miping::adapters::embedded::outbox::read_outbox(&outbox).is_empty());

    let t = provision_and_activate(&tp).await;
    let d = details(post(&tp, &t.token, "/api-keys", &json!({"name": "ERP\nprod"})).await).await;
    assert_eq!(d, [("name".to_owned(), "invalid_characters".to_owned())]);
    let campaign = json!({"name": INJECTION, "template": {"name": "t", "language": "en"}, "audience": {"all": true}});
    let d = details(post(&tp, &t.token, "/campaigns", &campaign).await).await;
    assert_eq!(d, [("name".to_owned(), "invalid_characters".to_owned())]);
}
