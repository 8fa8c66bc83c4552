//! `/admin/templates` (super admin): the platform template library.

use axum::Router;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::templates::library;
use crate::domain::templates::model::{LibraryTemplate, TemplateInput};
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};

use super::list_error;

/// Routes only; the admin group adds authentication, the role check and idempotency.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(post, path = "/admin/templates", tag = tags::LIBRARY, operation_id = "create_library_template",
    summary = "Add a template to the platform library",
    description = "Every tenant gets it created in its own WABA when it connects, and on `POST /templates/library/install`.",
    security(("bearer" = [])),
    request_body = TemplateInput,
    responses(
        (status = 201, description = "The library template", body = LibraryTemplate),
        (status = 409, description = "A library template with this name and language exists", body = ErrorBody),
        (status = 422, description = "Invalid name, language, category or components (`details`)", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Created<LibraryTemplate>> {
    Ok(Created(library::create(&state.ports, input).await?))
}

#[utoipa::path(get, path = "/admin/templates", tag = tags::LIBRARY, operation_id = "list_library_templates",
    summary = "List the platform library",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of library templates", body = ListResponse<LibraryTemplate>)))]
async fn list(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<LibraryTemplate>>> {
    let (items, next_cursor) = library::page(&state.ports, page.limit()?, page.cursor()?).await.map_err(list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
