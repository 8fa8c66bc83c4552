//! Secrets never reach the logs: passwords, session tokens, the session key and password reset
//! tokens, at the most verbose log level, across login, failed login, change-password, forgotten
//! and reset passwords and the error paths.

use crate::common::*;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

#[tokio::test]
async fn no_secret_is_ever_logged() {
    let captured = CapturedLogs::install();

    let tp = start().await;
    let wrong = "wrong-password-that-must-not-leak";
    assert_eq!(tp.login(ADMIN_EMAIL, wrong).await.status(), StatusCode::UNAUTHORIZED);
    let token = tp.admin_token().await;
    let new_password = "a new secret passphrase 77";
    let r = tp
        .http
        .post(tp.url("/auth/change-password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": ADMIN_PASSWORD, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let _ = tp.http.get(tp.url("/auth/me")).bearer_auth(&token).send().await.unwrap();
    let _ = tp.http.get(tp.url("/nowhere?access_token=query-secret-value")).send().await.unwrap();
    let jwt_key = tp.platform.as_ref().unwrap().state.config.jwt_secret.expose_secret().to_string();

    // A forgotten password: the emailed token and the password it sets stay out of the logs too.
    let r = tp.http.post(tp.url("/auth/forgot-password")).json(&json!({"email": ADMIN_EMAIL})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    let mut reset_token = None;
    for _ in 0..200 {
        reset_token = miping::adapters::embedded::outbox::read_outbox(&outbox)
            .iter()
            .find_map(|m| m.text.split("#token=").nth(1).map(|t| t.split_whitespace().next().unwrap().to_owned()));
        if reset_token.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reset_token = reset_token.expect("the reset email");
    let reset_password = "a reset passphrase 88";
    let r = tp
        .http
        .post(tp.url("/auth/reset-password"))
        .json(&json!({"token": reset_token, "new_password": reset_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let logs = captured.text();
    assert!(logs.contains("response"), "the capture works: request logs are present");
    for secret in [
        ADMIN_PASSWORD,
        wrong,
        new_password,
        token.as_str(),
        jwt_key.as_str(),
        "query-secret-value",
        reset_token.as_str(),
        reset_password,
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}
