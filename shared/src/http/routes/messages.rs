//! `/messages`: send one message (template or free text), list and show the tenant's messages.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::messages::accept::{self, Accepted, SendInput};
use crate::domain::messages::{MessageStatus, MessageView};
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::idempotency::idempotency;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};
use crate::ports::table::{Cond, Query as TableQuery};
use crate::store::{keys, messages};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/messages", get(list).post(send))
        .route("/messages/{id}", get(show))
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// 202: accepted means durably queued (or stored as scheduled).
async fn send(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<SendInput>,
) -> ApiResult<(StatusCode, ApiJson<Accepted>)> {
    let accepted = accept::accept(&state.ports, p.tenant_id()?, input).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(accepted)))
}

/// Not `#[serde(flatten)]` over `PageParams`: a flattened query struct sees every value as a
/// string, so `limit=1` would be refused as "not a number".
#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    campaign_id: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Newest first (ULID sort keys read backwards). Filters apply within each page, so a filtered
/// page may hold fewer than `limit` items while `next_cursor` still leads further.
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<MessageView>>> {
    let tenant = p.tenant_id()?;
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let mut filters = Vec::new();
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        let status = MessageStatus::parse(s)
            .ok_or_else(|| ApiError::validation(vec![FieldError::new("status", "invalid", "not a message status")]))?;
        filters.push(Cond::eq("status", status.as_str()));
    }
    if let Some(c) = q.campaign_id.as_deref().filter(|c| !c.is_empty()) {
        filters.push(Cond::eq("campaign_id", c));
    }
    let mut query = TableQuery::index(keys::LISTS, keys::messages_list(tenant))
        .backward()
        .limit(page.limit()?)
        .cursor(page.cursor());
    if !filters.is_empty() {
        query = query.filter(Cond::And(filters));
    }
    let result = state.ports.table.query(query).await.map_err(super::list_error)?;
    let items = result.items.iter().map(MessageView::from_item).collect::<Result<_, _>>()?;
    Ok(ApiJson(ListResponse { items, next_cursor: result.next_cursor }))
}

/// A foreign id is looked up under the caller's tenant key, so it is simply not found.
async fn show(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<ApiJson<MessageView>> {
    let view =
        messages::view(&state.ports, p.tenant_id()?, &id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(ApiJson(view))
}
