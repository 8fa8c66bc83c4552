//! `GET|POST /webhook/meta` (no auth; Meta calls it). The POST path does the least possible:
//! verify the signature over the raw bytes, make the body durable, answer 200.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::domain::webhooks::ingest::{IngestError, ingest};
use crate::domain::webhooks::signature;
use crate::http::ApiError;

/// Meta's webhook bodies are small, but one delivery may batch many changes.
const WEBHOOK_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook/meta", get(verify).post(receive))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
        .with_state(state)
}

#[derive(Deserialize)]
struct Subscribe {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn verify(State(state): State<AppState>, Query(q): Query<Subscribe>) -> Result<impl IntoResponse, ApiError> {
    let expected = state.config.meta.verify_token.expose_secret().as_bytes();
    let given = q.verify_token.as_deref().unwrap_or("").as_bytes();
    let token_ok = !expected.is_empty() && bool::from(expected.ct_eq(given));
    match (q.mode.as_deref(), q.challenge) {
        (Some("subscribe"), Some(challenge)) if token_ok => {
            Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge))
        }
        _ => Err(ApiError::forbidden("verification_failed", "hub.mode or hub.verify_token is wrong")),
    }
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<StatusCode, ApiError> {
    let sig = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    if !signature::verify(&state.config.meta.app_secret, &body, sig) {
        return Err(ApiError::unauthorized("missing or invalid X-Hub-Signature-256"));
    }
    match ingest(&state.ports, &body).await {
        Ok(_) => Ok(StatusCode::OK),
        Err(IngestError::NotUtf8) => Err(ApiError::bad_request("invalid_body", "webhook body is not UTF-8 JSON")),
        // Meta retries non-2xx answers with backoff: refusing is how nothing gets lost.
        Err(IngestError::Queue(e)) => Err(e.into()),
        Err(IngestError::Table(e)) => Err(e.into()),
    }
}
