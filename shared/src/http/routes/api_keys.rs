//! `/api-keys`: create (the key is shown this once), list (no secrets), revoke. Part of the
//! `tenant-api` group (its layers: authentication, Idempotency-Key).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};

use crate::app::AppState;
use crate::domain::api_keys::{self, ApiKeyView, CreateInput, CreatedApiKey};
use crate::http::auth::Principal;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, Created};

pub fn router() -> Router<AppState> {
    Router::new().route("/api-keys", get(list).post(create)).route("/api-keys/{id}", delete(revoke))
}

async fn create(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<CreateInput>,
) -> ApiResult<Created<CreatedApiKey>> {
    Ok(Created(api_keys::create(&state.ports, p.tenant_id()?, input).await?))
}

async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<ApiKeyView>>> {
    let (items, next_cursor) =
        api_keys::page(&state.ports, p.tenant_id()?, page.limit()?, page.cursor()).await.map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

/// 204, effective at once; a foreign or unknown id is 404.
async fn revoke(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if api_keys::revoke(&state.ports, p.tenant_id()?, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}
