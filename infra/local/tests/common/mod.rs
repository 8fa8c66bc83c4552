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
    };
    let platform = miping_local::start(options).await.expect("platform starts");
    let base = platform.base_url();
    TestPlatform { platform: Some(platform), base, http: Client::new(), data_dir, _dir: None }
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
        self.http.post(self.url("/auth/login")).json(&json!({"email": email, "password": password})).send().await.unwrap()
    }

    /// Logs in as the test super admin and returns the bearer token.
    pub async fn admin_token(&self) -> String {
        let r = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }
}

/// A tenant with an active status and a signed-in TENANT_ADMIN, made directly through the
/// store (there is no tenant provisioning API on this branch yet).
pub struct TestTenant {
    pub id: String,
    pub token: String,
}

impl TestPlatform {
    pub fn ports(&self) -> &miping::ports::Ports {
        &self.platform.as_ref().expect("platform running").state.ports
    }

    /// A new tenant and its admin; with `contact_limit`, a plan and subscription carrying it.
    pub async fn tenant(&self, contact_limit: Option<u64>) -> TestTenant {
        use miping::domain::user::{Role, User};
        use miping::ports::table::Item;
        use miping::store::keys;

        let ports = self.ports();
        let id = ports.ids.new_id("ten");
        let table = &*ports.table;
        let tenant =
            Item::new(keys::tenant(&id)).with("id", id.clone()).with("name", "Test tenant").with("status", "active");
        table.put(tenant, None).await.unwrap();
        if let Some(limit) = contact_limit {
            let plan_id = ports.ids.new_id("plan");
            table
                .put(Item::new(keys::plan(&plan_id)).with("id", plan_id.clone()).with("contact_limit", limit), None)
                .await
                .unwrap();
            table.put(Item::new(keys::subscription(&id)).with("plan_id", plan_id), None).await.unwrap();
        }
        let now = chrono::Utc::now();
        let email = format!("admin-{id}@tenant.test");
        let user = User {
            id: ports.ids.new_id("usr"),
            email: email.clone(),
            name: "Tenant admin".into(),
            role: Role::TenantAdmin,
            tenant_id: Some(id.clone()),
            password_hash: miping::domain::password::hash(SecretString::from(ADMIN_PASSWORD)).await.unwrap(),
            must_change_password: false,
            created_at: now,
            updated_at: now,
        };
        assert!(miping::store::users::Users::new(table).create(&user).await.unwrap());
        let r = self.login(&email, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
        TestTenant { id, token }
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
