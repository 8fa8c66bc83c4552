//! Shared test helpers: a fast simulator, a Graph client, and a webhook receiver that checks
//! Meta's signature the way the platform does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use meta_sim::{SimConfig, SimHandle};
use serde_json::Value;
use tokio::sync::mpsc;

pub const V: &str = "v24.0";

pub fn fast_config() -> SimConfig {
    SimConfig {
        status_delay: Duration::from_millis(20),
        template_review_delay: Duration::from_millis(50),
        pair_interval: Duration::from_millis(500),
        ..SimConfig::default()
    }
}

pub async fn sim(config: SimConfig) -> SimHandle {
    meta_sim::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

pub struct Graph {
    pub http: reqwest::Client,
    pub base: String,
}

impl Graph {
    pub fn new(sim: &SimHandle) -> Self {
        Self { http: reqwest::Client::new(), base: format!("{}/{V}", sim.base_url()) }
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}/{path}", self.base)).bearer_auth(token).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(format!("{}/{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self.http.delete(format!("{}/{path}", self.base)).bearer_auth(token).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn exchange(&self, code: &str) -> (u16, Value) {
        let r = self.http.get(exchange_url(&self.base, meta_sim::DEFAULT_APP_SECRET, code)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn token(&self, code: &str) -> String {
        let (status, body) = self.exchange(code).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

pub fn exchange_url(base: &str, secret: &str, code: &str) -> reqwest::Url {
    let params = [("client_id", meta_sim::DEFAULT_APP_ID), ("client_secret", secret), ("code", code)];
    reqwest::Url::parse_with_params(&format!("{base}/oauth/access_token"), &params).unwrap()
}

/// A unique code per test, so tests never share a business.
pub fn code(tag: &str) -> String {
    format!("{tag}-{}", ulid::Ulid::new())
}

pub struct Received {
    pub signature_ok: bool,
    pub body: Value,
}

struct Rx {
    secret: String,
    tx: mpsc::UnboundedSender<Received>,
    fail_first: AtomicUsize,
}

/// An axum webhook endpoint; answers 500 to the first `fail_first` deliveries.
pub async fn receiver(secret: &str, fail_first: usize) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Rx { secret: secret.to_owned(), tx, fail_first: AtomicUsize::new(fail_first) });
    let app = axum::Router::new().route("/hook", post(hook)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), rx)
}

async fn hook(State(rx): State<Arc<Rx>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if rx.fail_first.load(Ordering::SeqCst) > 0 {
        rx.fail_first.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let expected = format!("sha256={}", meta_sim::sign_webhook(&rx.secret, &body));
    let signature_ok = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    let _ = rx.tx.send(Received { signature_ok, body: serde_json::from_slice(&body).unwrap() });
    StatusCode::OK
}

pub async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("webhook within 5 s").expect("receiver open")
}

/// The first status of a `messages` webhook.
pub fn status_of(body: &Value) -> &Value {
    &body["entry"][0]["changes"][0]["value"]["statuses"][0]
}

/// One form part: name, `Some((filename, content type))` for a file, the bytes.
pub type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A `multipart/form-data` body. Built by hand (the workspace's reqwest has no multipart
/// feature) — the way any client sends it.
pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = format!("----sim{}", ulid::Ulid::new());
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some((filename, ctype)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Graph {
    /// `POST /{phone}/media` as Meta documents it: `messaging_product`, `file`, `type`.
    pub async fn upload(&self, phone: &str, token: &str, mime: &str, filename: &str, bytes: &[u8]) -> (u16, Value) {
        let parts: [Part; 3] = [
            ("messaging_product", None, b"whatsapp"),
            ("file", Some((filename, mime)), bytes),
            ("type", None, mime.as_bytes()),
        ];
        self.upload_form(phone, token, &parts).await
    }

    /// `POST /{phone}/media` with any form.
    pub async fn upload_form(&self, phone: &str, token: &str, parts: &[Part<'_>]) -> (u16, Value) {
        let (ctype, body) = multipart(parts);
        let r = self
            .http
            .post(format!("{}/{phone}/media", self.base))
            .bearer_auth(token)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

/// Polls `check` every 20 ms until it is true, failing after `within`.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A real Meta webhook body from `shared/fixtures/meta-webhooks` (found above the crate).
pub fn fixture(name: &str) -> Value {
    let start = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = start
        .ancestors()
        .map(|d| d.join("shared/fixtures/meta-webhooks"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("no shared/fixtures/meta-webhooks above {}", start.display()));
    serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap()
}

/// Every field of `expected` (a real payload) is in `actual` with the same JSON type, recursively.
pub fn assert_shape(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let got = a.get(k).unwrap_or_else(|| panic!("{path}.{k} missing in {actual}"));
                assert_shape(v, got, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(e), Some(a)) = (e.first(), a.first()) {
                assert_shape(e, a, &format!("{path}[0]"));
            }
        }
        (e, a) => assert_eq!(
            std::mem::discriminant(e),
            std::mem::discriminant(a),
            "{path}: expected a value like {e}, got {a}"
        ),
    }
}

/// The first message of an inbound `messages` webhook.
pub fn message_of(body: &Value) -> &Value {
    &body["entry"][0]["changes"][0]["value"]["messages"][0]
}
