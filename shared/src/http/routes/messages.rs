//! `/messages`: send one message (template or free text), list and show the tenant's messages.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::media;
use crate::domain::messages::accept::{self, Accepted, SendInput};
use crate::domain::messages::{MessageStatus, MessageView};
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};
use crate::store::messages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, send)).routes(routes!(show))
}

pub fn router(state: AppState) -> Router {
    Router::from(routes())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// 202: accepted means durably queued (or stored as scheduled).
#[utoipa::path(post, path = "/messages", tag = tags::MESSAGES, operation_id = "send_message",
    summary = "Send one message: a template (any time), or free text, a file or an interactive message (inside the 24 h service window)",
    description = "`to` is an E.164 phone or a contact id; exactly one of `template`, `text`, `media`, `interactive`. \
        Template variables are checked against the template (count and types); a template with an image, video or \
        document header takes `template.header` `{kind, media_id | link, filename?}` (its file is uploaded to Meta and \
        sent by id) and `variables` for the rest. `interactive` is reply buttons (`{type: \"button\", body, buttons: \
        [{id, title}]}`, 1–3) or a list (`{type: \"list\", body, button, sections: [{title, rows: [{id, title, \
        description?}]}]}`, 10 rows at most), within Meta's limits. With `schedule_at` the message is stored as \
        `scheduled` and released then.",
    security(("bearer" = [])),
    request_body = SendInput,
    responses(
        (status = 202, description = "Queued (or scheduled)", body = Accepted),
        (status = 403, description = "The tenant may not send now (`tenant_suspended`, `subscription_expired`, ...)", body = ErrorBody),
        (status = 404, description = "No such contact", body = ErrorBody),
        (status = 409, description = "WhatsApp is not connected", body = ErrorBody),
        (status = 410, description = "The file is past the plan's media retention (`media_expired`)", body = ErrorBody),
        (status = 422, description = "Invalid recipient, unknown or unapproved template, wrong variables, opted-out contact; \
            `template.header` `required` / `no_media_header` / `kind_mismatch` / `invalid_media_id`; an interactive field \
            past Meta's limits (`interactive.buttons[0].title` `too_long`, `duplicate`, `too_many_rows`, …)", body = ErrorBody),
        (status = 429, description = "The plan's monthly message limit is reached (`quota_exceeded`), or credits ran out", body = ErrorBody),
    ))]
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
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only messages in this status.
    #[param(value_type = Option<MessageStatus>)]
    status: Option<String>,
    /// Only messages of this campaign.
    campaign_id: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Newest first (ULID sort keys read backwards). Filters apply within each page, so a filtered
/// page may hold fewer than `limit` items while `next_cursor` still leads further.
#[utoipa::path(get, path = "/messages", tag = tags::MESSAGES, operation_id = "list_messages",
    summary = "List messages, newest first", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of messages", body = ListResponse<MessageView>)))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<MessageView>>> {
    let tenant = p.tenant_id()?;
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let mut filter = messages::ListFilter::default();
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        filter.status =
            Some(MessageStatus::parse(s).ok_or_else(|| {
                ApiError::validation(vec![FieldError::new("status", "invalid", "not a message status")])
            })?);
    }
    filter.campaign_id = q.campaign_id.filter(|c| !c.is_empty());
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let (mut items, next_cursor) = messages::Messages::new(&*state.ports.table)
        .list(tenant, &filter, limit, cursor)
        .await
        .map_err(super::list_error)?;
    media::retention::messages_as_seen(&state.ports, tenant, &mut items).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

/// A foreign id is looked up under the caller's tenant key, so it is simply not found.
#[utoipa::path(get, path = "/messages/{id}", tag = tags::MESSAGES, operation_id = "get_message",
    summary = "Get a message with its status history", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 404, description = "No such message", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<ApiJson<MessageView>> {
    let tenant = p.tenant_id()?;
    let mut view = messages::Messages::new(&*state.ports.table)
        .view(tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    media::retention::messages_as_seen(&state.ports, tenant, std::slice::from_mut(&mut view)).await?;
    Ok(ApiJson(view))
}
