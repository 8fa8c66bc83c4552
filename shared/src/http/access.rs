//! Who may call which route: one row per route, in one table ([`ROUTES`]), and one check.
//!
//! The auth layer ([`super::auth::authenticated`]) looks the matched route up here once the caller
//! is known, before any handler or body extractor runs: a signed-in role the row does not list
//! gets 403 `forbidden_for_role`, whatever the body. A route served behind the auth layer without
//! a row is refused to everyone (fail closed) and fails the tests that compare this table with
//! the OpenAPI document. Rows for routes SPEC names but no branch serves yet are listed too, so a
//! route lands with its roles already decided.
//!
//! `docs/roles.md` is this table rendered by [`markdown`] (checked by a test; regenerate with
//! `MIPING_UPDATE_ROLES=1 cargo test -p miping --test integration roles`).
//!
//! Data-level rules are the use cases' (a foreign tenant's id is 404; an agent's view of
//! conversations assigned to someone else is 404): this table only says which roles may call a
//! route at all.

use axum::http::Method;

use crate::domain::user::Role;

use super::error::ApiError;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no credentials (health, docs, sign-in, password reset, the connect page).
    Public,
    /// Meta's webhook: no user credential; Meta's signature (or the verify token) decides.
    Meta,
    /// A tenant's API key (`x-api-key`); a bearer token is not accepted there.
    ApiKey,
    /// A signed-in user (bearer token) with one of these roles.
    Roles(&'static [Role]),
}

pub const ANY_USER: Access = Access::Roles(&[Role::SuperAdmin, Role::TenantAdmin, Role::TenantAgent]);
pub const SUPER_ADMIN: Access = Access::Roles(&[Role::SuperAdmin]);
pub const TENANT_ADMIN: Access = Access::Roles(&[Role::TenantAdmin]);
/// A tenant's admins and agents.
pub const TENANT_TEAM: Access = Access::Roles(&[Role::TenantAdmin, Role::TenantAgent]);

impl Access {
    /// Whether a signed-in user with `role` may call the route.
    pub fn allows(self, role: Role) -> bool {
        matches!(self, Access::Roles(roles) if roles.contains(&role))
    }
}

/// One route: method, path (as routed and documented, `{id}` for parameters), who may call it.
#[derive(Clone, Copy, Debug)]
pub struct RouteAccess {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> RouteAccess {
    RouteAccess { method, path, access }
}

use Access::{ApiKey, Meta, Public};

/// Every API route. SPEC → Roles: an agent has the inbox, contacts (read, add, edit — not import
/// or delete), one-off messages (text or template) to a contact, the approved templates to pick
/// from, canned replies (to use; admins write them) and media for their messages; not campaigns,
/// template editing, imports, API keys, callbacks, members, billing, settings, the WhatsApp
/// connection, the messages log, analytics or the audit log.
pub const ROUTES: &[RouteAccess] = &[
    // The web console's start page: the sign-in page, or the signed-in person's console (its
    // own cookie session; the console's pages check roles themselves).
    r("GET", "/", Public),
    // Health and documentation
    r("GET", "/health", Public),
    r("GET", "/openapi.json", Public),
    r("GET", "/docs", Public),
    // Auth
    r("POST", "/auth/login", Public),
    r("POST", "/auth/forgot-password", Public),
    r("POST", "/auth/reset-password", Public),
    r("POST", "/auth/change-password", ANY_USER),
    r("GET", "/auth/me", ANY_USER),
    r("POST", "/auth/logout", ANY_USER),
    // Super admin
    r("POST", "/plans", SUPER_ADMIN),
    r("GET", "/plans", SUPER_ADMIN),
    r("GET", "/plans/{id}", SUPER_ADMIN),
    r("PATCH", "/plans/{id}", SUPER_ADMIN),
    r("DELETE", "/plans/{id}", SUPER_ADMIN),
    r("POST", "/admin/tenants", SUPER_ADMIN),
    r("GET", "/admin/tenants", SUPER_ADMIN),
    r("GET", "/admin/tenants/{id}", SUPER_ADMIN),
    r("PATCH", "/admin/tenants/{id}", SUPER_ADMIN),
    r("POST", "/admin/tenants/{id}/credits", SUPER_ADMIN),
    r("GET", "/admin/tenants/{id}/ledger", SUPER_ADMIN),
    r("POST", "/admin/tenants/{id}/resend-welcome", SUPER_ADMIN),
    r("POST", "/admin/templates", SUPER_ADMIN),
    r("GET", "/admin/templates", SUPER_ADMIN),
    r("GET", "/admin/webhooks/quarantine", SUPER_ADMIN),
    r("GET", "/admin/webhooks/quarantine/{id}", SUPER_ADMIN),
    r("GET", "/admin/audit-log", SUPER_ADMIN),
    r("GET", "/admin/analytics/daily", SUPER_ADMIN),
    // The tenant, its settings and billing
    r("GET", "/tenant", TENANT_ADMIN),
    r("GET", "/tenant/settings", TENANT_ADMIN),
    r("PATCH", "/tenant/settings", TENANT_ADMIN),
    r("GET", "/billing/ledger", TENANT_ADMIN),
    r("POST", "/api-keys", TENANT_ADMIN),
    r("GET", "/api-keys", TENANT_ADMIN),
    r("DELETE", "/api-keys/{id}", TENANT_ADMIN),
    r("GET", "/settings/callback", TENANT_ADMIN),
    r("PUT", "/settings/callback", TENANT_ADMIN),
    r("DELETE", "/settings/callback", TENANT_ADMIN),
    r("GET", "/settings/callback/deliveries", TENANT_ADMIN),
    r("GET", "/audit-log", TENANT_ADMIN),
    // Team
    r("POST", "/members", TENANT_ADMIN),
    r("GET", "/members", TENANT_ADMIN),
    r("PATCH", "/members/{id}", TENANT_ADMIN),
    r("DELETE", "/members/{id}", TENANT_ADMIN),
    // WhatsApp connection
    r("GET", "/whatsapp/signup-config", TENANT_ADMIN),
    r("POST", "/whatsapp/connect", TENANT_ADMIN),
    r("GET", "/whatsapp/status", TENANT_ADMIN),
    r("DELETE", "/whatsapp", TENANT_ADMIN),
    r("GET", "/connect", Public),
    r("GET", "/connect/connect.js", Public),
    // Templates: agents read the approved ones to send them
    r("POST", "/templates", TENANT_ADMIN),
    r("GET", "/templates", TENANT_TEAM),
    r("GET", "/templates/{id}", TENANT_TEAM),
    r("PATCH", "/templates/{id}", TENANT_ADMIN),
    r("DELETE", "/templates/{id}", TENANT_ADMIN),
    r("POST", "/templates/sync", TENANT_ADMIN),
    r("POST", "/templates/library/install", TENANT_ADMIN),
    // Contacts
    r("POST", "/contacts", TENANT_TEAM),
    r("POST", "/contacts/import", TENANT_ADMIN),
    r("GET", "/contacts", TENANT_TEAM),
    r("GET", "/contacts/{id}", TENANT_TEAM),
    r("PATCH", "/contacts/{id}", TENANT_TEAM),
    r("DELETE", "/contacts/{id}", TENANT_ADMIN),
    // Messages: an agent sends one-off messages; the messages log is the admin's
    r("POST", "/messages", TENANT_TEAM),
    r("GET", "/messages", TENANT_ADMIN),
    r("GET", "/messages/{id}", TENANT_ADMIN),
    // Campaigns and analytics
    r("POST", "/campaigns", TENANT_ADMIN),
    r("GET", "/campaigns", TENANT_ADMIN),
    r("GET", "/campaigns/{id}", TENANT_ADMIN),
    r("POST", "/campaigns/{id}/cancel", TENANT_ADMIN),
    r("GET", "/campaigns/{id}/report", TENANT_ADMIN),
    r("GET", "/campaigns/{id}/recipients.csv", TENANT_ADMIN),
    r("POST", "/campaigns/{id}/retry-failed", TENANT_ADMIN),
    r("POST", "/campaigns/test-send", TENANT_ADMIN),
    r("GET", "/analytics/daily", TENANT_ADMIN),
    r("GET", "/analytics/templates", TENANT_ADMIN),
    // Inbox (which conversations an agent sees is the inbox's rule: others' are 404)
    r("GET", "/conversations", TENANT_TEAM),
    r("GET", "/conversations/{id}", TENANT_TEAM),
    r("GET", "/conversations/{id}/messages", TENANT_TEAM),
    r("POST", "/conversations/{id}/messages", TENANT_TEAM),
    r("POST", "/conversations/{id}/read", TENANT_TEAM),
    r("POST", "/conversations/{id}/assign", TENANT_TEAM),
    r("POST", "/conversations/{id}/resolve", TENANT_TEAM),
    r("POST", "/conversations/{id}/reopen", TENANT_TEAM),
    r("POST", "/conversations/{id}/notes", TENANT_TEAM),
    r("GET", "/canned-replies", TENANT_TEAM),
    r("POST", "/canned-replies", TENANT_ADMIN),
    r("PATCH", "/canned-replies/{id}", TENANT_ADMIN),
    r("DELETE", "/canned-replies/{id}", TENANT_ADMIN),
    // Media (attachments in the inbox)
    r("POST", "/media", TENANT_TEAM),
    r("POST", "/media/uploads", TENANT_TEAM),
    r("GET", "/media/{id}", TENANT_TEAM),
    // External API
    r("POST", "/api/v1/trigger-message", ApiKey),
    r("GET", "/api/v1/messages/{id}", ApiKey),
    // Meta
    r("GET", "/webhook/meta", Meta),
    r("POST", "/webhook/meta", Meta),
];

/// The row for `method` and the matched route `path` (HEAD is GET's).
pub fn lookup(method: &Method, path: &str) -> Option<Access> {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    ROUTES.iter().find(|r| r.method == method && r.path == path).map(|r| r.access)
}

/// 403 for a signed-in role the route's row does not list.
pub fn forbidden_for_role() -> ApiError {
    ApiError::forbidden("forbidden_for_role", "your role may not use this route")
}

/// Whether a signed-in user with `role` may call `method path` (the matched route; `None` when
/// the router did not say which route matched). A route without a row is refused (and logged).
pub fn check(method: &Method, path: Option<&str>, role: Role) -> Result<(), ApiError> {
    match path.and_then(|p| lookup(method, p)) {
        Some(access) if access.allows(role) => Ok(()),
        Some(_) => Err(forbidden_for_role()),
        None => {
            tracing::error!(%method, path = path.unwrap_or("-"), "route without a row in http::access::ROUTES; refused");
            Err(forbidden_for_role())
        }
    }
}

fn cell(access: Access, role: Option<Role>) -> &'static str {
    match (access, role) {
        (Public, _) => "public",
        (Meta, _) => "Meta signature",
        (ApiKey, None) => "yes",
        (ApiKey, Some(_)) | (Access::Roles(_), None) => "—",
        (Access::Roles(_), Some(role)) => {
            if access.allows(role) {
                "yes"
            } else {
                "403"
            }
        }
    }
}

/// `docs/roles.md`: the table above, one row per route.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Roles: who may call which route\n\n\
         Generated from `shared/src/http/access.rs` (`ROUTES`, the one place each route's roles are declared); \
         `MIPING_UPDATE_ROLES=1 cargo test -p miping --all-features --test integration roles` regenerates it, and \
         the test fails while it differs.\n\n\
         - **yes**: the role may call the route (the use case may still answer 404 for data that is not theirs: \
         another tenant's, or a conversation assigned to another agent).\n\
         - **403**: `forbidden_for_role`, before the body is read.\n\
         - **—**: that credential is not accepted there (401): bearer routes ignore `x-api-key`, `/api/v1/*` ignores \
         bearer tokens.\n\
         - **public** / **Meta signature**: no user credential is needed (the webhook checks Meta's signature or \
         verify token instead).\n\n\
         SPEC → Roles: an agent has the inbox, contacts (read, add, edit — not import or delete), one-off messages and \
         templates to a contact, canned replies (to use; admins write them) and media for their messages.\n\n\
         | Route | SUPER_ADMIN | TENANT_ADMIN | TENANT_AGENT | API key |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for route in ROUTES {
        let cells = [Some(Role::SuperAdmin), Some(Role::TenantAdmin), Some(Role::TenantAgent), None]
            .map(|role| cell(route.access, role));
        out.push_str(&format!("| `{} {}` | {} |\n", route.method, route.path, cells.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_route() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert((r.method, r.path)), "{} {} listed twice", r.method, r.path);
        }
    }

    #[test]
    fn agents_are_kept_out_of_admin_routes() {
        let agent = Role::TenantAgent;
        assert!(lookup(&Method::GET, "/contacts").unwrap().allows(agent));
        assert!(lookup(&Method::HEAD, "/contacts").unwrap().allows(agent));
        for (m, p) in [
            (Method::POST, "/campaigns"),
            (Method::POST, "/contacts/import"),
            (Method::DELETE, "/contacts/{id}"),
            (Method::POST, "/api-keys"),
            (Method::POST, "/members"),
            (Method::POST, "/templates"),
        ] {
            assert!(!lookup(&m, p).unwrap().allows(agent), "{m} {p}");
        }
        assert_eq!(check(&Method::GET, Some("/nowhere"), Role::TenantAdmin).unwrap_err().code, "forbidden_for_role");
        assert!(check(&Method::GET, None, Role::SuperAdmin).is_err());
    }
}
