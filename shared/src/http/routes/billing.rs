//! `/billing/*` (tenant users): the tenant's own ledger.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;

use crate::app::AppState;
use crate::domain::billing::{self, LedgerEntry};
use crate::http::auth::Principal;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/billing/ledger", get(ledger))
}

async fn ledger(
    State(state): State<AppState>,
    principal: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<LedgerEntry>>> {
    let (items, next_cursor) =
        billing::list(&state.ports, principal.tenant_id()?, page.limit()?, page.cursor()).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
