//! The inbox: `/conversations*` and `/canned-replies*` for tenant users.
//!
//! Which conversations a caller sees is the domain's [`inbox::Scope`]; every handler takes it
//! from [`scope`], so the role rules (an agent: assigned to them or unassigned) apply in one place.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::inbox::canned::{self, CannedInput, CannedReply};
use crate::domain::inbox::{self, ConversationStatus, ConversationView, ListFilter, Scope};
use crate::domain::media;
use crate::domain::messages::Author;
use crate::domain::messages::MessageView;
use crate::domain::messages::accept::{MediaSend, TemplateSend};
use crate::domain::messages::interactive::InteractiveInput;
use crate::domain::user::Role;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, Created, FieldError, NoBody};
use crate::store::messages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(list_messages, reply))
        .routes(routes!(mark_read))
        .routes(routes!(assign))
        .routes(routes!(resolve))
        .routes(routes!(reopen))
        .routes(routes!(add_note))
        .routes(routes!(create_canned, list_canned))
        .routes(routes!(update_canned, delete_canned))
}

pub fn router(state: AppState) -> Router {
    Router::from(routes())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// The conversations this caller may see (SPEC → Roles): an admin all of them, an agent those
/// assigned to them or to no one — another agent's conversation is 404 to them, as a foreign id.
/// The media routes and the console use it too (a customer's file is seen by whoever sees its conversation).
pub fn scope(p: &Principal) -> Scope {
    match p.role() {
        Role::TenantAgent => Scope::AssignedToOrUnassigned(p.user.id.clone()),
        Role::TenantAdmin | Role::SuperAdmin => Scope::All,
    }
}

/// Not `#[serde(flatten)]` of `PageParams` (see contacts: the decoder would see `limit` as text).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// `me`, `unassigned`, or a member id.
    #[param(example = "me")]
    assignee: Option<String>,
    /// `open` or `resolved`.
    #[param(example = "open")]
    status: Option<String>,
    /// `true`: only conversations with unread messages.
    #[param(example = "true")]
    unread: Option<String>,
    /// Only conversations whose contact has this tag.
    tag: Option<String>,
    /// Search the contact's name, phone, username or WhatsApp user id (case-insensitive).
    q: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn list_filter(p: &Principal, params: ListParams) -> Result<ListFilter, ApiError> {
    let mut errors = Vec::new();
    let assignee = match params.assignee.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(Some(p.user.id.clone())),
        Some("unassigned") => Some(None),
        Some(id) => Some(Some(id.to_owned())),
    };
    let status = match params.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => ConversationStatus::parse(s).or_else(|| {
            errors.push(FieldError::new("status", "invalid", "open or resolved"));
            None
        }),
    };
    let unread = match params.unread.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push(FieldError::new("unread", "invalid", "true or false"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(ListFilter { assignee, status, unread, tag: params.tag, q: params.q })
}

#[utoipa::path(get, path = "/conversations", tag = tags::INBOX, operation_id = "list_conversations",
    summary = "List conversations, latest activity first", security(("bearer" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of conversations", body = ListResponse<ConversationView>),
        (status = 422, description = "A bad `status` or `unread` value", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<ConversationView>>> {
    let tenant = p.tenant_id()?;
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let filter = list_filter(&p, params)?;
    let (items, next_cursor) = inbox::list(&state.ports, tenant, &filter, &scope(&p), limit, cursor).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
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
    Ok(ApiJson(inbox::view(&state.ports, p.tenant_id()?, &id, &scope(&p)).await?))
}

#[utoipa::path(get, path = "/conversations/{id}/messages", tag = tags::INBOX,
    operation_id = "list_conversation_messages",
    summary = "A conversation's thread, newest first: messages both ways, notes and system entries", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"), PageParams),
    responses(
        (status = 200, description = "A page of the thread (`direction: internal` for notes and system entries)", body = ListResponse<MessageView>),
        (status = 404, description = "No such conversation", body = ErrorBody),
    ))]
async fn list_messages(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<MessageView>>> {
    let tenant = p.tenant_id()?;
    inbox::require(&state.ports, tenant, &id, &scope(&p)).await?;
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let (mut items, next_cursor) = messages::Messages::new(&*state.ports.table)
        .conversation_page(tenant, &id, limit, cursor)
        .await
        .map_err(super::list_error)?;
    media::retention::messages_as_seen(&state.ports, tenant, &mut items).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReplyInput, example = json!({"text": "Thanks, we have received your fee."}))]
struct ReplyBody {
    /// Free text, 1 to 4096 characters: only inside the 24 h customer service window.
    text: Option<String>,
    /// An approved template, any time (quota, credits and opt-out apply as for `POST /messages`).
    template: Option<TemplateSend>,
    /// A file uploaded with `POST /media`: only inside the 24 h window (as `POST /messages`'s `media`).
    media: Option<MediaSend>,
    /// Reply buttons or a list: only inside the 24 h window (as `POST /messages`'s `interactive`).
    interactive: Option<InteractiveInput>,
}

/// A reply: free text inside the customer service window, or a template any time. 202:
/// accepted means durably queued.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = tags::INBOX, operation_id = "reply_in_conversation",
    summary = "Reply: free text inside the 24 h window, or a template any time", security(("bearer" = [])), params(("id" = String, Path, description = "Conversation id")),
    request_body = ReplyBody,
    responses(
        (status = 202, description = "Queued", body = MessageView),
        (status = 404, description = "No such conversation", body = ErrorBody),
        (status = 422, description = "Not exactly one of text / template; empty or too long text; outside the window \
            (`outside_service_window`); an unknown or unapproved template or wrong variables; an opted-out contact \
            (`contact_opted_out`, templates); media: `POST /messages`'s refusals (`invalid_media_id`, `kind_mismatch`, \
            `link_not_supported`); interactive: a field error per Meta limit (`interactive.buttons[0].title` `too_long`, …)", body = ErrorBody),
        (status = 429, description = "Quota or credits exhausted", body = ErrorBody),
    ))]
async fn reply(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<(StatusCode, ApiJson<MessageView>)> {
    let tenant = p.tenant_id()?.to_string();
    let given = [body.text.is_some(), body.template.is_some(), body.media.is_some(), body.interactive.is_some()];
    match given.iter().filter(|g| **g).count() {
        0 => {
            return Err(ApiError::validation(vec![FieldError::new(
                "text",
                "required",
                "give one of text or template",
            )]));
        }
        1 => {}
        _ => {
            return Err(ApiError::validation(vec![FieldError::new(
                "template",
                "exclusive",
                "give exactly one of text, template, media or interactive",
            )]));
        }
    }
    let scope = scope(&p);
    let view = match (body.template, body.media, body.interactive) {
        (Some(template), _, _) => inbox::reply::template(&state.ports, &tenant, &id, template, &scope).await?,
        (None, Some(media), _) => inbox::reply::media(&state.ports, &tenant, &id, media, &scope).await?,
        (None, None, Some(i)) => inbox::reply::interactive(&state.ports, &tenant, &id, i, &scope).await?,
        (None, None, None) => {
            let text = body.text.unwrap_or_default();
            inbox::reply::text(&state.ports, &tenant, &id, &text, &scope).await?
        }
    };
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
    _: NoBody,
) -> ApiResult<StatusCode> {
    if inbox::mark_read(&state.ports, p.tenant_id()?, &id, &scope(&p)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("conversation"))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AssignInput, example = json!({"member_id": "usr_01jd5xa1b2c3d4e5f6g7h8j9k0"}))]
struct AssignBody {
    /// A member of the tenant, or `null` to unassign.
    #[schema(required = true)]
    member_id: Option<String>,
}

#[utoipa::path(post, path = "/conversations/{id}/assign", tag = tags::INBOX, operation_id = "assign_conversation",
    summary = "Assign a conversation to a member (or to nobody)", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = AssignBody,
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 404, description = "No such conversation", body = ErrorBody),
        (status = 422, description = "Not a member of this tenant (`invalid_member`)", body = ErrorBody),
    ))]
async fn assign(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<ApiJson<ConversationView>> {
    let member = body.member_id.as_deref().map(str::trim).filter(|m| !m.is_empty());
    Ok(ApiJson(inbox::assign(&state.ports, p.tenant_id()?, &id, member, &scope(&p)).await?))
}

#[utoipa::path(post, path = "/conversations/{id}/resolve", tag = tags::INBOX, operation_id = "resolve_conversation",
    summary = "Resolve a conversation (a new inbound message reopens it)", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 404, description = "No such conversation", body = ErrorBody),
    ))]
async fn resolve(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    _: NoBody,
) -> ApiResult<ApiJson<ConversationView>> {
    let status = ConversationStatus::Resolved;
    Ok(ApiJson(inbox::set_status(&state.ports, p.tenant_id()?, &id, status, &scope(&p)).await?))
}

#[utoipa::path(post, path = "/conversations/{id}/reopen", tag = tags::INBOX, operation_id = "reopen_conversation",
    summary = "Reopen a resolved conversation", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 404, description = "No such conversation", body = ErrorBody),
    ))]
async fn reopen(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    _: NoBody,
) -> ApiResult<ApiJson<ConversationView>> {
    let status = ConversationStatus::Open;
    Ok(ApiJson(inbox::set_status(&state.ports, p.tenant_id()?, &id, status, &scope(&p)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NoteInput, example = json!({"text": "Parent asked for a receipt; forwarded to accounts."}))]
struct NoteBody {
    /// 1 to 4096 characters.
    text: Option<String>,
}

#[utoipa::path(post, path = "/conversations/{id}/notes", tag = tags::INBOX, operation_id = "add_conversation_note",
    summary = "Add an internal note to the thread (never sent to the customer)", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = NoteBody,
    responses(
        (status = 201, description = "The note (`direction: internal`, `kind: note`, `author`)", body = MessageView),
        (status = 404, description = "No such conversation", body = ErrorBody),
        (status = 422, description = "Empty or too long text", body = ErrorBody),
    ))]
async fn add_note(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> ApiResult<Created<MessageView>> {
    let author = Author { id: p.user.id.clone(), name: p.user.name.clone() };
    let text = body.text.unwrap_or_default();
    Ok(Created(inbox::add_note(&state.ports, p.tenant_id()?, &id, author, &text, &scope(&p)).await?))
}

#[utoipa::path(post, path = "/canned-replies", tag = tags::INBOX, operation_id = "create_canned_reply",
    summary = "Save a canned reply", security(("bearer" = [])), request_body = CannedInput,
    responses(
        (status = 201, description = "The canned reply", body = CannedReply),
        (status = 409, description = "The shortcut is taken (`shortcut_taken`)", body = ErrorBody),
        (status = 422, description = "A bad shortcut or text, or an unknown placeholder", body = ErrorBody),
    ))]
async fn create_canned(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CannedInput>,
) -> ApiResult<Created<CannedReply>> {
    Ok(Created(canned::create(&state.ports, p.tenant_id()?, body).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CannedParams {
    /// Search shortcuts and texts (case-insensitive).
    q: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/canned-replies", tag = tags::INBOX, operation_id = "list_canned_replies",
    summary = "List or search canned replies, newest first", security(("bearer" = [])), params(CannedParams),
    responses((status = 200, description = "A page of canned replies", body = ListResponse<CannedReply>)))]
async fn list_canned(
    State(state): State<AppState>,
    p: Principal,
    Query(params): Query<CannedParams>,
) -> ApiResult<ApiJson<ListResponse<CannedReply>>> {
    let page = PageParams { limit: params.limit, cursor: params.cursor };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let (items, next_cursor) = canned::list(&state.ports, p.tenant_id()?, params.q.as_deref(), limit, cursor).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(patch, path = "/canned-replies/{id}", tag = tags::INBOX, operation_id = "update_canned_reply",
    summary = "Change a canned reply's shortcut or text", security(("bearer" = [])),
    params(("id" = String, Path, description = "Canned reply id")), request_body = CannedInput,
    responses(
        (status = 200, description = "The canned reply", body = CannedReply),
        (status = 404, description = "No such canned reply", body = ErrorBody),
        (status = 409, description = "The shortcut is taken (`shortcut_taken`)", body = ErrorBody),
        (status = 422, description = "A bad shortcut or text, or an unknown placeholder", body = ErrorBody),
    ))]
async fn update_canned(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CannedInput>,
) -> ApiResult<ApiJson<CannedReply>> {
    Ok(ApiJson(canned::update(&state.ports, p.tenant_id()?, &id, body).await?))
}

#[utoipa::path(delete, path = "/canned-replies/{id}", tag = tags::INBOX, operation_id = "delete_canned_reply",
    summary = "Delete a canned reply", security(("bearer" = [])),
    params(("id" = String, Path, description = "Canned reply id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such canned reply", body = ErrorBody),
    ))]
async fn delete_canned(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    canned::delete(&state.ports, p.tenant_id()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
