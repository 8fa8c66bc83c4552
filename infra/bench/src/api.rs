//! The platform's HTTP API as the benchmarks drive it: the super admin's session, a provisioned
//! and connected tenant, an approved template. Works on an in-process platform and on a
//! separately started `miping` process alike (only the base URL and the data directory matter).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "bench-admin@bench.test";
pub const ADMIN_PASSWORD: &str = "bench super admin password";

pub type R<T> = Result<T, String>;

pub fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    /// The super admin's token.
    pub admin: String,
    /// The platform's data directory (the welcome emails are read from its outbox).
    pub data_dir: PathBuf,
}

impl Api {
    /// Signs the super admin in (`ADMIN_EMAIL`, `ADMIN_PASSWORD`).
    pub async fn signed_in(base: String, data_dir: PathBuf) -> R<Self> {
        let mut api = Self { http: reqwest::Client::new(), base, admin: String::new(), data_dir };
        api.admin = api.login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        Ok(api)
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> R<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.map_err(err)?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> R<Value> {
        let (status, v) = self.call(reqwest::Method::POST, path, token, Some(body)).await?;
        if !(200..300).contains(&status) {
            return Err(format!("POST {path}: {status} {v}"));
        }
        Ok(v)
    }

    pub async fn login(&self, email: &str, password: &str) -> R<String> {
        let v: Value = self
            .http
            .post(format!("{}/auth/login", self.base))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .map_err(err)?
            .json()
            .await
            .map_err(err)?;
        v["token"].as_str().map(str::to_owned).ok_or(format!("login {email}: {v}"))
    }

    /// A provisioned, active tenant with WhatsApp connected; returns (tenant id, token).
    pub async fn tenant(&self, name: &str) -> R<(String, String)> {
        let plan = self
            .post(
                "/plans",
                &self.admin,
                json!({"name": format!("Bench {name}"), "price": "1.00", "currency": "INR",
                    "monthly_message_limit": 10_000_000, "contact_limit": 1_000_000, "template_limit": 10,
                    "api_key_limit": 2, "messages_per_second": 1000}),
            )
            .await?;
        let email = format!("{name}@bench.test");
        let created = self
            .post(
                "/admin/tenants",
                &self.admin,
                json!({"name": name, "slug": name, "admin_email": email, "admin_name": "Owner", "plan_id": plan["id"]}),
            )
            .await?;
        let id = created["tenant"]["id"].as_str().ok_or("no tenant id")?.to_owned();
        let outbox = miping::platform::embedded::outbox_dir(&self.data_dir);
        let mut one_time = None;
        // Patient: under callgrind (`intake --callgrind`) the mail worker is 50 times slower.
        for _ in 0..2400 {
            one_time = miping::adapters::embedded::outbox::read_outbox(&outbox)
                .into_iter()
                .filter(|m| m.to == email)
                .find_map(|m| m.text.lines().find_map(|l| l.strip_prefix("One-time password: ")).map(str::to_owned));
            if one_time.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let one_time = one_time.ok_or("no welcome email")?;
        let token = self.login(&email, one_time.trim()).await?;
        let password = format!("{name} bench password");
        let (status, _) = self
            .call(
                reqwest::Method::POST,
                "/auth/change-password",
                &token,
                Some(json!({"current_password": one_time.trim(), "new_password": password})),
            )
            .await?;
        if status != 204 {
            return Err(format!("change-password: {status}"));
        }
        let token = self.login(&email, &password).await?;
        let conn = self.post("/whatsapp/connect", &token, json!({"code": format!("bench-{name}")})).await?;
        if conn["status"] != "connected" {
            return Err(format!("connect: {conn}"));
        }
        Ok((id, token))
    }

    /// The tenant's template `order_update` (en_US, two variables), once the simulator approved it.
    pub async fn approved_template(&self, token: &str) -> R<String> {
        let t = self
            .post(
                "/templates",
                token,
                json!({"name": "order_update", "language": "en_US", "category": "UTILITY", "components": [
                    {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships today.", "example": {"body_text": [["Ana", "A-1"]]}}]}),
            )
            .await?;
        let template_id = t["id"].as_str().ok_or("no template id")?.to_owned();
        for _ in 0..100 {
            let (_, v) = self.call(reqwest::Method::GET, &format!("/templates/{template_id}"), token, None).await?;
            if v["status"] == "APPROVED" {
                return Ok(template_id);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("template order_update not approved in 10 s".into())
    }
}
