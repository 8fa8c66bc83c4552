//! `GET /health` (no auth): 200 once the process is ready to serve.

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::http::ApiJson;

pub fn router() -> Router {
    Router::new().route("/health", get(health))
}

async fn health() -> ApiJson<Value> {
    ApiJson(json!({"status": "ok"}))
}
