//! Authentication and authorization as middleware, so no handler re-implements a check:
//! - [`authenticated`] verifies the bearer JWT, checks its server-side session (ended by logout,
//!   a password change or reset, a suspension: 401 `session_revoked`), loads the user (a token
//!   never outlives a deleted user, a role change or a tenant suspension), enforces
//!   `must_change_password`, checks the caller's role against the route's row in
//!   [`super::access::ROUTES`] (403 `forbidden_for_role`, before any body is read), and puts a
//!   [`Principal`] in the request extensions.
//!
//! Handlers take `Principal` as an extractor.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::domain::sessions;
use crate::domain::user::{Role, User};

use super::access;
use crate::store::keys;
use crate::store::users::Users;
use crate::telemetry::stages::{self, Stage};

use super::error::ApiError;
use super::idempotency::IdempotencyScope;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    /// The session the request's token belongs to.
    pub session_id: String,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.user.role
    }
    /// The caller's tenant, or 403 for a user without one (the super admin on a tenant route).
    pub fn tenant_id(&self) -> Result<&str, ApiError> {
        self.user.tenant_id.as_deref().ok_or_else(|| ApiError::forbidden("forbidden", "this route is for tenant users"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::internal("Principal extracted on a route without the auth layer"))
    }
}

/// How strict [`authenticated`] is on a route group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordGate {
    /// A user with `must_change_password` gets 403 (every route but the two below).
    Enforce,
    /// `POST /auth/change-password` and `GET /auth/me` stay open to such a user.
    AllowPending,
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Use with `axum::middleware::from_fn_with_state((state, gate), authenticated)`.
pub async fn authenticated(
    State((state, gate)): State<(AppState, PasswordGate)>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer(&req).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let Principal { user, session_id } = stages::timed(Stage::Auth, principal_for_token(&state, token)).await?;
    if gate == PasswordGate::Enforce && user.must_change_password {
        return Err(ApiError::forbidden(
            "password_change_required",
            "change your one-time password first (POST /auth/change-password)",
        ));
    }
    access::check(req.method(), req.extensions().get::<MatchedPath>().map(MatchedPath::as_str), user.role)?;
    let scope = user.tenant_id.clone().unwrap_or_else(|| user.id.clone());
    req.extensions_mut().insert(IdempotencyScope(scope));
    req.extensions_mut().insert(Principal { user, session_id });
    Ok(next.run(req).await)
}

/// The caller a session token belongs to, whatever carries the token (the API's bearer header, the
/// console's cookie): a valid signature, a live server-side session, an existing user, an active
/// tenant. `must_change_password` is the caller's to enforce.
pub async fn principal_for_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims = state.jwt.verify(token).ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    let session_id = claims.sid.ok_or_else(sessions::revoked)?;
    // The session check is the one read sessions add; it runs beside the user's own read.
    let users = Users::new(&*state.ports.table);
    let (live, user) = tokio::join!(sessions::is_live(&state.ports, &session_id, &claims.sub), users.get(&claims.sub));
    if !live? {
        return Err(sessions::revoked().into());
    }
    let user = user?.ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
    // Deactivation ends the member's sessions; this also covers a session started in the moment
    // between the deactivation and the end of its sessions.
    if !user.is_active() {
        return Err(sessions::revoked().into());
    }
    if let Some(tenant_id) = &user.tenant_id {
        check_tenant_active(state, tenant_id).await?;
    }
    Ok(Principal { user, session_id })
}

/// A suspended tenant's users are shut out (403 `tenant_suspended`).
async fn check_tenant_active(state: &AppState, tenant_id: &str) -> Result<(), ApiError> {
    let tenant = state.ports.table.get(&keys::tenant(tenant_id)).await?;
    match tenant.as_ref().and_then(|t| t.get_str("status")) {
        Some("suspended") => Err(ApiError::forbidden("tenant_suspended", "this tenant is suspended")),
        Some(_) => Ok(()),
        // A user whose tenant is gone cannot act for it.
        None => Err(ApiError::unauthorized("invalid or expired token")),
    }
}
