//! `/analytics/*` (tenant admins: the tenant's days and templates) and `/admin/analytics/daily`
//! (super admin: per tenant and in total). The counters and how they stay exact:
//! `domain::analytics`.

use axum::Router;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::analytics::{self, AdminQuery, DailyReport, PlatformDaily, RangeQuery, TemplateReport};
use crate::http::auth::Principal;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::{ApiJson, ApiResult};

/// The tenant's routes (the tenant group adds authentication and the role check).
pub fn tenant_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(daily)).routes(routes!(templates))
}

/// The super admin's route (the admin group adds authentication and the role check).
pub fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(platform_daily))
}

/// Both, for the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    tenant_routes().merge(admin_routes())
}

pub fn tenant_router() -> Router<AppState> {
    tenant_routes().into()
}

pub fn admin_router() -> Router<AppState> {
    admin_routes().into()
}

#[utoipa::path(get, path = "/analytics/daily", tag = tags::ANALYTICS, operation_id = "get_daily_analytics",
    summary = "The tenant's days: message funnel, inbound messages, cost and credits",
    description = "One entry per day of the range (the tenant's `time_zone`), days without traffic as zeros. \
        The funnel counts each outbound message on the day it was sent (or scheduled for) in its current \
        status: a `read` message also counts as `delivered` and `sent`, a `failed` one only as `failed`. \
        Duplicated and out-of-order webhooks never count twice. Cost is per Meta pricing category, net of \
        refunds, on the day of the ledger entries; `credits_debited - credits_refunded` is the day's net \
        spend. Default range: the last 30 days; at most 366 days.",
    security(("bearer" = [])),
    params(RangeQuery),
    responses(
        (status = 200, description = "Every day of the range, in order", body = DailyReport),
        (status = 422, description = "`from`/`to` `invalid_date`, `to` `before_from` or `range_too_long`", body = ErrorBody,
            example = json!({"error": {"code": "validation_failed", "message": "some fields are invalid",
                "details": [{"field": "to", "code": "range_too_long", "message": "the range may cover at most 366 days"}]}})),
    ))]
async fn daily(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<RangeQuery>,
) -> ApiResult<ApiJson<DailyReport>> {
    Ok(ApiJson(analytics::tenant_daily(&state.ports, principal.tenant_id()?, &query).await?))
}

#[utoipa::path(get, path = "/analytics/templates", tag = tags::ANALYTICS, operation_id = "get_template_analytics",
    summary = "Per template and language, the message funnel over a range of days",
    description = "The same funnel as `GET /analytics/daily`, per template (name and language), most sent first; \
        templates not sent in the range are absent.",
    security(("bearer" = [])),
    params(RangeQuery),
    responses(
        (status = 200, description = "The templates sent in the range", body = TemplateReport),
        (status = 422, description = "`from`/`to` `invalid_date`, `to` `before_from` or `range_too_long`", body = ErrorBody),
    ))]
async fn templates(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<RangeQuery>,
) -> ApiResult<ApiJson<TemplateReport>> {
    Ok(ApiJson(analytics::tenant_templates(&state.ports, principal.tenant_id()?, &query).await?))
}

#[utoipa::path(get, path = "/admin/analytics/daily", tag = tags::ANALYTICS, operation_id = "get_platform_daily_analytics",
    summary = "The platform's days: per tenant and in total",
    description = "Each tenant's days as `GET /analytics/daily` gives them (its own time zone's dates), and per date \
        their sum. With `tenant_id`, only that tenant. Default range: the last 30 days (UTC); at most 366 days.",
    security(("bearer" = [])),
    params(AdminQuery),
    responses(
        (status = 200, description = "Totals per day and each tenant's days", body = PlatformDaily),
        (status = 404, description = "No tenant with this `tenant_id`", body = ErrorBody),
        (status = 422, description = "`from`/`to` `invalid_date`, `to` `before_from` or `range_too_long`", body = ErrorBody),
    ))]
async fn platform_daily(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
) -> ApiResult<ApiJson<PlatformDaily>> {
    Ok(ApiJson(analytics::platform_daily(&state.ports, &query).await?))
}
