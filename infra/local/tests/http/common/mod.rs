//! Starts the real local platform (embedded store in a temp dir, real TCP port) for HTTP tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod faults;
pub mod sending;

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
    start_with(data_dir, generated, true).await
}

/// The platform without its queue consumers, for tests that inspect what lands on the queues.
pub async fn start_without_consumers() -> TestPlatform {
    let dir = tempfile::tempdir().unwrap();
    let mut tp = start_with(dir.path().to_path_buf(), false, false).await;
    tp._dir = Some(dir);
    tp
}

pub async fn start_with(data_dir: PathBuf, generated: bool, consumers: bool) -> TestPlatform {
    launch(data_dir, generated, consumers, |_| {}).await
}

/// Starts like [`start`] with a further change to the configuration (e.g. the connect page's
/// SDK URL pointed at a test stand-in).
pub async fn start_configured(configure: impl FnOnce(&mut miping::config::Config) + Send + 'static) -> TestPlatform {
    let dir = tempfile::tempdir().unwrap();
    let mut tp = launch(dir.path().to_path_buf(), false, true, configure).await;
    tp._dir = Some(dir);
    tp
}

/// Starts like [`start`] with the HTTP server's timeouts changed.
pub async fn start_with_timeouts(timeouts: miping_local::server::Timeouts) -> TestPlatform {
    let dir = tempfile::tempdir().unwrap();
    let mut tp = launch_with(dir.path().to_path_buf(), false, true, |_| {}, timeouts).await;
    tp._dir = Some(dir);
    tp
}

/// The one place tests start a platform: the test super admin, a simulator on a free port.
async fn launch(
    data_dir: PathBuf,
    generated: bool,
    consumers: bool,
    configure: impl FnOnce(&mut miping::config::Config) + Send + 'static,
) -> TestPlatform {
    launch_with(data_dir, generated, consumers, configure, Default::default()).await
}

async fn launch_with(
    data_dir: PathBuf,
    generated: bool,
    consumers: bool,
    configure: impl FnOnce(&mut miping::config::Config) + Send + 'static,
    timeouts: miping_local::server::Timeouts,
) -> TestPlatform {
    let options = Options {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.clone(),
        configure: Some(Box::new(move |c| {
            c.super_admin = Some(SuperAdminBootstrap {
                email: ADMIN_EMAIL.into(),
                password: SecretString::from(ADMIN_PASSWORD),
                generated,
            });
            configure(c);
        })),
        simulator: Some("127.0.0.1:0".parse().unwrap()),
        consumers,
        background_nice: 0,
        timeouts,
        wrap_queue: None,
        wrap_table: None,
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
        let mut tenant =
            Item::new(keys::tenant(&id)).with("id", id.clone()).with("name", "Test tenant").with("status", "active");
        if let Some(limit) = contact_limit {
            // The tenant item carries its plan (as provisioning writes it).
            let plan_id = ports.ids.new_id("plan");
            table
                .put(Item::new(keys::plan(&plan_id)).with("id", plan_id.clone()).with("contact_limit", limit), None)
                .await
                .unwrap();
            tenant = tenant.with("plan_id", plan_id);
        }
        table.put(tenant, None).await.unwrap();
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
            status: Default::default(),
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

// --- administration helpers -----------------------------------------------------------------

pub fn sample_plan() -> Value {
    json!({"name": "Starter", "price": "99.00", "currency": "INR", "monthly_message_limit": 1000,
        "contact_limit": 500, "template_limit": 10, "api_key_limit": 2, "messages_per_second": 10})
}

/// Creates a plan as the super admin; returns its id.
pub async fn create_plan(tp: &TestPlatform, admin: &str) -> String {
    let r = tp.http.post(tp.url("/plans")).bearer_auth(admin).json(&sample_plan()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

/// Waits (up to 10 s) for the welcome email to `to` and returns its one-time password.
pub async fn welcome_password(
    tp: &TestPlatform,
    to: &str,
    nth: usize,
) -> (miping::adapters::embedded::outbox::OutboxEmail, String) {
    let dir = miping::platform::embedded::outbox_dir(&tp.data_dir);
    for _ in 0..200 {
        let mails: Vec<_> =
            miping::adapters::embedded::outbox::read_outbox(&dir).into_iter().filter(|m| m.to == to).collect();
        if let Some(mail) = mails.get(nth) {
            let password = mail
                .text
                .lines()
                .find_map(|l| l.strip_prefix("One-time password: "))
                .expect("the email states the password")
                .trim()
                .to_string();
            return (mail.clone(), password);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no welcome email #{nth} to {to} in {}", dir.display());
}

pub struct ActiveTenant {
    pub id: String,
    pub plan_id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// A tenant just provisioned: its admin has the one-time password from the welcome email.
pub struct NewTenant {
    pub id: String,
    pub plan_id: String,
    pub email: String,
    pub one_time: String,
}

/// Provisions a tenant as the super admin and reads its welcome email.
pub async fn provision(tp: &TestPlatform) -> NewTenant {
    let admin = tp.admin_token().await;
    let plan_id = create_plan(tp, &admin).await;
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let email = format!("owner{n}@tenant.test");
    let r = tp
        .http
        .post(tp.url("/admin/tenants"))
        .bearer_auth(&admin)
        .json(&json!({"name": format!("Tenant {n}"), "slug": format!("tenant-{n}"), "admin_email": email,
            "admin_name": "Owner", "plan_id": plan_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["tenant"]["id"].as_str().unwrap().to_string();
    let (_, one_time) = welcome_password(tp, &email, 0).await;
    NewTenant { id, plan_id, email, one_time }
}

/// Signs in with `password` and returns the token.
pub async fn token(tp: &TestPlatform, email: &str, password: &str) -> String {
    let r = tp.login(email, password).await;
    assert_eq!(r.status(), StatusCode::OK, "sign-in as {email}");
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

/// Changes the password of the signed-in user.
pub async fn change_password(tp: &TestPlatform, token: &str, current: &str, new: &str) -> Response {
    post(tp, token, "/auth/change-password", &json!({"current_password": current, "new_password": new})).await
}

/// Provisions a tenant, reads its welcome email, logs in and changes the one-time password.
pub async fn provision_and_activate(tp: &TestPlatform) -> ActiveTenant {
    let NewTenant { id, plan_id, email, one_time } = provision(tp).await;
    let token = token(tp, &email, &one_time).await;
    let password = format!("my own password {id}");
    assert_eq!(change_password(tp, &token, &one_time, &password).await.status(), StatusCode::NO_CONTENT);
    ActiveTenant { id, plan_id, email, password, token }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// Every log line of this test process, at TRACE, as JSON, through the global subscriber. nextest
/// runs one test per process; under `cargo test` the tests of this binary share one capture (so
/// it holds more than the calling test's lines). Read it with [`CapturedLogs::text`].
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn install() -> Self {
        static INSTALLED: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
        INSTALLED
            .get_or_init(|| {
                let captured = Self::default();
                let writer = captured.clone();
                tracing_subscriber::fmt()
                    .json()
                    .with_max_level(tracing::Level::TRACE)
                    .with_current_span(true)
                    .with_writer(move || writer.clone())
                    .init();
                captured
            })
            .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// --- HTTP helpers shared by the feature tests --------------------------------------------------

pub async fn post(tp: &TestPlatform, token: &str, path: &str, body: &Value) -> Response {
    tp.http.post(tp.url(path)).bearer_auth(token).json(body).send().await.unwrap()
}

/// The super admin changes the tenant's plan (`PATCH /plans/{id}` with `patch`): 200, the plan.
pub async fn set_plan(tp: &TestPlatform, admin: &str, plan_id: &str, patch: Value) -> Value {
    let r = tp.http.patch(tp.url(&format!("/plans/{plan_id}"))).bearer_auth(admin).json(&patch).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "PATCH /plans/{plan_id} {patch}");
    r.json().await.unwrap()
}

/// GET with the status and the JSON body (`null` when the body is not JSON).
pub async fn get_json(tp: &TestPlatform, token: &str, path: &str) -> (StatusCode, Value) {
    let r = tp.http.get(tp.url(path)).bearer_auth(token).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Polls `path` (up to ~15 s) until its `field` is `want`; returns the resource.
pub async fn poll_field(tp: &TestPlatform, token: &str, path: &str, field: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (status, v) = get_json(tp, token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        if v[field] == want {
            return v;
        }
        last = v;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never got {field} = {want}: {last}");
}

/// Connects the tenant's WhatsApp through `POST /whatsapp/connect` with a simulator code;
/// returns the connection view.
pub async fn connect_whatsapp(tp: &TestPlatform, token: &str, code: &str) -> Value {
    let r = post(tp, token, "/whatsapp/connect", &json!({"code": code})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "connected", "{v}");
    v
}

/// Connects with a fresh simulator code (a WABA and number of its own); returns the connection
/// view.
pub async fn connect_new(tp: &TestPlatform, t: &ActiveTenant) -> Value {
    let code = format!("t-{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    connect_whatsapp(tp, &t.token, &code).await
}

/// A UTILITY template with two body variables: "Hi {{1}}, your order {{2}} ships today.".
pub fn order_update(name: &str, language: &str) -> Value {
    json!({"name": name, "language": language, "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} ships today.", "example": {"body_text": [["Ana", "A-1"]]}}
    ]})
}

/// Creates the template and waits for the simulator's review to give it `status`; returns its id.
pub async fn reviewed_template(tp: &TestPlatform, t: &ActiveTenant, body: &Value, status: &str) -> String {
    let r = post(tp, &t.token, "/templates", body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    poll_field(tp, &t.token, &format!("/templates/{id}"), "status", status).await;
    id
}

/// A new tenant, connected, with an approved `order_update` (en_US); and its connection view.
pub async fn ready_to_send(tp: &TestPlatform) -> (ActiveTenant, Value) {
    let t = provision_and_activate(tp).await;
    let connection = connect_new(tp, &t).await;
    reviewed_template(tp, &t, &order_update("order_update", "en_US"), "APPROVED").await;
    (t, connection)
}

/// Polls `check` every 100 ms until it gives `Some`, for up to `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// [`eventually`] for a yes/no check.
pub async fn until<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually(secs, what, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await
}

/// POSTs `body` to `/webhook/meta` signed with the platform's app secret, as Meta does.
pub async fn post_signed_webhook(tp: &TestPlatform, body: &[u8]) -> Response {
    let secret = tp.platform.as_ref().expect("platform running").state.config.meta.app_secret.clone();
    tp.http
        .post(tp.url("/webhook/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", miping::domain::webhooks::signature::sign(&secret, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// A signed-webhook body (Meta's shape, as the `status_*` fixtures) with one status of our
/// message `message_id` (echoed as `biz_opaque_callback_data`) sent from `phone_number_id`;
/// `failed` carries error 131026. Add `pricing` etc. to `["entry"][0]["changes"][0]["value"]["statuses"][0]`.
pub fn status_webhook(phone_number_id: &str, wamid: &str, message_id: &str, status: &str, ts: i64) -> Value {
    let mut s = json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": "15550001111",
                       "biz_opaque_callback_data": message_id});
    if status == "failed" {
        s["errors"] =
            json!([{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "Unable to deliver"}}]);
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550009999", "phone_number_id": phone_number_id},
        "statuses": [s]}}]}]})
}

/// A customer's text as the webhook processor hands it to the inbox (`inbox::record_inbound`):
/// from `from` (digits), Meta's `wamid`, sent at `ts` (epoch seconds).
pub fn inbound_message(
    from: &str,
    wamid: &str,
    text: &str,
    ts: i64,
) -> miping::domain::webhooks::payload::InboundMessage {
    miping::domain::webhooks::payload::InboundMessage {
        wamid: wamid.into(),
        from: Some(from.into()),
        from_user_id: None,
        timestamp: ts,
        kind: "text".into(),
        text: Some(text.into()),
        media_id: None,
        reply_id: None,
        context_id: None,
        referral: None,
        raw: json!({"type": "text", "text": {"body": text}}),
    }
}

/// The in-process Meta simulator of a platform started by [`start`].
pub fn simulator(tp: &TestPlatform) -> &meta_sim::SimHandle {
    tp.platform.as_ref().expect("platform running").simulator.as_ref().expect("the built-in simulator")
}

/// A customer at `from` (digits, as Meta writes them) sends `text` to the tenant's number
/// (`POST /_sim/inbound`); the simulator delivers the signed webhook. Returns its answer (`wamid`).
pub async fn customer_writes(tp: &TestPlatform, connection: &Value, from: &str, text: &str) -> Value {
    let r = tp
        .http
        .post(format!("{}/_sim/inbound", simulator(tp).base_url()))
        .json(&json!({"phone_number_id": connection["phone_number_id"], "from": from, "text": text}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "the simulator took the inbound message");
    r.json().await.unwrap()
}

/// GET that must answer 200; returns the JSON body.
pub async fn get_ok(tp: &TestPlatform, token: &str, path: &str) -> Value {
    let (status, body) = get_json(tp, token, path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// Starts the platform on a fixed address and data directory against a simulator the test runs
/// itself, so the simulator (what Meta received) outlives restarts of the platform. The
/// simulator's webhooks should point at `addr`.
pub async fn start_against(sim: &meta_sim::SimHandle, addr: std::net::SocketAddr, data_dir: PathBuf) -> TestPlatform {
    start_against_with(sim, addr, data_dir, true, None, |_| {}).await
}

/// [`start_against`] with or without the queue consumers, a queue wrapper (fault injection) and
/// a further configuration change.
pub async fn start_against_with(
    sim: &meta_sim::SimHandle,
    addr: std::net::SocketAddr,
    data_dir: PathBuf,
    consumers: bool,
    wrap_queue: Option<miping_local::WrapQueue>,
    configure: impl FnOnce(&mut miping::config::Config) + Send + 'static,
) -> TestPlatform {
    let graph_url = sim.base_url();
    let options = Options {
        addr,
        data_dir: data_dir.clone(),
        configure: Some(Box::new(move |c| {
            c.super_admin = Some(SuperAdminBootstrap {
                email: ADMIN_EMAIL.into(),
                password: SecretString::from(ADMIN_PASSWORD),
                generated: false,
            });
            c.meta.graph_url = graph_url;
            configure(c);
        })),
        simulator: None,
        consumers,
        background_nice: 0,
        timeouts: Default::default(),
        wrap_queue,
        wrap_table: None,
    };
    let platform = miping_local::start(options).await.expect("platform starts");
    let base = platform.base_url();
    TestPlatform { platform: Some(platform), base, http: Client::new(), data_dir, _dir: None }
}

// --- password reset --------------------------------------------------------------------------

/// The emails to `to` in the local outbox.
pub fn outbox_to(tp: &TestPlatform, to: &str) -> Vec<miping::adapters::embedded::outbox::OutboxEmail> {
    let dir = miping::platform::embedded::outbox_dir(&tp.data_dir);
    miping::adapters::embedded::outbox::read_outbox(&dir).into_iter().filter(|m| m.to == to).collect()
}

/// Waits (up to 10 s) for the `nth` reset email to `to`; returns the link's token.
pub async fn reset_token(tp: &TestPlatform, to: &str, nth: usize) -> String {
    for _ in 0..200 {
        let mails: Vec<_> = outbox_to(tp, to).into_iter().filter(|m| m.subject.contains("Reset")).collect();
        if let Some(mail) = mails.get(nth) {
            let link = mail.text.lines().find(|l| l.contains("/reset-password#token=")).expect("a reset link");
            assert!(link.starts_with(&tp.platform.as_ref().unwrap().state.config.public_url), "{link}");
            return link.split("#token=").nth(1).unwrap().trim().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no reset email #{nth} to {to}");
}

// --- members -----------------------------------------------------------------------------------

/// A member invited through `POST /members` who has signed in with the emailed one-time password
/// and chosen their own.
pub struct ActiveMember {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// Invites `email` as `role` (`TENANT_ADMIN` | `TENANT_AGENT`) with the admin's token; returns the
/// answer (201 with the member, or the refusal).
pub async fn invite(tp: &TestPlatform, admin_token: &str, email: &str, role: &str) -> Response {
    post(tp, admin_token, "/members", &json!({"email": email, "name": format!("Member {email}"), "role": role})).await
}

/// Invites a new member of `role`, reads the invitation email, signs in with its one-time
/// password and changes it.
pub async fn invite_and_activate(tp: &TestPlatform, admin_token: &str, role: &str) -> ActiveMember {
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let email = format!("member{n}@team.test");
    let r = invite(tp, admin_token, &email, role).await;
    assert_eq!(r.status(), StatusCode::CREATED, "invite {email}");
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let (_, one_time) = welcome_password(tp, &email, 0).await;
    let first = token(tp, &email, &one_time).await;
    let password = format!("member password {n} of the team");
    assert_eq!(change_password(tp, &first, &one_time, &password).await.status(), StatusCode::NO_CONTENT);
    ActiveMember { id, email, password, token: first }
}
