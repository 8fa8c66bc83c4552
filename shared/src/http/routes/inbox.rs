//! The inbox: `/conversations*` for tenant admins.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::inbox::{self, ConversationView};
use crate::domain::messages::dispatch;
use crate::domain::messages::{Direction, Message, MessageStatus, MessageView};
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};
use crate::store::{keys, messages};

/// Longest free-text message WhatsApp accepts.
const MAX_TEXT_CHARS: usize = 4096;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(list_messages, reply))
        .routes(routes!(mark_read))
}

pub fn router(state: AppState) -> Router {
    Router::from(routes())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

#[utoipa::path(get, path = "/conversations", tag = tags::INBOX, operation_id = "list_conversations",
    summary = "List conversations, most recent first", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of conversations", body = ListResponse<ConversationView>)))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<ConversationView>>> {
    let tenant = p.tenant_id()?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let (conversations, next_cursor) = messages::Messages::new(&*state.ports.table)
        .conversations(tenant, limit, cursor)
        .await
        .map_err(super::list_error)?;
    let now = state.ports.clock.now();
    Ok(ApiJson(ListResponse { items: conversations.into_iter().map(|c| c.view(now)).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/conversations/{id}", tag = tags::INBOX, operation_id = "get_conversation",
    summary = "Get a conversation (with its service window)", security(("bearer" = [])), params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 404, description = "No such conversation", body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<ConversationView>> {
    let conversation =
        inbox::get(&state.ports, p.tenant_id()?, &id).await?.ok_or_else(|| ApiError::not_found("conversation"))?;
    Ok(ApiJson(conversation.view(state.ports.clock.now())))
}

#[utoipa::path(get, path = "/conversations/{id}/messages", tag = tags::INBOX,
    operation_id = "list_conversation_messages",
    summary = "A conversation's messages, newest first", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"), PageParams),
    responses(
        (status = 200, description = "A page of messages", body = ListResponse<MessageView>),
        (status = 404, description = "No such conversation", body = ErrorBody),
    ))]
async fn list_messages(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<MessageView>>> {
    let tenant = p.tenant_id()?;
    inbox::get(&state.ports, tenant, &id).await?.ok_or_else(|| ApiError::not_found("conversation"))?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let (items, next_cursor) = messages::Messages::new(&*state.ports.table)
        .conversation_page(tenant, &id, limit, cursor)
        .await
        .map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReplyInput, example = json!({"text": "Thanks, we have received your fee."}))]
struct ReplyBody {
    /// 1 to 4096 characters.
    text: Option<String>,
}

/// A free-text reply inside the customer service window. 202: accepted means durably queued.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = tags::INBOX, operation_id = "reply_in_conversation",
    summary = "Reply with free text inside the 24 h customer service window", security(("bearer" = [])), params(("id" = String, Path, description = "Conversation id")),
    request_body = ReplyBody,
    responses(
        (status = 202, description = "Queued", body = MessageView),
        (status = 404, description = "No such conversation", body = ErrorBody),
        (status = 422, description = "Empty or too long text, or outside the window (`outside_service_window`)", body = ErrorBody),
        (status = 429, description = "Quota or credits exhausted", body = ErrorBody),
    ))]
async fn reply(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<(StatusCode, ApiJson<MessageView>)> {
    let tenant = p.tenant_id()?.to_string();
    let text = body.text.map(|t| t.trim().to_string()).unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::validation(vec![FieldError::new(
            "text",
            "invalid",
            format!("must be 1 to {MAX_TEXT_CHARS} characters"),
        )]));
    }
    let now = state.ports.clock.now();
    let conversation =
        inbox::get(&state.ports, &tenant, &id).await?.ok_or_else(|| ApiError::not_found("conversation"))?;
    if !conversation.window_open(now) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside_service_window",
            "the customer has not written in the last 24 hours: free text is not allowed, send a template instead",
        ));
    }
    let contact = state
        .ports
        .table
        .get(&keys::contact(&tenant, &conversation.contact_id))
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    let to = contact.get_str("phone").or_else(|| contact.get_str("wa_user_id")).map(str::to_string);
    let message = Message {
        contact_id: Some(conversation.contact_id.clone()),
        conversation_id: Some(id.clone()),
        to,
        text: Some(text.clone()),
        ..Message::new(
            state.ports.ids.new_id("msg"),
            tenant.clone(),
            Direction::Outbound,
            "text",
            MessageStatus::Queued,
            now,
        )
    };
    dispatch::accept(&state.ports, &message, &text).await?;
    // The answer is the message as accepted (the worker may already be sending it).
    let view = MessageView::from_item(&messages::item(&message)?)?;
    Ok((StatusCode::ACCEPTED, ApiJson(view)))
}

#[utoipa::path(post, path = "/conversations/{id}/read", tag = tags::INBOX, operation_id = "mark_conversation_read",
    summary = "Mark a conversation read", security(("bearer" = [])), params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Marked read"),
        (status = 415, description = "A body that is not JSON (this route takes none; send nothing or `{}`)", body = ErrorBody),
        (status = 404, description = "No such conversation", body = ErrorBody),
    ))]
async fn mark_read(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    _: crate::http::NoBody,
) -> ApiResult<StatusCode> {
    if inbox::mark_read(&state.ports, p.tenant_id()?, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("conversation"))
    }
}
