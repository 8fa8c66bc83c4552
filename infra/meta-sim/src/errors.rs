//! Meta's error object: `{"error": {message, type, code, error_subcode, error_user_title,
//! error_user_msg, error_data: {messaging_product, details}, is_transient, fbtrace_id}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde_json::{Map, Value, json};

/// Boxed: handlers return `Result<_, GraphError>` everywhere and the error is the cold path.
#[derive(Debug, Clone)]
pub struct GraphError(Box<ErrorData>);

#[derive(Debug, Clone)]
pub struct ErrorData {
    pub status: StatusCode,
    pub message: String,
    pub error_type: &'static str,
    pub code: i64,
    pub subcode: Option<i64>,
    pub user_title: Option<String>,
    pub user_msg: Option<String>,
    pub details: Option<String>,
    /// Cloud API (messaging) errors carry `error_data.messaging_product`.
    pub messaging: bool,
    pub transient: Option<bool>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: i64, error_type: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorData {
            status,
            message: message.into(),
            error_type,
            code,
            subcode: None,
            user_title: None,
            user_msg: None,
            details: None,
            messaging: false,
            transient: None,
        }))
    }

    pub fn subcode(mut self, subcode: i64) -> Self {
        self.0.subcode = Some(subcode);
        self
    }

    pub fn user(mut self, title: impl Into<String>, msg: impl Into<String>) -> Self {
        self.0.user_title = Some(title.into());
        self.0.user_msg = Some(msg.into());
        self
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.0.details = Some(details.into());
        self
    }

    pub fn messaging(mut self) -> Self {
        self.0.messaging = true;
        self
    }

    pub fn transient(mut self, transient: bool) -> Self {
        self.0.transient = Some(transient);
        self
    }

    /// `(#100) <what>`: a bad or missing parameter.
    pub fn invalid_param(what: impl Into<String>) -> Self {
        let what = what.into();
        Self::new(StatusCode::BAD_REQUEST, 100, "OAuthException", format!("(#100) {what}")).details(what)
    }

    /// Graph's answer for an id that does not exist or is not readable with this token.
    pub fn unknown_object(id: &str, method: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            "GraphMethodException",
            format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing \
                 permissions, or does not support this operation. Please read the Graph API documentation at \
                 https://developers.facebook.com/docs/graph-api"
            ),
        )
        .subcode(33)
    }

    /// An object of another business.
    pub fn permission() -> Self {
        Self::new(StatusCode::FORBIDDEN, 200, "OAuthException", "(#200) Permissions error")
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "OAuthException",
            "Invalid OAuth access token - Cannot parse access token",
        )
    }

    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            104,
            "OAuthException",
            "An access token is required to request this resource.",
        )
    }

    pub fn expired_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "OAuthException",
            "Error validating access token: Session has expired on Friday, 20-Nov-26 10:00:00 PST. The current time is \
             Saturday, 21-Nov-26 10:00:00 PST.",
        )
        .subcode(463)
    }

    pub fn body(&self) -> Value {
        let d = &self.0;
        let mut e = Map::new();
        e.insert("message".into(), json!(d.message));
        e.insert("type".into(), json!(d.error_type));
        e.insert("code".into(), json!(d.code));
        if let Some(s) = d.subcode {
            e.insert("error_subcode".into(), json!(s));
        }
        if let Some(t) = d.transient {
            e.insert("is_transient".into(), json!(t));
        }
        if let Some(t) = &d.user_title {
            e.insert("error_user_title".into(), json!(t));
        }
        if let Some(m) = &d.user_msg {
            e.insert("error_user_msg".into(), json!(m));
        }
        if d.details.is_some() || d.messaging {
            let mut data = Map::new();
            if d.messaging {
                data.insert("messaging_product".into(), json!("whatsapp"));
            }
            if let Some(d) = &d.details {
                data.insert("details".into(), json!(d));
            }
            e.insert("error_data".into(), Value::Object(data));
        }
        e.insert("fbtrace_id".into(), json!(fbtrace_id()));
        json!({ "error": e })
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        (self.0.status, Json(self.body())).into_response()
    }
}

pub fn fbtrace_id() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(11).map(char::from).collect()
}
