//! `/settings/callback`: the tenant's outbound callback (URL and signing secret) and the recent
//! delivery attempts. Part of the `tenant-api` group.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;

use crate::app::AppState;
use crate::domain::callbacks::settings::{self, CallbackInput, CallbackView};
use crate::domain::callbacks::worker::{self, DeliveryView};
use crate::http::auth::Principal;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/callback", get(show).put(put).delete(remove))
        .route("/settings/callback/deliveries", get(deliveries))
}

/// Creates or replaces the callback; answers the settings without the secret.
async fn put(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<ApiJson<CallbackView>> {
    let allow_private = state.config.allow_private_callbacks;
    Ok(ApiJson(settings::put(&state.ports, p.tenant_id()?, input, allow_private).await?))
}

async fn show(State(state): State<AppState>, p: Principal) -> ApiResult<ApiJson<CallbackView>> {
    let stored = settings::get(&state.ports, p.tenant_id()?).await?;
    stored.map(|s| ApiJson(s.view)).ok_or_else(|| ApiError::not_found("callback"))
}

async fn remove(State(state): State<AppState>, p: Principal) -> ApiResult<StatusCode> {
    if settings::delete(&state.ports, p.tenant_id()?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("callback"))
    }
}

/// Newest first; attempts are kept 7 days.
async fn deliveries(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<DeliveryView>>> {
    let (items, next_cursor) = worker::deliveries(&state.ports, p.tenant_id()?, page.limit()?, page.cursor())
        .await
        .map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
