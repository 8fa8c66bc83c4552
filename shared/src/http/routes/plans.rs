//! `/plans*` (super admin): plan CRUD.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;

use crate::app::AppState;
use crate::domain::plans::{self, Plan, PlanInput};
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};
use crate::store::plans::Plans;

use super::list_error;

/// Routes only; the admin group adds authentication, the role check and idempotency.
pub fn router() -> Router<AppState> {
    Router::new().route("/plans", get(list).post(create)).route("/plans/{id}", get(show).patch(update).delete(remove))
}

async fn create(State(state): State<AppState>, ApiJson(input): ApiJson<PlanInput>) -> ApiResult<Created<Plan>> {
    Ok(Created(plans::create(&state.ports, input).await?))
}

async fn list(State(state): State<AppState>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<ListResponse<Plan>>> {
    let (items, next_cursor) =
        Plans::new(&*state.ports.table).list(page.limit()?, page.cursor()).await.map_err(list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<ApiJson<Plan>> {
    Ok(ApiJson(plans::get(&state.ports, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult<ApiJson<Plan>> {
    Ok(ApiJson(plans::update(&state.ports, &id, input).await?))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    plans::delete(&state.ports, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
