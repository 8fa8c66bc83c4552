//! Shared test helpers: a fast simulator, a Graph client, and a webhook receiver that checks
//! Meta's signature the way the platform does.

#![allow(dead_code)]

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
