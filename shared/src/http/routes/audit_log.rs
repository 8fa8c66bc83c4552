//! `GET /audit-log` (a tenant admin: its tenant's entries, including what the super admin did to
//! it) and `GET /admin/audit-log` (the super admin: every entry, or one tenant's). SPEC → Audit
//! log; the entries are written by the routes that act (`domain::audit`).

use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit::{self, Entry, Filter, Scope};
use crate::domain::tenants;
use crate::http::auth::Principal;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};

/// `GET /audit-log` (the tenant group).
pub fn tenant_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(tenant_log))
}

/// `GET /admin/audit-log` (the admin group).
pub fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(platform_log))
}

pub fn routes() -> OpenApiRouter<AppState> {
    tenant_routes().merge(admin_routes())
}

/// The filters both lists take (not flattened over `PageParams`: see `routes::messages`).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LogParams {
    /// Only this actor's entries (a user id `usr_…`, an API key id `key_…`, or `system`).
    actor_id: Option<String>,
    /// Only this action, e.g. `member.invited` (the actions are listed in `AuditEntry.action`).
    action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// Only entries at or before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AdminParams {
    /// Only this tenant's entries (including the super admin's actions on it).
    tenant_id: Option<String>,
}

fn time(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                ApiError::validation(vec![FieldError::new(
                    field,
                    "invalid",
                    "an RFC 3339 time, e.g. 2026-11-21T08:00:00Z",
                )])
            })
        })
        .transpose()
}

/// The filter and page of a request, validated (422 naming the field).
fn parse(p: &LogParams) -> Result<(Filter, usize, Option<String>), ApiError> {
    let non_empty = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let filter = Filter {
        actor_id: non_empty(&p.actor_id),
        action: non_empty(&p.action),
        from: time("from", p.from.as_deref())?,
        to: time("to", p.to.as_deref())?,
    };
    audit::validate(&filter)?;
    let page = PageParams { limit: p.limit, cursor: p.cursor.clone() };
    Ok((filter, page.limit()?, page.cursor()?))
}

#[utoipa::path(get, path = "/audit-log", tag = tags::AUDIT, operation_id = "list_audit_log",
    summary = "The tenant's audit log, newest first",
    description = "Every security- or money-relevant action on the tenant: sign-ins (and failures), sign-outs, \
        password changes and resets, members, API keys, callback settings, the WhatsApp connection, templates, \
        contact imports and deletions, campaigns, credits, the tenant's plan and status, settings — including what \
        the platform's super admin did to the tenant. Kept 400 days. Filters combine; a filtered page may hold \
        fewer than `limit` entries while `next_cursor` leads further.",
    security(("bearer" = [])),
    params(LogParams),
    responses(
        (status = 200, description = "A page of entries", body = ListResponse<Entry>),
        (status = 403, description = "Not a tenant admin (`forbidden_for_role`)", body = ErrorBody),
        (status = 422, description = "An unknown action, a malformed time, `from` after `to`, a bad `limit` \
            (`details`)", body = ErrorBody),
    ))]
async fn tenant_log(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<LogParams>,
) -> ApiResult<ApiJson<ListResponse<Entry>>> {
    let (filter, limit, cursor) = parse(&params)?;
    let (items, next_cursor) = audit::list(&state.ports, Scope::Tenant(p.tenant_id()?), &filter, limit, cursor).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(get, path = "/admin/audit-log", tag = tags::AUDIT, operation_id = "list_platform_audit_log",
    summary = "The platform's audit log (every tenant's and the platform's own entries), newest first",
    description = "As `GET /audit-log`, over every tenant and the platform's own actions (plans, the super \
        admin's sign-ins); `tenant_id` narrows it to one tenant.",
    security(("bearer" = [])),
    params(LogParams, AdminParams),
    responses(
        (status = 200, description = "A page of entries", body = ListResponse<Entry>),
        (status = 403, description = "Not the super admin (`forbidden_for_role`)", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 422, description = "An unknown action, a malformed time, `from` after `to`, a bad `limit` \
            (`details`)", body = ErrorBody),
    ))]
async fn platform_log(
    State(state): State<AppState>,
    Query(params): Query<LogParams>,
    Query(admin): Query<AdminParams>,
) -> ApiResult<ApiJson<ListResponse<Entry>>> {
    let (filter, limit, cursor) = parse(&params)?;
    let tenant = match admin.tenant_id.as_deref().filter(|t| !t.is_empty()) {
        Some(id) => Some(tenants::get(&state.ports, id).await?.id),
        None => None,
    };
    let scope = tenant.as_deref().map_or(Scope::Platform, Scope::Tenant);
    let (items, next_cursor) = audit::list(&state.ports, scope, &filter, limit, cursor).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
