//! `GET|PATCH /tenant/settings`: the tenant's default country, time zone, opt-out / opt-in
//! keywords and brand. Part of the `tenant-api` group.

use axum::Router;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::tenants::TenantSettings;
use crate::domain::tenants::settings::{self, SettingsPatch};
use crate::http::audit::Audit;
use crate::http::auth::Principal;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::{ApiJson, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, update))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(get, path = "/tenant/settings", tag = tags::TENANT, operation_id = "get_tenant_settings",
    summary = "The tenant's settings (defaults when never set: time zone UTC, no default country)",
    security(("bearer" = [])),
    responses((status = 200, description = "The settings", body = TenantSettings)))]
async fn show(State(state): State<AppState>, p: Principal) -> ApiResult<ApiJson<TenantSettings>> {
    Ok(ApiJson(settings::get(&state.ports, p.tenant_id()?).await?))
}

#[utoipa::path(patch, path = "/tenant/settings", tag = tags::TENANT, operation_id = "update_tenant_settings",
    summary = "Change the tenant's settings (fields left out are kept; null restores the default)",
    description = "With `default_country`, phone numbers written in national format (`098765 43210`) in contacts, \
        imports, `POST /messages` and `POST /api/v1/trigger-message` are read as that country's; numbers with \
        `+` or `00` stay international. `opt_out_keywords` / `opt_in_keywords` add to the built-in words \
        (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT / START, UNSTOP), matched trimmed and case-insensitively; \
        a word cannot be both. `brand` is replaced as a whole.",
    security(("bearer" = [])),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "The settings after the change", body = TenantSettings),
        (status = 409, description = "`conflict`: changed concurrently; retry", body = ErrorBody),
        (status = 422, description = "One detail per bad field: `default_country` `invalid_country`, `time_zone` \
            `invalid_time_zone`, `opt_out_keywords` / `opt_in_keywords` `too_many`, `opt_out_keywords[i]` \
            `required` / `too_long` / `invalid_characters` / `keyword_conflict`, `brand.name` `required` / \
            `too_long` / `invalid_characters`, `brand.color` `required` / `invalid_color`, `brand.logo_media_id` \
            `invalid_media_id` (not a media id of this tenant) / `not_an_image` / `media_not_ready`", body = ErrorBody,
            example = json!({"error": {"code": "validation_failed", "message": "2 fields are invalid", "details": [
                {"field": "time_zone", "code": "invalid_time_zone", "message": "must be an IANA time zone name, e.g. Asia/Kolkata"},
                {"field": "brand.color", "code": "invalid_color", "message": "must be a #rrggbb hex color"}]}})),
    ))]
async fn update(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> ApiResult<ApiJson<TenantSettings>> {
    Ok(ApiJson(audit::patch_settings(&state.ports, &audit, p.tenant_id()?, patch).await?))
}
