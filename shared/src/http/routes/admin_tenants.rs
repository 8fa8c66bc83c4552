//! `/admin/tenants*` (super admin): provisioning, listing, plan / end date / status changes, the
//! welcome email resend, credits and the ledger of any tenant.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::billing::{self, CreditInput, LedgerEntry};
use crate::domain::tenants::{self, AdminUserRef, ProvisionInput, Provisioned, Standing, TenantPatch, TenantView};
use crate::http::audit::Audit;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created, NoBody};
use crate::store::tenants::Tenants;

use super::list_error;

/// Routes only; the admin group adds authentication, the role check and idempotency.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, provision))
        .routes(routes!(show, update))
        .routes(routes!(resend_welcome))
        .routes(routes!(add_credits))
        .routes(routes!(ledger))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(post, path = "/admin/tenants", tag = tags::TENANTS, operation_id = "provision_tenant",
    summary = "Provision a tenant",
    description = "Creates the tenant, its subscription and its admin user with a one-time password, and emails \\
        that user a welcome message with the login URL and the password (never returned by the API).",
    security(("bearer" = [])),
    request_body = ProvisionInput,
    responses(
        (status = 201, description = "The tenant and its admin user", body = Provisioned),
        (status = 409, description = "The slug (`slug_taken`) or the admin email (`email_taken`) is in use", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid, or the plan does not exist", body = ErrorBody),
    ))]
async fn provision(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(input): ApiJson<ProvisionInput>,
) -> ApiResult<Created<Provisioned>> {
    Ok(Created(audit::provision_tenant(&state.ports, &audit, &state.config.public_url, input).await?))
}

#[utoipa::path(get, path = "/admin/tenants", tag = tags::TENANTS, operation_id = "list_tenants",
    summary = "List tenants",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of tenants", body = ListResponse<TenantView>)))]
async fn list(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<TenantView>>> {
    let (items, next_cursor) =
        Tenants::new(&*state.ports.table).list(page.limit()?, page.cursor()?).await.map_err(list_error)?;
    let now = state.ports.clock.now();
    Ok(ApiJson(ListResponse { items: items.iter().map(|t| t.view(now)).collect(), next_cursor }))
}

/// A tenant with what it used this period and its balance (as the tenant sees them on `GET /tenant`).
#[derive(Serialize, utoipa::ToSchema)]
struct TenantDetail {
    #[serde(flatten)]
    tenant: TenantView,
    #[serde(flatten)]
    standing: Standing,
}

#[utoipa::path(get, path = "/admin/tenants/{id}", tag = tags::TENANTS, operation_id = "get_tenant",
    summary = "Get a tenant, with its usage this period and its credit balance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Tenant id")),
    responses(
        (status = 200, description = "The tenant", body = TenantDetail),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<ApiJson<TenantDetail>> {
    let tenant = tenants::get(&state.ports, &id).await?;
    let standing = tenants::standing(&state.ports, &tenant).await?;
    Ok(ApiJson(TenantDetail { tenant: tenant.view(state.ports.clock.now()), standing }))
}

#[utoipa::path(patch, path = "/admin/tenants/{id}", tag = tags::TENANTS, operation_id = "update_tenant",
    summary = "Change a tenant's plan, end date or status",
    description = "A suspended tenant's users and keys get 403 `tenant_suspended`; its queued sends are held, not lost. \\
        `ends_at: null` removes the end date.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Tenant id")),
    request_body = TenantPatch,
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently; retry", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the plan does not exist", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    audit: Audit,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> ApiResult<ApiJson<TenantView>> {
    Ok(ApiJson(audit::patch_tenant(&state.ports, &audit, &id, patch).await?.view(state.ports.clock.now())))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Resent {
    admin_user: AdminUserRef,
    #[schema(example = "queued")]
    email: &'static str,
}

/// 202: the email is queued, not yet sent.
#[utoipa::path(post, path = "/admin/tenants/{id}/resend-welcome", tag = tags::TENANTS,
    operation_id = "resend_welcome_email",
    summary = "Email the tenant admin a new one-time password",
    description = "Only while the admin still has to change the one-time password: the previous one stops \
        working and the admin's sessions end. Once they chose their own password it is 409 \
        `welcome_already_used` (they use forgot-password).",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Tenant id")),
    responses(
        (status = 202, description = "The email is queued", body = Resent),
        (status = 409, description = "`welcome_already_used`: the admin has already changed the password", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (this route takes none; send nothing or `{}`)", body = ErrorBody),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
async fn resend_welcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    audit: Audit,
    _: NoBody,
) -> ApiResult<(StatusCode, ApiJson<Resent>)> {
    let admin_user = audit::resend_welcome(&state.ports, &audit, &state.config.public_url, &id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(Resent { admin_user, email: "queued" })))
}

#[utoipa::path(post, path = "/admin/tenants/{id}/credits", tag = tags::TENANTS, operation_id = "add_credits",
    summary = "Add prepaid credits to a tenant, or correct them",
    description = "A positive `amount` is a top-up (`kind: credit`). A negative one is a correction (`kind: \
        adjustment`, the entry's `amount` positive): it needs its reason in `description` and never takes the \
        balance below zero (checked and written atomically, like message debits).",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Tenant id")),
    request_body = CreditInput,
    responses(
        (status = 201, description = "The ledger entry", body = LedgerEntry),
        (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 422, description = "The amount or description is invalid (`amount` non-zero, at most 10000000000.00 \
            either way; `description` `reason_required` with a negative amount), the credit would take the balance above \
            10000000000.00 (`balance_limit_exceeded`), or the correction below zero (`insufficient_balance`)", body = ErrorBody),
    ))]
async fn add_credits(
    State(state): State<AppState>,
    Path(id): Path<String>,
    audit: Audit,
    ApiJson(input): ApiJson<CreditInput>,
) -> ApiResult<Created<LedgerEntry>> {
    let tenant = tenants::get(&state.ports, &id).await?;
    Ok(Created(audit::change_credits(&state.ports, &audit, &tenant.id, input).await?))
}

#[utoipa::path(get, path = "/admin/tenants/{id}/ledger", tag = tags::TENANTS, operation_id = "get_tenant_ledger",
    summary = "A tenant's ledger: credits, debits and refunds with the running balance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Tenant id"), PageParams),
    responses(
        (status = 200, description = "A page of ledger entries", body = ListResponse<LedgerEntry>),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
async fn ledger(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<LedgerEntry>>> {
    let tenant = tenants::get(&state.ports, &id).await?;
    let (items, next_cursor) = billing::list(&state.ports, &tenant.id, page.limit()?, page.cursor()?).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
