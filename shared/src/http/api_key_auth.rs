//! `x-api-key` authentication for `/api/v1/*`, as middleware inside each external function
//! (see `docs/external-api.md` for why not a Lambda authorizer):
//! - missing, malformed, unknown and revoked keys all get the same 401 (nothing to probe);
//! - a suspended tenant's keys get 403 `tenant_suspended`;
//! - each key is rate limited (`MIPING_API_KEY_RATE_LIMIT` requests per second, counted by the
//!   `RateLimiter` port: shared by every instance on AWS) → 429 `rate_limited` with `Retry-After`;
//! - the request gets an [`ApiKeyPrincipal`] (a key only ever acts for its own tenant) and an
//!   Idempotency-Key scope of its own key.
//!
//! [`body_idempotency_key`] lets the JSON body's `idempotency_key` stand in for the header, with
//! exactly the header's semantics (it simply becomes the header).

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::api_keys;
use crate::store::keys;
use crate::telemetry::stages::{self, Stage};

use super::error::{ApiError, FieldError};
use super::idempotency::{IDEMPOTENCY_KEY, IdempotencyScope, MAX_KEY_LEN};

pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");
/// Largest external request body (a trigger is a few hundred bytes).
pub const MAX_BODY: usize = 256 * 1024;

/// The API key a request was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyPrincipal {
    pub tenant_id: String,
    pub key_id: String,
    /// The key's name and visible prefix (for the audit log).
    pub name: Option<String>,
    pub prefix: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiKeyPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ApiKeyPrincipal>()
            .cloned()
            .ok_or_else(|| ApiError::internal("ApiKeyPrincipal extracted on a route without the API key layer"))
    }
}

fn unauthorized() -> ApiError {
    ApiError::unauthorized("missing or invalid API key (x-api-key header)")
}

/// Use with `from_fn_with_state(state, api_key_authenticated)`.
pub async fn api_key_authenticated(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let started = stages::start();
    let raw = req.headers().get(&API_KEY_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
    let key = api_keys::verify(&state.ports, raw).await?.ok_or_else(unauthorized)?;
    let prefix = api_keys::display_prefix(raw);
    let tenant = state.ports.table.get(&keys::tenant(&key.tenant_id)).await?;
    match tenant.as_ref().and_then(|t| t.get_str("status")) {
        Some("suspended") => return Err(ApiError::forbidden("tenant_suspended", "this tenant is suspended")),
        Some(_) => {}
        None => return Err(unauthorized()),
    }
    let rate = state.config.api_key_rate_limit.max(1);
    let second = state.ports.clock.epoch_seconds();
    let limiter = &state.ports.limiter;
    if !limiter.take(&keys::api_key_rate(&key.key_id), second, rate).await.map_err(crate::domain::Error::from)? {
        // This second's permits are taken: the next second has its own (at most 1 s away).
        return Err(ApiError::too_many(
            "rate_limited",
            format!("this API key may make {rate} requests per second; retry after the Retry-After seconds"),
            1,
        ));
    }
    req.extensions_mut().insert(IdempotencyScope(format!("{}#APIKEY#{}", key.tenant_id, key.key_id)));
    req.extensions_mut().insert(ApiKeyPrincipal {
        tenant_id: key.tenant_id,
        key_id: key.key_id,
        name: key.name,
        prefix,
    });
    stages::finish(Stage::Auth, started);
    Ok(next.run(req).await)
}

/// Moves a POST body's `idempotency_key` into the `Idempotency-Key` header (when the header is
/// absent), so the idempotency layer inside treats both alike. Both given and different → 422.
pub async fn body_idempotency_key(req: Request, next: Next) -> Result<Response, ApiError> {
    if req.method() != Method::POST {
        return Ok(next.run(req).await);
    }
    let (mut parts, body) = req.into_parts();
    let bytes =
        axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE))?;
    let from_body = match serde_json::from_slice::<Value>(&bytes).ok().as_ref().and_then(|v| v.get("idempotency_key")) {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) if !k.trim().is_empty() && k.trim().len() <= MAX_KEY_LEN => Some(k.trim().to_owned()),
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "idempotency_key",
                "invalid",
                format!("a string of 1 to {MAX_KEY_LEN} characters"),
            )]));
        }
    };
    if let Some(k) = from_body {
        match parts.headers.get(&IDEMPOTENCY_KEY).map(|h| h.to_str().map(str::trim)) {
            None => {
                let value = HeaderValue::from_str(&k).map_err(|_| {
                    ApiError::validation(vec![FieldError::new(
                        "idempotency_key",
                        "invalid",
                        "visible ASCII characters only",
                    )])
                })?;
                parts.headers.insert(IDEMPOTENCY_KEY, value);
            }
            Some(Ok(h)) if h == k => {}
            Some(_) => {
                return Err(ApiError::validation(vec![FieldError::new(
                    "idempotency_key",
                    "mismatch",
                    "differs from the Idempotency-Key header; give one of them, or the same value",
                )]));
            }
        }
    }
    Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await)
}
