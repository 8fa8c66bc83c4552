//! `/campaigns`: create (immediate or scheduled), list, show with live counts, cancel.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::campaigns::create::{self, CreateInput};
use crate::domain::campaigns::{self, CampaignView, StatusCounts, cancel, counters};
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::idempotency::idempotency;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult};
use crate::store::campaigns as store;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/campaigns", get(list).post(create_campaign))
        .route("/campaigns/{id}", get(show))
        .route("/campaigns/{id}/cancel", post(cancel_campaign))
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// 201 with the campaign as created (its counts start at zero).
async fn create_campaign(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<CreateInput>,
) -> ApiResult<(StatusCode, ApiJson<CampaignView>)> {
    let campaign = create::create(&state.ports, p.tenant_id()?, input).await?;
    Ok((StatusCode::CREATED, ApiJson(campaign.view(StatusCounts::default()))))
}

/// See `routes::messages::ListParams` for why this is not a flattened `PageParams`.
#[derive(Deserialize)]
struct ListParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Newest first, each with its live counts.
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<CampaignView>>> {
    let tenant = p.tenant_id()?;
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let (items, next_cursor) =
        store::page(&state.ports, tenant, page.limit()?, page.cursor()).await.map_err(super::list_error)?;
    let counts =
        futures_util::future::join_all(items.iter().map(|c| counters::read(&state.ports, tenant, &c.id))).await;
    let items = items.into_iter().zip(counts).map(|(c, n)| Ok(c.view(n?))).collect::<Result<_, ApiError>>()?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

/// A foreign id is looked up under the caller's tenant key, so it is simply not found.
async fn show(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<ApiJson<CampaignView>> {
    let view =
        campaigns::view(&state.ports, p.tenant_id()?, &id).await?.ok_or_else(|| ApiError::not_found("campaign"))?;
    Ok(ApiJson(view))
}

/// 200 with the campaign after the cancel (idempotent: cancelling again answers the same).
async fn cancel_campaign(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<CampaignView>> {
    let tenant = p.tenant_id()?;
    let campaign = cancel::cancel(&state.ports, tenant, &id).await?;
    let counts = counters::read(&state.ports, tenant, &id).await?;
    Ok(ApiJson(campaign.view(counts)))
}
