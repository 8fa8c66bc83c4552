//! CSRF tokens. The session cookie is `SameSite=Lax`, which already keeps other sites' forms from
//! posting with it; the token is the second, independent guard (older browsers, same-site
//! subdomains, and sign-in CSRF, which `SameSite` cannot stop).
//!
//! - Signed in: `HMAC(key, "session:" + session id)` — bound to the server-side session, so it
//!   changes with every sign-in and dies with the session; no storage.
//! - Signed out (sign-in, forgot and reset forms): `HMAC(key, "anon:" + nonce)` where the nonce is
//!   a random `miping_anon` cookie set with the form (a double-submit token a cross-site page can
//!   neither read nor set).
//!
//! A request proves itself with the `X-CSRF-Token` header (console.js) or the `_csrf` form field
//! (a plain form post). The key is derived from the JWT secret, so every Lambda and the local
//! process agree on it without new configuration.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use miping::app::AppState;
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::session;

pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

fn mac(state: &AppState, purpose: &str, value: &str) -> String {
    // A key of its own (not the JWT secret itself): HMAC(secret, label).
    let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(state.config.jwt_secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    derive.update(b"miping-console-csrf-v1");
    let key = derive.finalize().into_bytes();
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    m.update(purpose.as_bytes());
    m.update(b":");
    m.update(value.as_bytes());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The token a signed-in page embeds.
pub fn for_session(state: &AppState, session_id: &str) -> String {
    mac(state, "session", session_id)
}

/// The token a signed-out form embeds, for the `miping_anon` nonce.
pub fn for_anonymous(state: &AppState, nonce: &str) -> String {
    mac(state, "anon", nonce)
}

/// Whether `presented` is the token of this request's session (a signed token's session id; the
/// session's liveness is the page's own check) or of its anonymous nonce.
pub fn verify(state: &AppState, headers: &HeaderMap, presented: &str) -> bool {
    let matches = |expected: String| bool::from(expected.as_bytes().ct_eq(presented.as_bytes()));
    if let Some(sid) = session::token(headers).and_then(|t| state.jwt.verify(&t)).and_then(|c| c.sid)
        && matches(for_session(state, &sid))
    {
        return true;
    }
    session::cookie(headers, session::ANON_COOKIE).is_some_and(|nonce| matches(for_anonymous(state, &nonce)))
}

/// A cross-origin request names another origin; a same-origin one names ours or none (plain form
/// posts from old browsers). Compared with the `Host` the request came to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else { return true };
    let Some(host) = headers.get("host").and_then(|v| v.to_str().ok()) else { return false };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
    origin_host.eq_ignore_ascii_case(host)
}
