//! The audit context of a request ([`crate::domain::audit::Context`]), built once by the edge:
//! the actor from the request's principal (a signed-in user or the super admin, or an API key),
//! the client address (as [`super::client_addr`] decides it), the `User-Agent` and the request id
//! (`x-request-id`, set by [`super::layers`] before any handler runs).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::domain::audit::{Actor, Context};

use super::api_key_auth::ApiKeyPrincipal;
use super::auth::Principal;
use super::client_addr::ClientAddr;
use super::layers::REQUEST_ID;

/// A header value kept in an entry is cut to this many characters.
const MAX_HEADER_CHARS: usize = 512;

/// Handlers that record an action take this extractor; `.0` is the context.
#[derive(Clone, Debug)]
pub struct Audit(pub Context);

impl std::ops::Deref for Audit {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.0
    }
}

impl FromRequestParts<AppState> for Audit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = if let Some(p) = parts.extensions.get::<Principal>() {
            Actor::user(&p.user)
        } else if let Some(k) = parts.extensions.get::<ApiKeyPrincipal>() {
            Actor::api_key(&k.key_id, k.name.clone(), Some(k.prefix.clone()))
        } else {
            Actor::anonymous(None)
        };
        Ok(Self(context(&parts.headers, ClientAddr::from_parts(parts, state.config.trust_forwarded_for), actor)))
    }
}

/// The context of a request with these headers from this address (the console builds its own
/// with the signed-in viewer as the actor).
pub fn context(headers: &HeaderMap, client: ClientAddr, actor: Actor) -> Context {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().filter(|c| !c.is_control()).take(MAX_HEADER_CHARS).collect::<String>())
            .filter(|v| !v.is_empty())
    };
    Context {
        actor,
        ip: client.0.map(|ip| ip.to_string()),
        user_agent: header(USER_AGENT),
        request_id: header(REQUEST_ID),
    }
}
