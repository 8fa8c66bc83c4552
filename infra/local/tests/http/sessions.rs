//! Server-side sessions over HTTP: logout ends one session; a password change ends the user's
//! other sessions (also the one signed in with the emailed one-time password, which could
//! otherwise mint API keys for 12 h). (A suspension and a re-issued one-time password: see
//! admin_tenants; a reset: see password_reset.)

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn sign_in(tp: &TestPlatform, email: &str, password: &str) -> String {
    let r = tp.login(email, password).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn me(tp: &TestPlatform, token: &str) -> reqwest::Response {
    tp.http.get(tp.url("/auth/me")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn logout_ends_that_session_only() {
    let tp = start().await;
    let a = sign_in(&tp, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let b = sign_in(&tp, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = tp.http.post(tp.url("/auth/logout")).bearer_auth(&a).json(&json!({"all": true})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "unexpected_body");
    let r = tp.http.post(tp.url("/auth/logout")).bearer_auth(&a).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(error_code(me(&tp, &a).await, StatusCode::UNAUTHORIZED).await, "session_revoked");
    let r = tp.http.get(tp.url("/plans")).bearer_auth(&a).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "session_revoked");
    assert_eq!(me(&tp, &b).await.status(), StatusCode::OK);
    // Logging out twice is refused like any ended session.
    let r = tp.http.post(tp.url("/auth/logout")).bearer_auth(&a).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "session_revoked");
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_including_the_one_time_passwords() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;
    let email = "owner-sessions@tenant.test";
    let r = post(
        &tp,
        &admin,
        "/admin/tenants",
        &json!({"name": "Sessions", "slug": "sessions", "admin_email": email,
        "admin_name": "Owner", "plan_id": plan_id}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, one_time) = welcome_password(&tp, email, 0).await;
    // Two sessions with the emailed password: one (say, whoever else read the email) is left
    // alone, the other changes the password.
    let stale = sign_in(&tp, email, &one_time).await;
    let current = sign_in(&tp, email, &one_time).await;
    let r = post(
        &tp,
        &current,
        "/auth/change-password",
        &json!({"current_password": one_time, "new_password": "the owner's own password"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    assert_eq!(error_code(me(&tp, &stale).await, StatusCode::UNAUTHORIZED).await, "session_revoked");
    let r = post(&tp, &stale, "/api-keys", &json!({"name": "backdoor"})).await;
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "session_revoked");
    let r = post(&tp, &current, "/api-keys", &json!({"name": "ERP"})).await;
    assert_eq!(r.status(), StatusCode::CREATED, "the session that changed it stays");
}
