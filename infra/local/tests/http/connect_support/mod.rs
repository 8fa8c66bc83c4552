//! Helpers for the WhatsApp connection tests: tenants and their admins created straight in the
//! store (tenant provisioning has its own API and tests), Graph ids from the simulator's
//! deterministic mapping, and the real Meta webhook fixtures.
#![allow(dead_code)]

use chrono::Utc;
use miping::domain::user::{Role, User};
use miping::ports::table::Item;
use miping::store::keys;
use miping::store::users::Users;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::TestPlatform;

pub const TENANT_PASSWORD: &str = "tenant admin passphrase 1";

pub struct Tenant {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// An active tenant with a TENANT_ADMIN who can log in; returns its bearer token.
pub async fn tenant(tp: &TestPlatform, name: &str) -> Tenant {
    let state = &tp.platform.as_ref().expect("platform running").state;
    let id = format!("ten_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let item = Item::new(keys::tenant(&id)).with("id", id.clone()).with("name", name).with("status", "active");
    state.ports.table.put(item, None).await.unwrap();
    // A valid address for the browser's own form validation too (no `_` in the domain).
    let email =
        format!("{}.{}@tenant.test", name.to_ascii_lowercase(), ulid::Ulid::new().to_string().to_ascii_lowercase());
    let now = Utc::now();
    let user = User {
        id: format!("usr_{}", ulid::Ulid::new().to_string().to_ascii_lowercase()),
        email: email.clone(),
        name: format!("{name} admin"),
        role: Role::TenantAdmin,
        tenant_id: Some(id.clone()),
        password_hash: miping::domain::password::hash(SecretString::from(TENANT_PASSWORD)).await.unwrap(),
        must_change_password: false,
        status: Default::default(),
        created_at: now,
        updated_at: now,
    };
    assert!(Users::new(&*state.ports.table).create(&user).await.unwrap());
    let r = tp.login(&email, TENANT_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    Tenant { id, email, token }
}

/// A code no other test uses (the simulator maps it to its own business).
pub fn code(tag: &str) -> String {
    format!("{tag}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())
}

pub fn sim(tp: &TestPlatform) -> &meta_sim::SimHandle {
    tp.platform.as_ref().unwrap().simulator.as_ref().expect("simulator running")
}

pub fn ports(tp: &TestPlatform) -> &miping::ports::Ports {
    &tp.platform.as_ref().unwrap().state.ports
}

pub async fn connect(tp: &TestPlatform, t: &Tenant, body: Value) -> Response {
    tp.http.post(tp.url("/whatsapp/connect")).bearer_auth(&t.token).json(&body).send().await.unwrap()
}

pub async fn connect_code(tp: &TestPlatform, t: &Tenant, code: &str) -> Response {
    connect(tp, t, json!({ "code": code })).await
}

pub async fn status(tp: &TestPlatform, t: &Tenant) -> Value {
    let r = tp.http.get(tp.url("/whatsapp/status")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

pub async fn disconnect(tp: &TestPlatform, t: &Tenant) -> Response {
    tp.http.delete(tp.url("/whatsapp")).bearer_auth(&t.token).send().await.unwrap()
}

/// `{step name: status}` of a connection view.
pub fn step_statuses(view: &Value) -> Vec<(String, String)> {
    view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string()))
        .collect()
}

pub fn step<'v>(view: &'v Value, name: &str) -> &'v Value {
    view["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step {name}"))
}

/// A real Meta webhook body from `shared/fixtures/meta-webhooks`.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(miping::testkit::fixtures_dir("meta-webhooks").join(name)).unwrap()
}
pub mod webdriver;
