//! `/billing/*` (tenant users): the tenant's own ledger.

use axum::Router;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::billing::{self, LedgerEntry};
use crate::http::auth::Principal;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ledger))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(get, path = "/billing/ledger", tag = tags::BILLING, operation_id = "get_ledger",
    summary = "The tenant's ledger: credits, debits and refunds with the running balance",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of ledger entries", body = ListResponse<LedgerEntry>)))]
async fn ledger(
    State(state): State<AppState>,
    principal: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<LedgerEntry>>> {
    let (items, next_cursor) =
        billing::list(&state.ports, principal.tenant_id()?, page.limit()?, page.cursor()?).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
