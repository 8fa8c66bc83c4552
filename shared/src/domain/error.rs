//! The domain's one error: what kind of failure it is, a stable `code` and a message for
//! people. It says nothing about transports: the HTTP edge maps the kind to a status
//! (`http::error`), a queue consumer asks whether retrying can help ([`Error::is_permanent`],
//! [`Error::retry_after`]), the console puts the field details next to its fields.
//!
//! Codes are part of the API contract (integrators branch on them) and are the same whichever
//! edge reports them.

use serde::Serialize;

use crate::ports::limiter::LimiterError;
use crate::ports::mailer::MailError;
use crate::ports::queue::QueueError;
use crate::ports::storage::StorageError;
use crate::ports::table::TableError;
use crate::ports::vault::VaultError;

/// One offending field of a 422 (or 400) answer.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(example = json!({"field": "phone", "code": "invalid", "message": "is not a valid phone number"}))]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// What kind of failure an [`Error`] is. Only the kinds some use case reports today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The request as a whole cannot be understood (malformed body, foreign cursor).
    Malformed,
    /// The input breaks a rule, usually with one [`FieldError`] per offending field.
    Invalid,
    /// No (or wrong) credentials.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    NotFound,
    /// It existed, but is no longer usable (an expired link).
    Gone,
    /// The state does not allow it (already exists, changed concurrently, wrong state).
    Conflict,
    /// Too large to store.
    TooLarge,
    /// A content type (or a content) the operation does not take.
    UnsupportedType,
    /// A limit or quota is reached (with a retry-after when waiting helps).
    Limit,
    /// A dependency is briefly unavailable: retry.
    Unavailable,
    /// Meta refused or answered nonsense; `meta_code` is Meta's own code when it gave one.
    Upstream {
        meta_code: Option<i64>,
    },
    /// A failure on our side; the cause is logged where it happened.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds after which retrying may succeed.
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), details: Vec::new(), retry_after: None }
    }
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn malformed(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Malformed, code, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthenticated, "unauthorized", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, "not_found", format!("{what} not found"))
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }
    /// A rule broken by the input as a whole (named by `code`), not by one field.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }
    /// One entry per bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", details.len()),
        };
        Self::invalid("validation_failed", message).with_details(details)
    }
    /// Content of a type the operation does not take (`unsupported_media_type`).
    pub fn unsupported_type(message: impl Into<String>) -> Self {
        Self::new(Kind::UnsupportedType, "unsupported_media_type", message)
    }
    /// A limit that waiting does not lift (a plan's count).
    pub fn limit(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Limit, code, message)
    }
    /// A rate that waiting `retry_after` seconds lifts.
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        Self::limit(code, message).with_retry_after(retry_after)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, "service_unavailable", message).with_retry_after(1)
    }
    pub fn upstream(code: &'static str, message: impl Into<String>, meta_code: Option<i64>) -> Self {
        Self::new(Kind::Upstream { meta_code }, code, message)
    }
    /// An unexpected failure. The cause goes to the log (with the request id of the current
    /// span), never into the error.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Kind::Internal, "internal_error", "something went wrong on our side")
    }
    /// A list cursor that is not one of this list's: malformed, tampered with, from another list.
    pub fn invalid_cursor() -> Self {
        Self::malformed("invalid_cursor", "the cursor is malformed or belongs to another list")
    }

    /// Doing the same again cannot succeed: the input, the caller or the state is at fault,
    /// not a passing failure of ours or of a dependency.
    pub fn is_permanent(&self) -> bool {
        !matches!(self.kind, Kind::Unavailable | Kind::Upstream { .. } | Kind::Internal)
    }

    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after.map(std::time::Duration::from_secs)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

/// A list query's error: a position the table refuses (the cursor opened, but is another list's)
/// is the caller's, the same error as a cursor that does not open.
pub fn list_error(e: TableError) -> Error {
    match e {
        TableError::Invalid(_) => Error::invalid_cursor(),
        other => other.into(),
    }
}

/// Storage failures. A failed condition that reaches this point is a conflict the use case did
/// not name more precisely: never an internal error.
impl From<TableError> for Error {
    fn from(e: TableError) -> Self {
        match e {
            TableError::ConditionFailed { .. } => {
                Error::conflict("conflict", "the resource was changed concurrently or already exists")
            }
            TableError::TransactionCanceled { ref failed_conditions } if !failed_conditions.is_empty() => {
                Error::conflict("conflict", "the resource was changed concurrently or already exists")
            }
            TableError::TransactionCanceled { .. } | TableError::Throttled => {
                Error::unavailable("the store is busy, retry shortly")
            }
            TableError::Unavailable(cause) => {
                tracing::error!(error = %cause, "table unavailable");
                Error::unavailable("the store is unavailable, retry shortly")
            }
            TableError::ItemTooLarge => {
                Error::new(Kind::TooLarge, "payload_too_large", "the resource is too large to store")
            }
            other => Error::internal(other),
        }
    }
}

impl From<LimiterError> for Error {
    fn from(e: LimiterError) -> Self {
        match e {
            LimiterError::Unavailable(cause) => {
                tracing::error!(error = %cause, "rate limit counters unavailable");
                Error::unavailable("the store is unavailable, retry shortly")
            }
            other => Error::internal(other),
        }
    }
}

impl From<QueueError> for Error {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(cause) => {
                tracing::error!(error = %cause, "queue unavailable");
                Error::unavailable("the queue is unavailable, retry shortly")
            }
            other => Error::internal(other),
        }
    }
}

impl From<VaultError> for Error {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Unavailable(cause) => {
                tracing::error!(error = %cause, "vault unavailable");
                Error::unavailable("the key service is unavailable, retry shortly")
            }
            other => Error::internal(other),
        }
    }
}

/// Media storage failures: a missing object or a refused request where the use case expected
/// neither is ours; an unavailable store is worth a retry.
impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(key) => Error::internal(format!("media object {key} is missing")),
            StorageError::Invalid(cause) => Error::internal(format!("storage refused a request: {cause}")),
            StorageError::Unavailable(cause) => {
                tracing::error!(error = %cause, "media storage unavailable");
                Error::unavailable("media storage is unavailable, retry shortly")
            }
        }
    }
}

impl From<MailError> for Error {
    fn from(e: MailError) -> Self {
        Error::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_failures_are_conflicts_not_internal() {
        let e: Error = TableError::ConditionFailed { current: None }.into();
        assert_eq!((e.kind, e.code), (Kind::Conflict, "conflict"));
        let e: Error = TableError::TransactionCanceled { failed_conditions: vec![1] }.into();
        assert_eq!(e.kind, Kind::Conflict);
        let e: Error = TableError::TransactionCanceled { failed_conditions: vec![] }.into();
        assert_eq!((e.kind, e.retry_after), (Kind::Unavailable, Some(1)));
    }

    #[test]
    fn internal_errors_hide_the_cause() {
        let e = Error::internal("db password is hunter2");
        assert!(!e.message.contains("hunter2"));
        assert_eq!(e.kind, Kind::Internal);
    }

    #[test]
    fn only_passing_failures_are_worth_retrying() {
        assert!(Error::not_found("message").is_permanent());
        assert!(Error::validation(vec![FieldError::new("to", "invalid", "bad")]).is_permanent());
        assert!(Error::forbidden("tenant_suspended", "no").is_permanent());
        assert!(!Error::unavailable("busy").is_permanent());
        assert!(!Error::upstream("meta_error", "refused", Some(131000)).is_permanent());
        assert!(!Error::internal("boom").is_permanent());
        assert_eq!(Error::too_many("rate_limited", "slow", 0).retry_after(), Some(std::time::Duration::from_secs(1)));
        assert_eq!(Error::limit("contact_limit_reached", "full").retry_after(), None);
    }
}
