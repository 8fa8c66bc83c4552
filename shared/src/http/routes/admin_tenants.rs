//! `/admin/tenants*` (super admin): provisioning, listing, plan / end date / status changes, the
//! welcome email resend, credits and the ledger of any tenant.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::billing::{self, CreditInput, LedgerEntry};
use crate::domain::tenants::{self, AdminUserRef, ProvisionInput, Provisioned, TenantPatch, TenantView};
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};
use crate::store::tenants::Tenants;

use super::list_error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/tenants", get(list).post(provision))
        .route("/admin/tenants/{id}", get(show).patch(update))
        .route("/admin/tenants/{id}/resend-welcome", post(resend_welcome))
        .route("/admin/tenants/{id}/credits", post(add_credits))
        .route("/admin/tenants/{id}/ledger", get(ledger))
}

async fn provision(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ProvisionInput>,
) -> ApiResult<Created<Provisioned>> {
    Ok(Created(tenants::provision(&state.ports, &state.config.public_url, input).await?))
}

async fn list(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<TenantView>>> {
    let (items, next_cursor) =
        Tenants::new(&*state.ports.table).list(page.limit()?, page.cursor()).await.map_err(list_error)?;
    let now = state.ports.clock.now();
    Ok(ApiJson(ListResponse { items: items.iter().map(|t| t.view(now)).collect(), next_cursor }))
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<ApiJson<TenantView>> {
    Ok(ApiJson(tenants::get(&state.ports, &id).await?.view(state.ports.clock.now())))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<TenantPatch>,
) -> ApiResult<ApiJson<TenantView>> {
    Ok(ApiJson(tenants::patch(&state.ports, &id, patch).await?.view(state.ports.clock.now())))
}

#[derive(Serialize)]
struct Resent {
    admin_user: AdminUserRef,
    email: &'static str,
}

/// 202: the email is queued, not yet sent.
async fn resend_welcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, ApiJson<Resent>)> {
    let admin_user = tenants::resend_welcome(&state.ports, &state.config.public_url, &id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(Resent { admin_user, email: "queued" })))
}

async fn add_credits(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CreditInput>,
) -> ApiResult<Created<LedgerEntry>> {
    let tenant = tenants::get(&state.ports, &id).await?;
    let (amount, description) = billing::validate_credit(input)?;
    Ok(Created(billing::credit(&state.ports, &tenant.id, amount, description).await?))
}

async fn ledger(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<LedgerEntry>>> {
    let tenant = tenants::get(&state.ports, &id).await?;
    let (items, next_cursor) = billing::list(&state.ports, &tenant.id, page.limit()?, page.cursor()).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
