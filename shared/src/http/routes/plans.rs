//! `/plans*` (super admin): plan CRUD.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::plans::{self, Plan, PlanInput, PlanPatch};
use crate::http::audit::Audit;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};
use crate::store::plans::Plans;

use super::list_error;

/// Routes only; the admin group adds authentication, the role check and idempotency.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update, remove))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(post, path = "/plans", tag = tags::PLANS, operation_id = "create_plan", summary = "Create a plan",
    security(("bearer" = [])),
    request_body = PlanInput,
    responses(
        (status = 201, description = "The plan", body = Plan),
        (status = 422, description = "A field is missing or invalid (`details`)", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(input): ApiJson<PlanInput>,
) -> ApiResult<Created<Plan>> {
    Ok(Created(audit::create_plan(&state.ports, &audit, input).await?))
}

#[utoipa::path(get, path = "/plans", tag = tags::PLANS, operation_id = "list_plans", summary = "List plans",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of plans", body = ListResponse<Plan>)))]
async fn list(State(state): State<AppState>, Query(page): Query<PageParams>) -> ApiResult<ApiJson<ListResponse<Plan>>> {
    let (items, next_cursor) =
        Plans::new(&*state.ports.table).list(page.limit()?, page.cursor()?).await.map_err(list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(get, path = "/plans/{id}", tag = tags::PLANS, operation_id = "get_plan", summary = "Get a plan",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Plan id")),
    responses(
        (status = 200, description = "The plan", body = Plan),
        (status = 404, description = "No such plan", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<ApiJson<Plan>> {
    Ok(ApiJson(plans::get(&state.ports, &id).await?))
}

#[utoipa::path(patch, path = "/plans/{id}", tag = tags::PLANS, operation_id = "update_plan",
    summary = "Change a plan (only the fields given)",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Plan id")),
    request_body = PlanPatch,
    responses(
        (status = 200, description = "The plan", body = Plan),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 422, description = "A field is invalid (`details`)", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    audit: Audit,
    ApiJson(input): ApiJson<PlanPatch>,
) -> ApiResult<ApiJson<Plan>> {
    Ok(ApiJson(audit::update_plan(&state.ports, &audit, &id, input.into()).await?))
}

#[utoipa::path(delete, path = "/plans/{id}", tag = tags::PLANS, operation_id = "delete_plan",
    summary = "Delete a plan no tenant uses",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Plan id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such plan", body = ErrorBody),
        (status = 409, description = "A tenant has this plan (`plan_in_use`)", body = ErrorBody),
    ))]
async fn remove(State(state): State<AppState>, audit: Audit, Path(id): Path<String>) -> ApiResult<StatusCode> {
    audit::delete_plan(&state.ports, &audit, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
