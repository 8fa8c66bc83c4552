//! `/admin/templates` (super admin): the platform template library.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;

use crate::app::AppState;
use crate::domain::templates::library;
use crate::domain::templates::model::{LibraryTemplate, TemplateInput};
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult, Created};

use super::list_error;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/templates", get(list).post(create))
}

async fn create(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Created<LibraryTemplate>> {
    Ok(Created(library::create(&state.ports, input).await?))
}

async fn list(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<LibraryTemplate>>> {
    let (items, next_cursor) = library::page(&state.ports, page.limit()?, page.cursor()).await.map_err(list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
