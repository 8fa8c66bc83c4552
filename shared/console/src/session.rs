//! Console sessions: the API's server-side session, its token in a cookie.
//!
//! `miping_session` is `HttpOnly` (no script reads it), `SameSite=Lax` (no other site's form
//! posts with it), `Path=/`, `Secure` when the public URL is HTTPS, and lives as long as the
//! token. Ending the session (sign-out, a password change elsewhere, a removed member, a
//! suspension) ends the cookie's use at once: every page checks the session as the API does
//! ([`miping::http::auth::principal_for_token`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use miping::app::AppState;
use miping::domain::user::{Role, User};
use miping::http::auth::{Principal, principal_for_token};

use crate::page::{self, Hx};

pub const SESSION_COOKIE: &str = "miping_session";
/// The signed-out forms' CSRF nonce (see [`crate::csrf`]).
pub const ANON_COOKIE: &str = "miping_anon";
/// The theme the person chose (`light` | `dark`; absent: the system's), written by console.js.
pub const THEME_COOKIE: &str = "miping-theme";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// The session token the request carries.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

fn secure(state: &AppState) -> &'static str {
    if state.config.public_url.starts_with("https://") { "; Secure" } else { "" }
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(state: &AppState, token: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> HeaderValue {
    let max_age = (expires_at - now).num_seconds().max(0);
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        secure(state)
    ))
    .expect("a JWT is a valid cookie value")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}", secure(state)))
        .expect("static cookie")
}

/// `Set-Cookie` for a signed-out form's CSRF nonce.
pub fn set_anon_cookie(state: &AppState, nonce: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{ANON_COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Lax{}", secure(state)))
        .expect("hex nonce")
}

/// The signed-in person, with everything a page needs to render its chrome. Extracting it checks
/// the session; without a live one the request is sent to the sign-in page. A person who must
/// still change their one-time password is sent to `/change-password` (see [`PendingViewer`]).
#[derive(Clone, Debug)]
pub struct Viewer {
    pub principal: Principal,
    /// This session's CSRF token (for `<meta name="csrf-token">` and the forms).
    pub csrf: String,
    /// `light` | `dark` from the theme cookie.
    pub theme: Option<&'static str>,
}

impl Viewer {
    pub fn user(&self) -> &User {
        &self.principal.user
    }
    pub fn role(&self) -> Role {
        self.principal.user.role
    }
    /// The viewer's tenant (None for the super admin).
    pub fn tenant_id(&self) -> Option<&str> {
        self.principal.user.tenant_id.as_deref()
    }
}

/// Why a request has no usable session, as the page answers it.
pub enum NoSession {
    /// Send to the sign-in page (no cookie, an expired or ended session).
    SignIn { ended: bool },
    /// The one-time password must be changed first.
    ChangePassword,
    /// The tenant is suspended: a page that says so (not the sign-in page: signing in again
    /// would not help).
    Suspended(Box<Response>),
    /// The store failed.
    Failed(Box<Response>),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::SignIn { ended } => page::redirect_to(if ended { "/?ended=1" } else { "/" }),
            NoSession::ChangePassword => page::redirect_to("/change-password"),
            NoSession::Suspended(r) | NoSession::Failed(r) => *r,
        }
    }
}

pub fn theme(headers: &HeaderMap) -> Option<&'static str> {
    match cookie(headers, THEME_COOKIE).as_deref() {
        Some("light") => Some("light"),
        Some("dark") => Some("dark"),
        _ => None,
    }
}

/// The session behind the request's cookie, whatever its password state.
pub async fn resolve(headers: &HeaderMap, state: &AppState) -> Result<Viewer, NoSession> {
    let Some(token) = token(headers) else { return Err(NoSession::SignIn { ended: false }) };
    match principal_for_token(state, &token).await {
        Ok(principal) => {
            let csrf = crate::csrf::for_session(state, &principal.session_id);
            Ok(Viewer { principal, csrf, theme: theme(headers) })
        }
        Err(e) if e.code == "tenant_suspended" => Err(NoSession::Suspended(Box::new(page::message_page(
            axum::http::StatusCode::FORBIDDEN,
            "Account suspended",
            "This business's account is suspended. Contact the platform's support to reactivate it.",
        )))),
        Err(e) if e.status.is_server_error() => Err(NoSession::Failed(Box::new(page::server_error()))),
        Err(e) => Err(NoSession::SignIn { ended: e.code == "session_revoked" }),
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let hx = Hx::from_headers(&parts.headers);
        let viewer = resolve(&parts.headers, state).await.map_err(|e| hx.redirect_or(e))?;
        // The request's principal, as the API's auth layer leaves it (the audit context reads it).
        parts.extensions.insert(viewer.principal.clone());
        if viewer.user().must_change_password {
            return Err(hx.redirect_or(NoSession::ChangePassword));
        }
        Ok(viewer)
    }
}

/// A signed-in person who may still have to change their one-time password (the change-password
/// page itself and sign-out).
pub struct PendingViewer(pub Viewer);

impl FromRequestParts<AppState> for PendingViewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let hx = Hx::from_headers(&parts.headers);
        let viewer = resolve(&parts.headers, state).await.map_err(|e| hx.redirect_or(e))?;
        parts.extensions.insert(viewer.principal.clone());
        Ok(PendingViewer(viewer))
    }
}

/// A tenant's admin (any other signed-in role gets a 403 page).
pub struct TenantAdmin(pub Viewer, pub String);

impl FromRequestParts<AppState> for TenantAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        match (viewer.role(), viewer.tenant_id().map(str::to_owned)) {
            (Role::TenantAdmin, Some(tenant_id)) => Ok(TenantAdmin(viewer, tenant_id)),
            _ => Err(page::forbidden_page(&viewer)),
        }
    }
}

/// A tenant's team member: an admin or an agent (the inbox, contacts: SPEC → Roles, the API's
/// `TENANT_TEAM` rows in `miping::http::access`). Anyone else gets the 403 page.
pub struct TenantMember(pub Viewer, pub String);

impl TenantMember {
    pub fn is_agent(&self) -> bool {
        self.0.role() == Role::TenantAgent
    }
}

impl FromRequestParts<AppState> for TenantMember {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        match (viewer.role(), viewer.tenant_id().map(str::to_owned)) {
            (Role::TenantAdmin | Role::TenantAgent, Some(tenant_id)) => Ok(TenantMember(viewer, tenant_id)),
            _ => Err(page::forbidden_page(&viewer)),
        }
    }
}

/// The platform owner.
pub struct SuperAdmin(pub Viewer);

impl FromRequestParts<AppState> for SuperAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        if viewer.role() == Role::SuperAdmin { Ok(SuperAdmin(viewer)) } else { Err(page::forbidden_page(&viewer)) }
    }
}
