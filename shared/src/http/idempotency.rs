//! `Idempotency-Key` for mutating POSTs (SPEC; Stripe's semantics, Powertools' algorithm):
//!
//! 1. The first request with a key writes an `INPROGRESS` record (fingerprint of method, path,
//!    content type and body; 24 h TTL; a short lock) with `attribute_not_exists OR expired`, runs
//!    the handler, then stores the response as `COMPLETED`.
//! 2. A retry with the same key and the same fingerprint gets the stored response again
//!    (`Idempotent-Replayed: true`); with a different fingerprint, 409 `idempotency_key_reused`.
//! 3. A retry while the first is still running gets 409 `idempotency_request_in_progress`; a
//!    lock left by a crashed request expires and the next retry runs the handler.
//! 4. Answers that are not the request's outcome are not stored (the record is removed, so the
//!    retry really runs), as Stripe does: "try again" (5xx, 429), a request the client must fix
//!    before it can run at all (400, 413, 415, 422: the corrected request with the same key then
//!    runs), and conflicts with transient state (`conflict` "changed concurrently",
//!    `connect_in_progress`).
//! 5. A secret is never stored: a response that shows one once (a new API key) carries a
//!    [`RedactedReplay`] body, which is what the record keeps and a replay returns.
//!
//! Keys are scoped to the caller's account (the tenant, or the user for the super admin), like
//! Stripe's per-account keys. The layer goes inside the auth layer, which provides the scope.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::BodyExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::ports::table::{Cond, Item, TableError, Update};
use crate::store::keys;

use super::error::{ApiError, ErrorCode};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
pub const MAX_KEY_LEN: usize = 255;
const RECORD_TTL_SECS: i64 = 24 * 3600;
/// How long a request may hold the key before a retry may assume it crashed.
const LOCK_SECS: i64 = 60;
/// Largest body the layer buffers to fingerprint (bigger bodies have their own route limits).
const MAX_BUFFERED_BODY: usize = 64 * 1024 * 1024;

/// Whose keys these are. Inserted into request extensions by the authentication layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyScope(pub String);

/// Set by a handler whose response shows a secret once: the body to store and replay instead
/// (the same JSON with the secret left out). The layer never persists the real body then.
#[derive(Clone, Debug)]
pub struct RedactedReplay(pub Bytes);

/// 409 codes that describe a moment, not the request: a retry may well succeed.
const TRANSIENT_CONFLICTS: &[&str] = &["conflict", "connect_in_progress", "idempotency_request_in_progress"];

/// Whether an answer is the outcome a retry with the same key should see again.
fn keep_for_replay(status: StatusCode, code: Option<&str>) -> bool {
    match status {
        s if s.is_server_error() => false,
        StatusCode::BAD_REQUEST
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNSUPPORTED_MEDIA_TYPE
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::TOO_MANY_REQUESTS => false,
        StatusCode::CONFLICT => !code.is_some_and(|c| TRANSIENT_CONFLICTS.contains(&c)),
        _ => true,
    }
}

/// The middleware. Use with `from_fn_with_state(state, idempotency)` inside the auth layer.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    if req.method() != Method::POST {
        return Ok(next.run(req).await);
    }
    let Some(raw_key) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(next.run(req).await);
    };
    let key = raw_key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible characters"),
            )
        })?
        .to_string();
    let scope = req
        .extensions()
        .get::<IdempotencyScope>()
        .cloned()
        .ok_or_else(|| ApiError::internal("idempotency layer without an authenticated scope"))?;

    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BUFFERED_BODY)
        .await
        .map_err(|_| ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE))?;
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let fingerprint = fingerprint(&parts.method, parts.uri.path(), content_type, &bytes);
    let record_key = keys::idempotency(&scope.0, &key);
    let now = state.ports.clock.epoch_seconds();

    match claim(&state, &record_key, &fingerprint, now).await? {
        Claim::Replay(response) => return Ok(response),
        Claim::Run => {}
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    if !keep_for_replay(status, code) {
        // Nothing to replay: let the retry run again.
        state.ports.table.delete(&record_key, None).await?;
        return Ok(response);
    }
    let (resp_parts, resp_body) = response.into_parts();
    let resp_bytes = resp_body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let stored = resp_parts.extensions.get::<RedactedReplay>().map_or_else(|| resp_bytes.clone(), |r| r.0.clone());
    let content_type =
        resp_parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let update = Update::new()
        .set("status", "COMPLETED")
        .set("response_status", status.as_u16())
        .set("response_content_type", content_type)
        .set("response_body", B64.encode(&stored));
    match state.ports.table.update(&record_key, update, Some(Cond::eq("fingerprint", fingerprint))).await {
        Ok(_) => {}
        // Too big to keep: the response still goes out, but a retry will run again.
        Err(TableError::ItemTooLarge) => state.ports.table.delete(&record_key, None).await.map(|_| ())?,
        Err(e) => return Err(e.into()),
    }
    Ok(Response::from_parts(resp_parts, Body::from(resp_bytes)))
}

enum Claim {
    Run,
    Replay(Response),
}

async fn claim(
    state: &AppState,
    record_key: &crate::ports::table::Key,
    fingerprint: &str,
    now: i64,
) -> Result<Claim, ApiError> {
    let record = Item::new(record_key.clone())
        .with("status", "INPROGRESS")
        .with("fingerprint", fingerprint)
        .with("locked_until", now + LOCK_SECS)
        .with_ttl(now + RECORD_TTL_SECS);
    let current = match state.ports.table.put(record.clone(), Some(Cond::expired_or_absent(now))).await {
        Ok(()) => return Ok(Claim::Run),
        Err(TableError::ConditionFailed { current }) => current,
        Err(e) => return Err(e.into()),
    };
    let Some(current) = current else {
        // It vanished between the check and now: whoever removed it wants us to retry.
        return Err(ApiError::conflict(
            "idempotency_request_in_progress",
            "a request with this Idempotency-Key is in progress; retry",
        ));
    };
    if current.get_str("fingerprint") != Some(fingerprint) {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request; use a new key",
        ));
    }
    match current.get_str("status") {
        Some("COMPLETED") => Ok(Claim::Replay(replay(&current)?)),
        _ if current.get_i64("locked_until").unwrap_or(0) <= now => {
            // The first attempt died holding the lock: take it over, once.
            let takeover =
                Cond::And(vec![Cond::eq("status", "INPROGRESS"), Cond::Le("locked_until".into(), Value::from(now))]);
            match state.ports.table.put(record, Some(takeover)).await {
                Ok(()) => Ok(Claim::Run),
                Err(TableError::ConditionFailed { .. }) => Err(in_progress()),
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(in_progress()),
    }
}

fn in_progress() -> ApiError {
    ApiError::conflict(
        "idempotency_request_in_progress",
        "a request with this Idempotency-Key is still in progress; retry shortly",
    )
}

fn replay(record: &Item) -> Result<Response, ApiError> {
    let status = record
        .get_i64("response_status")
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .ok_or_else(|| ApiError::internal("idempotency record without a status"))?;
    let body = B64.decode(record.get_str("response_body").unwrap_or("")).map_err(ApiError::internal)?;
    let mut response = (status, Bytes::from(body)).into_response();
    if let Some(ct) = record.get_str("response_content_type").filter(|c| !c.is_empty())
        && let Ok(v) = HeaderValue::from_str(ct)
    {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// SHA-256 over method, path, content type and body: "the same request" (the same bytes sent
/// as `text/plain` and as JSON are different requests: one is a 415). JSON bodies are
/// canonicalised (parsed and re-serialised with sorted keys) so whitespace or key order do not
/// count as a different request; the content type counts by its essence, case-insensitively.
fn fingerprint(method: &Method, path: &str, content_type: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<Value>(body).ok().map(|v| canonical_json(&v).into_bytes());
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(essence.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_deref().unwrap_or(body));
    hex(&h.finalize())
}

fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k]))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

pub use crate::util::hex;

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = "application/json";

    #[test]
    fn fingerprint_ignores_json_formatting_but_not_content() {
        let a = fingerprint(&Method::POST, "/plans", JSON, br#"{"a":1,"b":[1,2]}"#);
        let b = fingerprint(&Method::POST, "/plans", JSON, b"{ \"b\": [1, 2], \"a\": 1 }");
        let c = fingerprint(&Method::POST, "/plans", JSON, br#"{"a":2,"b":[1,2]}"#);
        let d = fingerprint(&Method::POST, "/other", JSON, br#"{"a":1,"b":[1,2]}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn fingerprint_includes_the_content_type() {
        let body = br#"{"a":1}"#;
        let json = fingerprint(&Method::POST, "/plans", JSON, body);
        assert_eq!(json, fingerprint(&Method::POST, "/plans", "Application/JSON; charset=utf-8", body));
        assert_ne!(json, fingerprint(&Method::POST, "/plans", "text/plain", body));
        assert_ne!(json, fingerprint(&Method::POST, "/plans", "", body));
    }

    #[test]
    fn only_outcomes_are_kept_for_replay() {
        for status in [200, 201, 202, 204, 401, 403, 404] {
            assert!(keep_for_replay(StatusCode::from_u16(status).unwrap(), None), "{status}");
        }
        for status in [400, 413, 415, 422, 429, 500, 502, 503] {
            assert!(!keep_for_replay(StatusCode::from_u16(status).unwrap(), Some("x")), "{status}");
        }
        assert!(keep_for_replay(StatusCode::CONFLICT, Some("slug_taken")));
        assert!(!keep_for_replay(StatusCode::CONFLICT, Some("conflict")));
        assert!(!keep_for_replay(StatusCode::CONFLICT, Some("connect_in_progress")));
    }
}
