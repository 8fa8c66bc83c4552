//! `/templates*` for tenant users: create (validated, submitted to Meta), list/filter, get,
//! edit (resubmits), delete (Meta then local), sync from Meta, and the library install.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::templates::model::{Template, TemplateEditInput, TemplateInput};
use crate::domain::templates::{self, InstallReport, SyncReport};
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::idempotency::idempotency;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};
use crate::store::templates as repo;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/templates", get(list).post(create))
        .route("/templates/sync", post(sync))
        .route("/templates/library/install", post(install))
        .route("/templates/{id}", get(show).patch(edit).delete(remove))
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

async fn create(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Created<Template>> {
    Ok(Created(templates::create(&state.ports, p.tenant_id()?, input).await?))
}

/// Not `#[serde(flatten)]` over `PageParams`: a flattened query struct receives every value as a
/// string, so `?limit=10` would not parse as a number.
#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<Template>>> {
    let tenant = p.tenant_id()?;
    let status = templates::status_filter(q.status.as_deref())?;
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let (items, next_cursor) = repo::page(&state.ports, tenant, status.as_deref(), page.limit()?, page.cursor())
        .await
        .map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

async fn show(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<ApiJson<Template>> {
    Ok(ApiJson(templates::get(&state.ports, p.tenant_id()?, &id).await?))
}

async fn edit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<TemplateEditInput>,
) -> ApiResult<ApiJson<Template>> {
    Ok(ApiJson(templates::edit(&state.ports, p.tenant_id()?, &id, input).await?))
}

async fn remove(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    templates::delete(&state.ports, p.tenant_id()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sync(State(state): State<AppState>, p: Principal) -> ApiResult<ApiJson<SyncReport>> {
    Ok(ApiJson(templates::sync_from_meta(&state.ports, p.tenant_id()?).await?))
}

async fn install(State(state): State<AppState>, p: Principal) -> ApiResult<ApiJson<InstallReport>> {
    Ok(ApiJson(templates::install_library(&state.ports, p.tenant_id()?).await?))
}
