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

/// True with probability `ratio` (0 never draws).
pub fn draw_ratio(ratio: f64) -> bool {
    ratio > 0.0 && rand::thread_rng().gen_bool(ratio.min(1.0))
}

/// A fault specific to `POST /{phone}/messages`, drawn after the generic ones passed.
pub enum SendFault {
    /// 130429 before processing: nothing sent.
    Throttled,
    /// Processed (sent), then the response is held and lost.
    LostResponse,
}

pub fn draw_send(faults: &Faults) -> Option<SendFault> {
    let mut rng = rand::thread_rng();
    if faults.throttle_ratio > 0.0 && rng.gen_bool(faults.throttle_ratio.min(1.0)) {
        return Some(SendFault::Throttled);
    }
    if faults.lost_response_ratio > 0.0 && rng.gen_bool(faults.lost_response_ratio.min(1.0)) {
        return Some(SendFault::LostResponse);
    }
    None
}

/// What a held request finally answers if the client is still there.
pub fn after_timeout() -> GraphError {
    GraphError::new(StatusCode::SERVICE_UNAVAILABLE, 2, "OAuthException", "(#2) Service temporarily unavailable")
        .transient(true)
}

/// A Graph endpoint, for faults scripted on one operation ([`crate::SimHandle::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /oauth/access_token`
    ExchangeCode,
    /// `GET /debug_token`
    DebugToken,
    /// `GET /{waba}/phone_numbers`
    ListPhoneNumbers,
    /// `GET /{phone}`
    GetPhoneNumber,
    /// `POST /{phone}/register`
    Register,
    /// `POST /{waba}/subscribed_apps`
    SubscribeApp,
    /// `DELETE /{waba}/subscribed_apps`
    UnsubscribeApp,
    /// `POST /{waba}/message_templates`
    CreateTemplate,
    /// `GET /{waba}/message_templates`
    ListTemplates,
    /// `POST /{phone}/messages`
    SendMessage,
    /// `POST /{phone}/media`
    UploadMedia,
    /// `GET /{media-id}`
    GetMedia,
    /// `DELETE /{media-id}`
    DeleteMedia,
    /// `GET` of the media download URL
    DownloadMedia,
}

impl Endpoint {
    /// The endpoint a Graph edge request addresses, if it is one of the scriptable ones.
    pub fn of_edge(method: &axum::http::Method, edge: &str) -> Option<Self> {
        use axum::http::Method;
        Some(match (method, edge) {
            (&Method::GET, "phone_numbers") => Self::ListPhoneNumbers,
            (&Method::POST, "register") => Self::Register,
            (&Method::POST, "subscribed_apps") => Self::SubscribeApp,
            (&Method::DELETE, "subscribed_apps") => Self::UnsubscribeApp,
            (&Method::POST, "message_templates") => Self::CreateTemplate,
            (&Method::GET, "message_templates") => Self::ListTemplates,
            (&Method::POST, "messages") => Self::SendMessage,
            (&Method::POST, "media") => Self::UploadMedia,
            _ => return None,
        })
    }
}

/// A failure scripted for the next request to one endpoint (deterministic, unlike [`Faults`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedFault {
    /// HTTP 500, code 2, `is_transient: true`.
    ServerError,
    /// HTTP 401, code 190 / subcode 463.
    ExpiredToken,
    /// HTTP 400 with this (permanent) Graph error code and message.
    Rejected { code: i64, message: String },
    /// HTTP 404, "URL signature expired": what a media download URL answers once it is past
    /// its expiry (meant for [`Endpoint::DownloadMedia`]).
    ExpiredUrl,
}

impl ScriptedFault {
    pub fn to_error(&self) -> GraphError {
        match self {
            Self::ServerError => GraphError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                2,
                "OAuthException",
                "An unexpected error has occurred. Please retry your request later.",
            )
            .transient(true),
            Self::ExpiredToken => GraphError::expired_token(),
            Self::Rejected { code, message } => {
                GraphError::new(StatusCode::BAD_REQUEST, *code, "OAuthException", message.clone())
            }
            Self::ExpiredUrl => crate::media::url_expired(),
        }
    }
}
