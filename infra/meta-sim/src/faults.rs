//! Fault injection: a configurable share of Graph requests fails the ways Meta fails.

use std::time::Duration;

use axum::http::StatusCode;
use rand::Rng;

use crate::Faults;
use crate::errors::GraphError;

/// How long an injected timeout holds the request; any sane client gives up sooner.
pub const TIMEOUT_HOLD: Duration = Duration::from_secs(15);

pub enum Fault {
    ServerError(GraphError),
    Timeout,
    ExpiredToken,
}

/// Draws at most one fault for a request.
pub fn draw(faults: &Faults) -> Option<Fault> {
    let mut rng = rand::thread_rng();
    if faults.server_error_ratio > 0.0 && rng.gen_bool(faults.server_error_ratio.min(1.0)) {
        // Meta's two transient shapes: "unknown error" (1) and "temporarily unavailable" (2).
        let e = if rng.gen_bool(0.5) {
            GraphError::new(StatusCode::INTERNAL_SERVER_ERROR, 1, "OAuthException", "An unknown error has occurred.")
        } else {
            GraphError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                2,
                "OAuthException",
                "An unexpected error has occurred. Please retry your request later.",
            )
        };
        return Some(Fault::ServerError(e.transient(true)));
    }
    if faults.timeout_ratio > 0.0 && rng.gen_bool(faults.timeout_ratio.min(1.0)) {
        return Some(Fault::Timeout);
    }
    if faults.expired_token_ratio > 0.0 && rng.gen_bool(faults.expired_token_ratio.min(1.0)) {
        return Some(Fault::ExpiredToken);
    }
    None
}

/// What a held request finally answers if the client is still there.
pub fn after_timeout() -> GraphError {
    GraphError::new(StatusCode::SERVICE_UNAVAILABLE, 2, "OAuthException", "(#2) Service temporarily unavailable")
        .transient(true)
}
