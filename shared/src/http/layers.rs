//! The middleware every router gets, on Lambda and locally alike: request ids, JSON tracing,
//! panic capture, body size limit, and one error body for everything the framework answers on
//! its own (unknown route 404, 405, 413, 415, a panic's 500).

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Default JSON body limit. Routes that take bulk uploads (contact import) raise their own.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Request ids are ULIDs unless the caller (or API Gateway) already sent one.
#[derive(Clone, Copy, Default)]
struct MakeUlid;

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&format!("req_{}", ulid::Ulid::new().to_string().to_ascii_lowercase()))
            .ok()
            .map(RequestId::new)
    }
}

/// Wraps a route group (or all of them) with the common layers.
pub fn with_common_layers(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(middleware::from_fn(normalize_error_bodies))
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only, never the query string (it may carry a verify token).
                    tracing::info_span!("request", request_id, method = %req.method(), path = req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "response"
                    );
                })
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeUlid))
}

/// Any error response that is not already our JSON (the framework's plain-text 404/405/413/415
/// and rejections) is rewritten into the SPEC error body with the same status.
async fn normalize_error_bodies(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/html"));
    // The console's HTML error pages (a page a person reads) are answers of their own, like our JSON.
    if is_json {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut fixed = ApiError::from_status(status).into_response();
    // Keep headers the framework set for a reason (Allow on 405, Retry-After).
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            fixed.headers_mut().insert(name, v.clone());
        }
    }
    fixed
}
