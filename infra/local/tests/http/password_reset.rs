//! `POST /auth/forgot-password` and `POST /auth/reset-password` over HTTP: the emailed
//! single-use link, no enumeration, expiry, and every session ended by the reset.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn forgot(tp: &TestPlatform, email: &str) -> (StatusCode, String) {
    let r = tp.http.post(tp.url("/auth/forgot-password")).json(&json!({"email": email})).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn reset(tp: &TestPlatform, token: &str, password: &str) -> reqwest::Response {
    tp.http
        .post(tp.url("/auth/reset-password"))
        .json(&json!({"token": token, "new_password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let (status, body) = forgot(&tp, &t.email).await;
    assert_eq!((status, body.as_str()), (StatusCode::ACCEPTED, ""));
    let token = reset_token(&tp, &t.email, 0).await;

    let r = reset(&tp, &token, "short").await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = reset(&tp, "not-a-real-token", "a brand new passphrase").await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "reset_token_not_found");

    let r = reset(&tp, &token, "a brand new passphrase").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = tp.http.get(tp.url("/tenant")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "session_revoked");
    assert_eq!(tp.login(&t.email, &t.password).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(tp.login(&t.email, "a brand new passphrase").await.status(), StatusCode::OK);
    // Single use.
    let r = reset(&tp, &token, "yet another passphrase").await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "reset_token_not_found");
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_email() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let unknown = "nobody-here@tenant.test";
    assert_eq!(forgot(&tp, unknown).await, forgot(&tp, &t.email).await);
    // A second request within the cooldown sends nothing more.
    assert_eq!(forgot(&tp, &t.email).await.0, StatusCode::ACCEPTED);
    let other = provision_and_activate(&tp).await;
    assert_eq!(forgot(&tp, &other.email).await.0, StatusCode::ACCEPTED);
    // The jobs are handled in order: once the last one's email is out, the others were handled.
    reset_token(&tp, &other.email, 0).await;
    assert!(outbox_to(&tp, unknown).is_empty());
    assert_eq!(outbox_to(&tp, &t.email).iter().filter(|m| m.subject.contains("Reset")).count(), 1);
    // Not an email at all is a plain 422 (it reveals nothing).
    let r = tp.http.post(tp.url("/auth/forgot-password")).json(&json!({"email": "not an email"})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
}

#[tokio::test]
async fn an_expired_link_is_410() {
    let tp = start_configured(|c| c.password_reset_ttl = std::time::Duration::ZERO).await;
    let t = provision_and_activate(&tp).await;
    forgot(&tp, &t.email).await;
    let token = reset_token(&tp, &t.email, 0).await;
    let r = reset(&tp, &token, "a brand new passphrase").await;
    assert_eq!(error_code(r, StatusCode::GONE).await, "reset_token_expired");
    assert_eq!(tp.login(&t.email, &t.password).await.status(), StatusCode::OK, "the password is unchanged");
}
