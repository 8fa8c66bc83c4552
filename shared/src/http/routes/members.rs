//! `/members` (SPEC → Team): a tenant admin invites, lists, changes and removes the tenant's
//! members. Part of the `tenant-api` group (its layers: authentication with the route's roles from
//! `http::access` — TENANT_ADMIN only —, Idempotency-Key).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::members::{self, InviteInput, MemberPatch, MemberView};
use crate::http::audit::Audit;
use crate::http::auth::Principal;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, invite)).routes(routes!(update, remove))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(post, path = "/members", tag = tags::MEMBERS, operation_id = "invite_member",
    summary = "Invite a member (admin or agent): they get an email with a one-time password",
    description = "The new member gets an invitation email with the sign-in URL and a one-time password, which \
        they must change at their first sign-in (like the tenant admin's welcome email; the password is never \
        returned). The plan's `seat_limit` caps the active members, exactly under concurrent invitations.",
    security(("bearer" = [])),
    request_body = InviteInput,
    responses(
        (status = 201, description = "The member", body = MemberView),
        (status = 409, description = "A user with this email exists (`email_taken`)", body = ErrorBody),
        (status = 422, description = "Missing or invalid email, name or role (`details`)", body = ErrorBody),
        (status = 429, description = "The plan's seat limit is reached (`seat_limit_reached`): deactivate or \
            remove a member, or upgrade", body = ErrorBody),
    ))]
async fn invite(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    ApiJson(input): ApiJson<InviteInput>,
) -> ApiResult<Created<MemberView>> {
    Ok(Created(audit::invite_member(&state.ports, &audit, &state.config.public_url, p.tenant_id()?, input).await?))
}

#[utoipa::path(get, path = "/members", tag = tags::MEMBERS, operation_id = "list_members",
    summary = "List the tenant's members, oldest first",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of members", body = ListResponse<MemberView>)))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<MemberView>>> {
    let (items, next_cursor) =
        members::page(&state.ports, p.tenant_id()?, page.limit()?, page.cursor()?).await.map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(patch, path = "/members/{id}", tag = tags::MEMBERS, operation_id = "update_member",
    summary = "Change a member's role, status or name",
    description = "A role change or a deactivation ends the member's sessions at once (their tokens get 401 \
        `session_revoked`); a deactivated member cannot sign in. Reactivating takes a seat again.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Member (user) id (`usr_…`)")),
    request_body = MemberPatch,
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = 404, description = "No such member in this tenant", body = ErrorBody),
        (status = 409, description = "It would leave the tenant without an active admin (`last_admin`)", body = ErrorBody),
        (status = 422, description = "Invalid role, status or name (`details`)", body = ErrorBody),
        (status = 429, description = "Reactivating would exceed the plan's seat limit (`seat_limit_reached`)", body = ErrorBody),
    ))]
async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    audit: Audit,
    ApiJson(patch): ApiJson<MemberPatch>,
) -> ApiResult<ApiJson<MemberView>> {
    Ok(ApiJson(audit::patch_member(&state.ports, &audit, p.tenant_id()?, &id, patch).await?))
}

#[utoipa::path(delete, path = "/members/{id}", tag = tags::MEMBERS, operation_id = "remove_member",
    summary = "Remove a member: their sessions end at once and their email is free again",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Member (user) id (`usr_…`)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such member in this tenant", body = ErrorBody),
        (status = 409, description = "The tenant's last active admin (`last_admin`)", body = ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    audit::remove_member(&state.ports, &audit, p.tenant_id()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
