//! Starts the real local platform (embedded store in a temp dir, real TCP port) for HTTP tests.
#![allow(dead_code)]

use std::path::PathBuf;

use miping::config::SuperAdminBootstrap;
use miping_local::{Options, Platform};
use reqwest::{Client, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "owner@platform.test";
pub const ADMIN_PASSWORD: &str = "a very long test password";

pub struct TestPlatform {
    pub platform: Option<Platform>,
    pub base: String,
    pub http: Client,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

pub async fn start() -> TestPlatform {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_path_buf();
    let mut tp = start_in(data_dir, false).await;
    tp._dir = Some(dir);
    tp
}

/// Starts on `data_dir` (kept by the caller) with the test super admin; `generated` makes its
/// password count as generated (so it must be changed).
pub async fn start_in(data_dir: PathBuf, generated: bool) -> TestPlatform {
    let options = Options {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.clone(),
        configure: Some(Box::new(move |c| {
            c.super_admin = Some(SuperAdminBootstrap {
                email: ADMIN_EMAIL.into(),
                password: SecretString::from(ADMIN_PASSWORD),
                generated,
            });
        })),
        simulator: Some("127.0.0.1:0".parse().unwrap()),
    };
    let platform = miping_local::start(options).await.expect("platform starts");
    let base = platform.base_url();
    TestPlatform { platform: Some(platform), base, http: Client::new(), data_dir, _dir: None }
}

/// Starts like [`start`] with a further change to the configuration (e.g. the connect page's
/// SDK URL pointed at a test stand-in).
pub async fn start_configured(configure: impl FnOnce(&mut miping::config::Config) + Send + 'static) -> TestPlatform {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        configure: Some(Box::new(move |c| {
            c.super_admin = Some(SuperAdminBootstrap {
                email: ADMIN_EMAIL.into(),
                password: SecretString::from(ADMIN_PASSWORD),
                generated: false,
            });
            configure(c);
        })),
        simulator: Some("127.0.0.1:0".parse().unwrap()),
    };
    let platform = miping_local::start(options).await.expect("platform starts");
    let base = platform.base_url();
    TestPlatform {
        platform: Some(platform),
        base,
        http: Client::new(),
        data_dir: dir.path().to_path_buf(),
        _dir: Some(dir),
    }
}

impl TestPlatform {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(&mut self) {
        if let Some(p) = self.platform.take() {
            p.stop().await.unwrap();
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.http
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Logs in as the test super admin and returns the bearer token.
    pub async fn admin_token(&self) -> String {
        let r = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }
}

/// Asserts the SPEC error body and returns its code.
pub async fn error_code(r: Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status, "unexpected status");
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "error content-type was {ct:?}");
    let body: Value = r.json().await.unwrap();
    let err = &body["error"];
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "error without message: {body}");
    assert!(err["details"].is_array(), "error without details array: {body}");
    err["code"].as_str().expect("error code").to_string()
}
