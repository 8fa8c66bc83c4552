//! `/templates*` for tenant users: create (validated, submitted to Meta), list/filter, get,
//! edit (resubmits), delete (Meta then local), sync from Meta, and the library install.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::templates::model::{Template, TemplateEditInput, TemplateInput};
use crate::domain::templates::{self, InstallReport, SyncReport};
use crate::http::audit::Audit;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created, NoBody};
use crate::store::templates as repo;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(sync))
        .routes(routes!(install))
        .routes(routes!(show, edit, remove))
}

pub fn router(state: AppState) -> Router {
    Router::from(routes())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

#[utoipa::path(post, path = "/templates", tag = tags::TEMPLATES, operation_id = "create_template",
    summary = "Create a template and submit it to Meta",
    description = "Validated locally first (422 naming each bad field), then submitted; the status moves from \
        `PENDING` to `APPROVED` or `REJECTED` by Meta's webhook.",
    security(("bearer" = [])),
    request_body = TemplateInput,
    responses(
        (status = 201, description = "The template, `PENDING`", body = Template),
        (status = 409, description = "The name exists in this language (`template_exists`), or WhatsApp must be \
            reconnected (`whatsapp_reauth_required`) or connected first", body = ErrorBody),
        (status = 422, description = "Invalid fields, or Meta rejected the template (`meta_rejected`)", body = ErrorBody),
        (status = 429, description = "The plan's template limit is reached", body = ErrorBody),
        (status = 502, description = "Meta refused or failed (`meta_error`)", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Created<Template>> {
    Ok(Created(audit::create_template(&state.ports, &audit, p.tenant_id()?, input).await?))
}

/// Not `#[serde(flatten)]` over `PageParams`: a flattened query struct receives every value as a
/// string, so `?limit=10` would not parse as a number.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only templates in this status (`APPROVED`, `PENDING`, `REJECTED`, ...).
    #[param(example = "APPROVED")]
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/templates", tag = tags::TEMPLATES, operation_id = "list_templates",
    summary = "List templates",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of templates", body = ListResponse<Template>)))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<Template>>> {
    let tenant = p.tenant_id()?;
    let status = templates::status_filter(q.status.as_deref())?;
    let page = PageParams { limit: q.limit, cursor: q.cursor };
    let (items, next_cursor) = repo::Templates::new(&*state.ports.table)
        .page(tenant, status.as_deref(), page.limit()?, page.cursor()?)
        .await
        .map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(get, path = "/templates/{id}", tag = tags::TEMPLATES, operation_id = "get_template",
    summary = "Get a template", security(("bearer" = [])), params(("id" = String, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template", body = Template),
        (status = 404, description = "No such template", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<ApiJson<Template>> {
    Ok(ApiJson(templates::get(&state.ports, p.tenant_id()?, &id).await?))
}

#[utoipa::path(patch, path = "/templates/{id}", tag = tags::TEMPLATES, operation_id = "edit_template",
    summary = "Edit a template's components or category (resubmits it to Meta)", security(("bearer" = [])), params(("id" = String, Path, description = "Template id")),
    request_body = TemplateEditInput,
    responses(
        (status = 200, description = "The template", body = Template),
        (status = 404, description = "No such template", body = ErrorBody),
        (status = 409, description = "Still being submitted, or WhatsApp must be reconnected", body = ErrorBody),
        (status = 422, description = "Invalid fields, or Meta rejected the edit", body = ErrorBody),
        (status = 429, description = "Meta's edit limit for this template", body = ErrorBody),
        (status = 502, description = "Meta refused or failed", body = ErrorBody),
    ))]
async fn edit(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    audit: Audit,
    ApiJson(input): ApiJson<TemplateEditInput>,
) -> ApiResult<ApiJson<Template>> {
    Ok(ApiJson(audit::edit_template(&state.ports, &audit, p.tenant_id()?, &id, input).await?))
}

#[utoipa::path(delete, path = "/templates/{id}", tag = tags::TEMPLATES, operation_id = "delete_template",
    summary = "Delete a template (at Meta, then here)", security(("bearer" = [])), params(("id" = String, Path, description = "Template id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such template", body = ErrorBody),
        (status = 409, description = "WhatsApp must be reconnected", body = ErrorBody),
        (status = 502, description = "Meta refused or failed", body = ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    audit::delete_template(&state.ports, &audit, p.tenant_id()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/templates/sync", tag = tags::TEMPLATES, operation_id = "sync_templates",
    summary = "Bring the templates in line with Meta's", security(("bearer" = [])),
    responses(
        (status = 200, description = "What changed", body = SyncReport),
        (status = 415, description = "A body that is not JSON (this route takes none; send nothing or `{}`)", body = ErrorBody),
        (status = 409, description = "WhatsApp is not connected or must be reconnected", body = ErrorBody),
        (status = 502, description = "Meta refused or failed", body = ErrorBody),
    ))]
async fn sync(State(state): State<AppState>, p: Principal, _: NoBody) -> ApiResult<ApiJson<SyncReport>> {
    Ok(ApiJson(templates::sync_from_meta(&state.ports, p.tenant_id()?).await?))
}

#[utoipa::path(post, path = "/templates/library/install", tag = tags::TEMPLATES,
    operation_id = "install_library_templates",
    summary = "Create the platform library's templates in this tenant's WABA (those it lacks)", security(("bearer" = [])),
    responses(
        (status = 200, description = "What was installed", body = InstallReport),
        (status = 415, description = "A body that is not JSON (this route takes none; send nothing or `{}`)", body = ErrorBody),
        (status = 409, description = "WhatsApp is not connected or must be reconnected", body = ErrorBody),
        (status = 502, description = "Meta refused or failed", body = ErrorBody),
    ))]
async fn install(State(state): State<AppState>, p: Principal, _: NoBody) -> ApiResult<ApiJson<InstallReport>> {
    Ok(ApiJson(templates::install_library(&state.ports, p.tenant_id()?).await?))
}
