//! `/auth/*` and `/health` over HTTP against the local platform.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn health_is_ok() {
    let tp = start().await;
    let r = tp.http.get(tp.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("x-request-id").is_some_and(|v| v.to_str().unwrap().starts_with("req_")));
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn login_returns_a_token_and_the_user() {
    let tp = start().await;
    let r = tp.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().split('.').count() == 3);
    assert!(body["expires_at"].as_str().is_some());
    let user = &body["user"];
    assert_eq!(user["email"], ADMIN_EMAIL);
    assert_eq!(user["role"], "SUPER_ADMIN");
    assert_eq!(user["tenant_id"], Value::Null);
    assert_eq!(user["must_change_password"], false);
    assert!(user.get("password_hash").is_none());
    assert!(!body.to_string().contains("argon2"));

    let me = tp.http.get(tp.url("/auth/me")).bearer_auth(body["token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(&me, user);
}

#[tokio::test]
async fn wrong_email_and_wrong_password_look_the_same() {
    let tp = start().await;
    let a = tp.login(ADMIN_EMAIL, "not the password at all").await;
    let a_status = a.status();
    let a_body: Value = a.json().await.unwrap();
    let b = tp.login("nobody@platform.test", ADMIN_PASSWORD).await;
    assert_eq!(a_status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(a_body, b.json::<Value>().await.unwrap());
    assert_eq!(a_body["error"]["code"], "unauthorized");
}

/// A platform whose throttle waits a minute after `free` attempts (so a throttled state holds
/// for the whole test) and allows `per_address` failures per address.
async fn throttled_platform(free: u32, per_address: u32) -> TestPlatform {
    start_configured(move |c| {
        c.login_throttle = miping::domain::login_throttle::LoginThrottle {
            free_attempts: free,
            base_delay: std::time::Duration::from_secs(60),
            address_limit: per_address,
            ..Default::default()
        }
    })
    .await
}

/// A client whose requests come from `ip` (any 127.x.y.z reaches the local process).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

async fn login_from(tp: &TestPlatform, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    client.post(tp.url("/auth/login")).json(&json!({"email": email, "password": password})).send().await.unwrap()
}

#[tokio::test]
async fn a_guesser_is_slowed_per_email_and_address_while_the_owner_signs_in_elsewhere() {
    let tp = throttled_platform(3, 100).await;
    let attacker = client_from("127.0.0.1");
    for _ in 0..3 {
        assert_eq!(
            login_from(&tp, &attacker, ADMIN_EMAIL, "wrong password 123").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // From that address even the right password waits now (the attacker cannot tell).
    let r = login_from(&tp, &attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 60, "{retry_after}");
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "login_throttled");
    // An unknown email is throttled the same way (no enumeration by the 429).
    for _ in 0..3 {
        login_from(&tp, &attacker, "nobody@platform.test", "wrong password 123").await;
    }
    let r = login_from(&tp, &attacker, "nobody@platform.test", "wrong password 123").await;
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "login_throttled");
    // The owner, from their own address, is not locked out.
    let owner = client_from("127.0.0.2");
    assert_eq!(login_from(&tp, &owner, ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn parallel_wrong_guesses_are_counted_one_by_one() {
    let tp = throttled_platform(3, 100).await;
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let (http, url) = (tp.http.clone(), tp.url("/auth/login"));
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"email": ADMIN_EMAIL, "password": format!("guess number {i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (3, 17), "only the free attempts reach the password check");
}

#[tokio::test]
async fn one_address_cannot_try_many_emails() {
    let tp = throttled_platform(5, 10).await;
    let sprayer = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for i in 0..15 {
        statuses.push(login_from(&tp, &sprayer, &format!("user{i}@platform.test"), "Summer2026!").await.status());
    }
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Another address has its own budget.
    let other = client_from("127.0.0.3");
    assert_eq!(login_from(&tp, &other, "user0@platform.test", "Summer2026!").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn change_password_validates_then_switches() {
    let tp = start().await;
    let token = tp.admin_token().await;
    let change = |current: &str, new: &str| {
        tp.http
            .post(tp.url("/auth/change-password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let r = change("wrong current password", "a brand new passphrase").await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = change(ADMIN_PASSWORD, "short").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "new_password");
    assert_eq!(body["error"]["details"][0]["code"], "too_short");

    let r = change(ADMIN_PASSWORD, "a brand new passphrase").await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(tp.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(tp.login(ADMIN_EMAIL, "a brand new passphrase").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_generated_password_must_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let tp = start_in(dir.path().to_path_buf(), true).await;
    let r = tp.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["must_change_password"], true);
    let token = body["token"].as_str().unwrap();
    // /auth/me stays open; the change clears the flag.
    let me: Value = tp.http.get(tp.url("/auth/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["must_change_password"], true);
    let r = tp
        .http
        .post(tp.url("/auth/change-password"))
        .bearer_auth(token)
        .json(&json!({"current_password": ADMIN_PASSWORD, "new_password": "my own passphrase 42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let me: Value = tp.http.get(tp.url("/auth/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["must_change_password"], false);
}

#[tokio::test]
async fn bad_credentials_are_401() {
    let tp = start().await;
    let r = tp.http.get(tp.url("/auth/me")).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    let r = tp.http.get(tp.url("/auth/me")).bearer_auth("not.a.jwt").send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    let r = tp.http.get(tp.url("/auth/me")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
    // A token signed with another key.
    let forged = {
        let token = tp.admin_token().await;
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[2] = "c2lnbmF0dXJlLWZyb20tc29tZW9uZS1lbHNl".into();
        parts.join(".")
    };
    let r = tp.http.get(tp.url("/auth/me")).bearer_auth(forged).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");
}

#[tokio::test]
async fn framework_errors_use_the_spec_body() {
    let tp = start().await;
    let r = tp.http.get(tp.url("/no/such/route")).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");

    let r = tp.http.get(tp.url("/auth/login")).send().await.unwrap();
    assert!(r.headers().get("allow").is_some());
    assert_eq!(error_code(r, StatusCode::METHOD_NOT_ALLOWED).await, "method_not_allowed");

    let r = tp.http.post(tp.url("/auth/login")).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type");

    let r = tp
        .http
        .post(tp.url("/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "malformed_json");

    let r = tp.http.post(tp.url("/auth/login")).json(&json!({"email": 5, "password": "x"})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");

    let big = format!("{{\"email\":\"{}\",\"password\":\"x\"}}", "a".repeat(2 * 1024 * 1024));
    let r =
        tp.http.post(tp.url("/auth/login")).header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await, "payload_too_large");
}

#[tokio::test]
async fn data_and_sessions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut tp = start_in(dir.path().to_path_buf(), false).await;
    let token = tp.admin_token().await;
    let r = tp
        .http
        .post(tp.url("/auth/change-password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": ADMIN_PASSWORD, "new_password": "persisted passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    tp.stop().await;

    let tp = start_in(dir.path().to_path_buf(), false).await;
    // The bootstrap did not reset the password, and the old session key still verifies.
    assert_eq!(tp.login(ADMIN_EMAIL, "persisted passphrase").await.status(), StatusCode::OK);
    let me = tp.http.get(tp.url("/auth/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}
