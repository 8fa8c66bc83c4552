//! `/api-keys`: create (the key is shown this once), list (no secrets), revoke. Part of the
//! `tenant-api` group (its layers: authentication, Idempotency-Key).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::api_keys::{self, ApiKeyView, CreateInput, CreatedApiKey};
use crate::domain::audit;
use crate::http::audit::Audit;
use crate::http::auth::Principal;
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::RedactedReplay;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, Created};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(post, path = "/api-keys", tag = tags::API_KEYS, operation_id = "create_api_key",
    summary = "Create an API key for the external API (the key is shown this once)",
    description = "The answer's `key` is the only time the key is shown: only its SHA-256 is stored. Send it as \
        `x-api-key` on `/api/v1/*`. The plan's `api_key_limit` caps how many keys a tenant has at once.",
    security(("bearer" = [])),
    request_body = CreateInput,
    responses(
        (status = 201, description = "The key, with its secret this once (a replay of this answer for the same \
            `Idempotency-Key` has `key: null`: the key is never stored)", body = CreatedApiKey),
        (status = 422, description = "`name` is missing or longer than 100 characters", body = ErrorBody),
        (status = 429, description = "The plan's API key limit is reached (`api_key_limit_reached`); revoke one \
            or upgrade", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    ApiJson(input): ApiJson<CreateInput>,
) -> ApiResult<Response> {
    let created = audit::create_api_key(&state.ports, &audit, p.tenant_id()?, input).await?;
    // An Idempotency-Key replay shows the key's metadata, never the key (not stored anywhere).
    let redacted = serde_json::to_vec(&CreatedApiKey { key: None, ..created.clone() }).map_err(ApiError::internal)?;
    let mut response = Created(created).into_response();
    response.extensions_mut().insert(RedactedReplay(redacted.into()));
    Ok(response)
}

#[utoipa::path(get, path = "/api-keys", tag = tags::API_KEYS, operation_id = "list_api_keys",
    summary = "List the tenant's API keys, oldest first (never the secrets)",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of API keys", body = ListResponse<ApiKeyView>)))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<ApiKeyView>>> {
    let (items, next_cursor) =
        api_keys::page(&state.ports, p.tenant_id()?, page.limit()?, page.cursor()?).await.map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

/// 204, effective at once; a foreign or unknown id is 404.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = tags::API_KEYS, operation_id = "revoke_api_key",
    summary = "Revoke an API key: the very next request with it gets 401",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id (`key_…`)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such API key (or already revoked)", body = ErrorBody),
    ))]
async fn revoke(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if audit::revoke_api_key(&state.ports, &audit, p.tenant_id()?, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}
