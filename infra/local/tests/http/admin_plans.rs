//! `/plans*` over HTTP against the local platform.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn plan_body() -> Value {
    json!({"name": "Pro", "price": "499.99", "currency": "INR", "monthly_message_limit": 10000,
        "contact_limit": 5000, "template_limit": 50, "api_key_limit": 5, "messages_per_second": 80})
}

#[tokio::test]
async fn plan_crud() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let r = tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&plan_body()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let plan: Value = r.json().await.unwrap();
    let id = plan["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("plan_"));
    assert_eq!(plan["price"], "499.99");
    assert_eq!(plan["messages_per_second"], 80);
    assert!(plan["created_at"].is_string());
    assert!(plan.get("tenant_count").is_none());

    let got: Value =
        tp.http.get(tp.url(&format!("/plans/{id}"))).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(got, plan);

    // A JSON number price is read as written, exactly.
    let r = tp
        .http
        .patch(tp.url(&format!("/plans/{id}")))
        .bearer_auth(&admin)
        .json(&json!({"price": 0.7846, "name": "Pro 2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(
        (patched["price"].as_str(), patched["name"].as_str(), patched["currency"].as_str()),
        (Some("0.7846"), Some("Pro 2"), Some("INR"))
    );

    for _ in 0..2 {
        tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&plan_body()).send().await.unwrap();
    }
    let page: Value =
        tp.http.get(tp.url("/plans?limit=2")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = get_ok(&tp, &admin, &format!("/plans?limit=2&cursor={cursor}")).await;
    assert_eq!((rest["items"].as_array().unwrap().len(), &rest["next_cursor"]), (1, &Value::Null));
    let r = tp.http.get(tp.url("/plans?cursor=garbage")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_cursor");
    let r = tp.http.get(tp.url("/plans?limit=501")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    let r = tp.http.delete(tp.url(&format!("/plans/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for r in [
        tp.http.get(tp.url(&format!("/plans/{id}"))).bearer_auth(&admin).send().await.unwrap(),
        tp.http.delete(tp.url(&format!("/plans/{id}"))).bearer_auth(&admin).send().await.unwrap(),
        tp.http
            .patch(tp.url(&format!("/plans/{id}")))
            .bearer_auth(&admin)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    }
}

#[tokio::test]
async fn plan_validation_names_each_field() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let mut body = plan_body();
    body["name"] = json!("");
    body["price"] = json!("12.34567");
    body["currency"] = json!("inr");
    body["contact_limit"] = json!(-5);
    body["messages_per_second"] = json!(0);
    let r = tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = r.json().await.unwrap();
    let mut fields: Vec<(String, String)> = err["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap().to_string(), d["code"].as_str().unwrap().to_string()))
        .collect();
    fields.sort();
    let expected = [
        ("contact_limit", "negative"),
        ("currency", "invalid_currency"),
        ("messages_per_second", "out_of_range"),
        ("name", "required"),
        ("price", "too_many_decimals"),
    ];
    assert_eq!(fields, expected.map(|(a, b)| (a.to_string(), b.to_string())));

    let r =
        tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&json!({"name": "Only a name"})).send().await.unwrap();
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["details"].as_array().unwrap().len(), 7, "every missing field is named: {err}");
    let r = tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&json!({"price": "-1"})).send().await.unwrap();
    let err: Value = r.json().await.unwrap();
    assert!(
        err["error"]["details"].as_array().unwrap().iter().any(|d| d["field"] == "price" && d["code"] == "negative")
    );
    // Wrong JSON types and unknown fields are 400s.
    let mut body = plan_body();
    body["template_limit"] = json!("fifty");
    let r = tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");
    let mut body = plan_body();
    body["colour"] = json!("blue");
    let r = tp.http.post(tp.url("/plans")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");
}

#[tokio::test]
async fn plan_posts_are_idempotent() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let post = |body: Value| {
        tp.http.post(tp.url("/plans")).bearer_auth(&admin).header("idempotency-key", "plan-1").json(&body).send()
    };
    let first = post(plan_body()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = post(plan_body()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let page: Value = tp.http.get(tp.url("/plans")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "the replay created nothing");
    let mut other = plan_body();
    other["name"] = json!("Other");
    assert_eq!(error_code(post(other).await.unwrap(), StatusCode::CONFLICT).await, "idempotency_key_reused");
}

#[tokio::test]
async fn plans_need_a_super_admin() {
    let tp = start().await;
    let r = tp.http.get(tp.url("/plans")).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    let tenant = provision_and_activate(&tp).await;
    for r in [
        tp.http.get(tp.url("/plans")).bearer_auth(&tenant.token).send().await.unwrap(),
        tp.http.post(tp.url("/plans")).bearer_auth(&tenant.token).json(&plan_body()).send().await.unwrap(),
        tp.http.delete(tp.url(&format!("/plans/{}", tenant.plan_id))).bearer_auth(&tenant.token).send().await.unwrap(),
    ] {
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    }
}

#[tokio::test]
async fn a_plan_in_use_cannot_be_deleted() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let tenant = provision_and_activate(&tp).await;
    let r = tp.http.delete(tp.url(&format!("/plans/{}", tenant.plan_id))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "plan_in_use");
    // Move the tenant to another plan: the first one is free again.
    let other: Value = tp
        .http
        .post(tp.url("/plans"))
        .bearer_auth(&admin)
        .json(&plan_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = tp
        .http
        .patch(tp.url(&format!("/admin/tenants/{}", tenant.id)))
        .bearer_auth(&admin)
        .json(&json!({"plan_id": other["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = tp.http.delete(tp.url(&format!("/plans/{}", tenant.plan_id))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}
