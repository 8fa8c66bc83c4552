//! `GET|POST /webhook/meta` (no auth; Meta calls it). The POST path does the least possible:
//! verify the signature over the raw bytes, make the body durable, answer 200.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::webhooks::ingest::{IngestError, ingest};
use crate::domain::webhooks::signature;
use crate::http::ApiError;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;

/// Meta's webhook bodies are small, but one delivery may batch many changes.
const WEBHOOK_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(verify, receive))
}

pub fn router(state: AppState) -> Router {
    Router::from(routes()).layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT)).with_state(state)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Subscribe {
    /// `subscribe`.
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    /// The app's `META_VERIFY_TOKEN`.
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    /// Echoed back when the token matches.
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

#[utoipa::path(get, path = "/webhook/meta", tag = tags::WEBHOOK, operation_id = "verify_meta_webhook",
    summary = "Meta's subscription check",
    params(Subscribe),
    responses(
        (status = 200, description = "The challenge, as plain text", content_type = "text/plain", body = String),
        (status = 403, description = "Wrong mode or verify token", body = ErrorBody),
    ))]
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

#[utoipa::path(post, path = "/webhook/meta", tag = tags::WEBHOOK, operation_id = "receive_meta_webhook",
    summary = "Meta's signed event delivery",
    description = "Stored durably before the 200, processed asynchronously; duplicates and any order are fine.",
    params(("X-Hub-Signature-256" = String, Header, description = "`sha256=<hex HMAC-SHA256 of the raw body, key = META_APP_SECRET>`")),
    request_body(content = Object, content_type = "application/json", description = "Meta's webhook payload"),
    responses(
        (status = 200, description = "Stored"),
        (status = 400, description = "The body is not UTF-8", body = ErrorBody),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
    ))]
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
