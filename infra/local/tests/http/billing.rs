//! Credits over HTTP: top-ups by the super admin, the ledger for both sides, isolation.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn credits_and_ledgers() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let credits = tp.url(&format!("/admin/tenants/{}/credits", t.id));
    let r = tp
        .http
        .post(&credits)
        .bearer_auth(&admin)
        .json(&json!({"amount": "100.50", "description": "Top-up #1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let entry: Value = r.json().await.unwrap();
    assert!(entry["id"].as_str().unwrap().starts_with("led_"));
    assert_eq!(
        (entry["kind"].as_str(), entry["amount"].as_str(), entry["balance_after"].as_str()),
        (Some("credit"), Some("100.50"), Some("100.50"))
    );
    assert_eq!((&entry["reference"], entry["description"].as_str()), (&Value::Null, Some("Top-up #1")));
    assert!(entry["at"].is_string());
    let r = tp.http.post(&credits).bearer_auth(&admin).json(&json!({"amount": 0.7846})).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["balance_after"], "101.2846");

    let admin_view: Value = get_ok(&tp, &admin, &format!("/admin/tenants/{}/ledger", t.id)).await;
    let tenant_view: Value = get_ok(&tp, &t.token, "/billing/ledger?limit=1").await;
    assert_eq!(admin_view["items"].as_array().unwrap().len(), 2);
    assert_eq!(admin_view["items"][0]["amount"], "0.7846", "newest first");
    assert_eq!(tenant_view["items"][0], admin_view["items"][0]);
    let next = tenant_view["next_cursor"].as_str().unwrap();
    let rest: Value = get_ok(&tp, &t.token, &format!("/billing/ledger?limit=1&cursor={next}")).await;
    assert_eq!((&rest["items"][0], &rest["next_cursor"]), (&admin_view["items"][1], &Value::Null));
    let r = tp.http.get(tp.url("/billing/ledger?cursor=bogus")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_cursor");

    let me: Value = tp.http.get(tp.url("/tenant")).bearer_auth(&t.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["balance"], "101.2846");

    // Another tenant sees none of it.
    let other = provision_and_activate(&tp).await;
    let theirs: Value =
        tp.http.get(tp.url("/billing/ledger")).bearer_auth(&other.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs["items"], json!([]));
    let me: Value =
        tp.http.get(tp.url("/tenant")).bearer_auth(&other.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["balance"], "0.00");
}

#[tokio::test]
async fn credit_validation_and_idempotency() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let credits = tp.url(&format!("/admin/tenants/{}/credits", t.id));
    for (amount, field, code) in [
        // A negative amount is a correction, which needs its reason.
        (json!("-5"), "description", "reason_required"),
        (json!(0), "amount", "not_positive"),
        (json!("1.00001"), "amount", "too_many_decimals"),
        (json!("ten"), "amount", "invalid_decimal"),
    ] {
        let r = tp.http.post(&credits).bearer_auth(&admin).json(&json!({"amount": amount})).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let err: Value = r.json().await.unwrap();
        assert_eq!(
            (err["error"]["details"][0]["field"].as_str(), err["error"]["details"][0]["code"].as_str()),
            (Some(field), Some(code)),
            "{amount}"
        );
    }
    let r = tp.http.post(&credits).bearer_auth(&admin).json(&json!({"description": "no amount"})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");

    let post = |amount: &str| {
        tp.http
            .post(&credits)
            .bearer_auth(&admin)
            .header("idempotency-key", "topup-7")
            .json(&json!({"amount": amount}))
            .send()
    };
    let first: Value = post("25").await.unwrap().json().await.unwrap();
    let again = post("25").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(error_code(post("26").await.unwrap(), StatusCode::CONFLICT).await, "idempotency_key_reused");
    let me: Value = tp.http.get(tp.url("/tenant")).bearer_auth(&t.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["balance"], "25.00", "credited once");
}

/// Two credits of 99,999,999,999.9999 used to be stored, and every ledger read answered 500
/// from then on ("corrupt item: is too large"). The balance has a maximum (10,000,000,000.00): a
/// credit that would pass it is a 422 and writes nothing; the ledger stays readable.
#[tokio::test]
async fn credits_past_the_maximum_balance_are_refused() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let credit = |amount: &'static str| {
        let (tp, admin, id) = (&tp, admin.clone(), t.id.clone());
        async move { post(tp, &admin, &format!("/admin/tenants/{id}/credits"), &json!({"amount": amount})).await }
    };
    for _ in 0..2 {
        let r = credit("99999999999.9999").await;
        assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    }
    assert_eq!(credit("6000000000.00").await.status(), StatusCode::CREATED);
    let r = credit("6000000000.00").await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "balance_limit_exceeded");
    assert_eq!(credit("4000000000.00").await.status(), StatusCode::CREATED, "up to the maximum");
    let ledger = get_ok(&tp, &admin, &format!("/admin/tenants/{}/ledger", t.id)).await;
    assert_eq!(ledger["items"].as_array().unwrap().len(), 2);
    assert_eq!(get_ok(&tp, &t.token, "/tenant").await["balance"], "10000000000.00");
}
