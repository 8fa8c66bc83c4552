//! The one error shape every route answers with:
//! `{"error": {"code": "<stable_snake_case>", "message": "<human text>", "details": [...]}}`.
//!
//! Codes are part of the API contract (integrators branch on them); messages are for people.
//! A 5xx never carries internals: the cause is logged with the request id, the body says only
//! what kind of failure it was.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::billing::BillingError;
use crate::domain::error::{Error, Kind};
use crate::ports::mailer::MailError;
use crate::ports::queue::QueueError;
use crate::ports::table::TableError;
use crate::ports::vault::VaultError;

pub use crate::domain::error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds, sent as `Retry-After` on 429/503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Vec::new(), retry_after: None }
    }
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 422 with one entry per bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", details.len()),
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message).with_details(details)
    }
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message).with_retry_after(retry_after)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", message).with_retry_after(1)
    }
    /// An unexpected failure. The cause goes to the log (with the request id of the current
    /// span), never to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")
    }

    /// The canonical error for a status the framework produced (404 route, 405, 413, 415, ...).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "the request is malformed"),
            401 => ("unauthorized", "missing or invalid credentials"),
            403 => ("forbidden", "not allowed"),
            404 => ("not_found", "no such resource"),
            405 => ("method_not_allowed", "this method is not allowed on this resource"),
            408 => ("request_timeout", "the request took too long"),
            413 => ("payload_too_large", "the request body is too large"),
            414 => ("uri_too_long", "the request URI is too long"),
            415 => ("unsupported_media_type", "unsupported content type"),
            422 => ("validation_failed", "the request is invalid"),
            429 => ("rate_limited", "too many requests"),
            431 => ("header_fields_too_large", "the request headers are too large"),
            503 => ("service_unavailable", "temporarily unavailable, retry later"),
            s if s >= 500 => ("internal_error", "something went wrong on our side"),
            _ => ("error", "the request failed"),
        };
        Self::new(status, code, message)
    }
}

/// The body of every error answer (documented as the `ErrorBody` component).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody, example = json!({"error": {"code": "validation_failed", "message": "phone: is not a valid phone number",
    "details": [{"field": "phone", "code": "invalid", "message": "is not a valid phone number"}]}}))]
pub(crate) struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorObject)]
pub(crate) struct Inner<'a> {
    /// Stable snake_case code to branch on (`not_found`, `validation_failed`, `quota_exceeded`, ...).
    code: &'a str,
    /// Human-readable; may change.
    message: &'a str,
    /// One entry per offending field (422), else empty.
    details: &'a [FieldError],
}

/// The `code` of an error answer, as a response extension: layers that decide by it (the
/// idempotency layer keeps no transient conflict) need not parse the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Inner { code: self.code, message: &self.message, details: &self.details } };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The one kind→status mapping: every domain error answers with its own code and message.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match e.kind {
            Kind::Malformed => StatusCode::BAD_REQUEST,
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Gone => StatusCode::GONE,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Limit => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self { status, code: e.code, message: e.message, details: e.details, retry_after: e.retry_after }
    }
}

/// Port failures met at the edge answer as they would inside a use case.
macro_rules! via_domain {
    ($($port:ty),*) => {$(
        impl From<$port> for ApiError {
            fn from(e: $port) -> Self {
                Error::from(e).into()
            }
        }
    )*};
}
via_domain!(TableError, QueueError, VaultError, MailError, BillingError);

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(r: Response) -> serde_json::Value {
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn renders_the_spec_shape_with_retry_after() {
        let r = ApiError::too_many("login_throttled", "slow down", 30).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "30");
        let v = body_json(r).await;
        assert_eq!(v["error"]["code"], "login_throttled");
        assert_eq!(v["error"]["message"], "slow down");
        assert_eq!(v["error"]["details"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn validation_lists_fields() {
        let r = ApiError::validation(vec![FieldError::new("email", "required", "is required")]).into_response();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v = body_json(r).await;
        assert_eq!(v["error"]["details"][0]["field"], "email");
        assert_eq!(v["error"]["message"], "email: is required");
    }

    #[test]
    fn condition_failures_are_conflicts_not_500() {
        let e: ApiError = TableError::ConditionFailed { current: None }.into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e: ApiError = TableError::TransactionCanceled { failed_conditions: vec![1] }.into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e: ApiError = TableError::TransactionCanceled { failed_conditions: vec![] }.into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn internal_errors_hide_the_cause() {
        let e = ApiError::internal("db password is hunter2");
        assert!(!e.message.contains("hunter2"));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
