//! Forms: reading a posted form (with its CSRF check) and showing a use case's errors next to the
//! fields they concern, in the API's own words (`details`).
//!
//! Form field names are the API's field names (`email`, `new_password`, `components[0].text` is
//! written `body`…): a domain error's `details[].field` then names the form field to mark, and the
//! console never re-states a validation rule the domain already has.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use miping::app::AppState;
use miping::domain::media::incoming::Incoming;
use miping::domain::media::service::Upload;
use miping::domain::{Error, Kind};
use serde::de::DeserializeOwned;

use crate::csrf;
use crate::page::{message_page, server_error};

/// A posted `application/x-www-form-urlencoded` form whose CSRF token (the `_csrf` field or the
/// `X-CSRF-Token` header) and origin were checked. Rejections are pages: 403 for a missing or
/// stale token, 400 for a body that is not a form of this shape.
pub struct CsrfForm<T>(pub T);

/// The refusal of a request without a valid CSRF token.
pub fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "For your security the form could not be sent. Go back, reload the page and try again.",
    )
}

/// The check [`CsrfForm`] runs, for handlers that read their body themselves (multipart uploads):
/// `field` is the `_csrf` field when the body had one.
pub fn check(state: &AppState, headers: &HeaderMap, field: Option<&str>) -> Result<(), Response> {
    let presented = headers.get(csrf::HEADER).and_then(|v| v.to_str().ok()).or(field);
    match presented {
        Some(token) if csrf::same_origin(headers) && csrf::verify(state, headers, token) => Ok(()),
        _ => Err(csrf_refused()),
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(|_| bad_form())?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| bad_form())?;
        let field = pairs.iter().find(|(k, _)| k == csrf::FIELD).map(|(_, v)| v.as_str());
        check(state, &headers, field)?;
        serde_urlencoded::from_bytes(&bytes).map(CsrfForm).map_err(|_| bad_form())
    }
}

/// A posted form that may carry a file (`file`): `multipart/form-data` (a form with a file input)
/// or a plain urlencoded one, its CSRF token checked as [`CsrfForm`] does. The other fields are
/// read into `T` as [`CsrfForm`] reads them. The file arrives through the media domain's checks
/// ([`Incoming`]): one WhatsApp does not take, or over its kind's limit, is refused as it arrives
/// and never kept whole.
pub struct CsrfUpload<T> {
    pub form: T,
    /// The chosen file, or why it was refused; `None` when the file input was left empty.
    pub file: Option<Result<Upload, Error>>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfUpload<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("multipart/form-data"));
        if !multipart {
            let CsrfForm(form) = CsrfForm::from_request(req, state).await?;
            return Ok(Self { form, file: None });
        }
        let headers = req.headers().clone();
        let mut parts = Multipart::from_request(req, state).await.map_err(|_| bad_form())?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut file = None;
        // A body over the route's limit ends the stream: the fields read so far (the CSRF token
        // comes first) still answer, with the file refused as too large.
        loop {
            let mut field = match parts.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    file = Some(Err(too_large()));
                    break;
                }
                Err(_) => return Err(bad_form()),
            };
            let Some(name) = field.name().map(str::to_owned) else { continue };
            if name != "file" {
                match field.text().await {
                    Ok(v) => pairs.push((name, v)),
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => break,
                    Err(_) => return Err(bad_form()),
                }
                continue;
            }
            let mut incoming =
                Incoming::new(field.content_type().map(str::to_owned), field.file_name().map(str::to_owned));
            let mut cut = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => incoming.push(&chunk),
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        cut = true;
                        break;
                    }
                    Err(_) => return Err(bad_form()),
                }
            }
            file = if cut {
                Some(Err(too_large()))
            } else if incoming.is_empty() {
                None
            } else {
                Some(incoming.finish())
            };
            if cut {
                break;
            }
        }
        let token = pairs.iter().find(|(k, _)| k == csrf::FIELD).map(|(_, v)| v.as_str());
        check(state, &headers, token)?;
        let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| bad_form())?;
        let form = serde_urlencoded::from_str(&encoded).map_err(|_| bad_form())?;
        Ok(Self { form, file })
    }
}

/// A body over any file's limit (the route's body limit).
fn too_large() -> Error {
    Error::new(Kind::TooLarge, "media_too_large", "the file is larger than any file WhatsApp takes")
}

fn bad_form() -> Response {
    message_page(StatusCode::BAD_REQUEST, "The form could not be read", "Go back, reload the page and try again.")
}

/// A use case's refusal as the form shows it: messages by field, and one alert for the rest.
#[derive(Clone, Debug, Default)]
pub struct Errors {
    fields: HashMap<String, String>,
    /// What does not belong to one field ("Wrong email or password").
    pub alert: Option<String>,
}

impl Errors {
    pub fn none() -> Self {
        Self::default()
    }

    /// The message for one field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn field(mut self, field: &str, message: impl Into<String>) -> Self {
        self.fields.insert(field.to_owned(), message.into());
        self
    }

    pub fn alert(text: impl Into<String>) -> Self {
        Self { fields: HashMap::new(), alert: Some(text.into()) }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.alert.is_none()
    }

    /// Maps `details[].field` to the form field it concerns and keeps the first message per
    /// field. A detail for a field the form does not show becomes the
    /// alert, so no error is ever silent.
    pub fn from_error(e: &Error, shown: &[&str]) -> Self {
        let mut out = Self::default();
        let mut unplaced = Vec::new();
        for d in &e.details {
            // `brand.name` when the form has that field, else the list or object it is in
            // (`components[1].text` marks `components`).
            let field = match shown.iter().find(|f| **f == d.field) {
                Some(f) => f,
                None => d.field.split(['[', '.']).next().unwrap_or(&d.field),
            };
            if shown.contains(&field) {
                out.fields.entry(field.to_owned()).or_insert_with(|| d.message.clone());
            } else {
                unplaced.push(format!("{}: {}", d.field, d.message));
            }
        }
        if e.details.is_empty() {
            out.alert = Some(sentence(&e.message));
        } else if !unplaced.is_empty() {
            out.alert = Some(sentence(&unplaced.join("; ")));
        }
        out
    }
}

/// "wrong email or password" → "Wrong email or password."
pub fn sentence(text: &str) -> String {
    let mut c = text.chars();
    let mut s: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    };
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// The status a form answers a refusal with: 422 for what the person can fix, the error's own
/// otherwise (a 5xx becomes the error page, logged where it happened).
pub fn status_of(e: &Error) -> Result<StatusCode, Response> {
    Ok(match e.kind {
        Kind::Invalid | Kind::Malformed => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Gone => StatusCode::GONE,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::Limit => StatusCode::TOO_MANY_REQUESTS,
        Kind::Upstream { .. } => StatusCode::BAD_GATEWAY,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Internal => return Err(server_error()),
    })
}

#[cfg(test)]
mod tests {
    use miping::domain::FieldError;

    use super::*;

    #[test]
    fn details_go_next_to_their_fields_and_the_rest_to_the_alert() {
        let e = Error::validation(vec![
            FieldError::new("new_password", "too_short", "must be at least 12 characters"),
            FieldError::new("components[1].text", "bad", "has a variable without an example"),
        ]);
        let errors = Errors::from_error(&e, &["new_password"]);
        assert_eq!(errors.get("new_password"), Some("must be at least 12 characters"));
        assert_eq!(errors.alert.as_deref(), Some("Components[1].text: has a variable without an example."));
        let brand =
            Error::validation(vec![FieldError::new("brand.color", "invalid_color", "must be a #rrggbb hex color")]);
        let errors = Errors::from_error(&brand, &["brand.name", "brand.color"]);
        assert_eq!(
            (errors.get("brand.color"), errors.get("brand"), errors.alert.as_deref()),
            (Some("must be a #rrggbb hex color"), None, None)
        );
    }

    #[test]
    fn an_error_without_details_is_an_alert() {
        let errors = Errors::from_error(&Error::unauthenticated("wrong email or password"), &["email"]);
        assert_eq!(errors.alert.as_deref(), Some("Wrong email or password."));
        assert_eq!(errors.get("email"), None);
    }
}
