//! `GET /health` (no auth): 200 once the process is ready to serve.

use axum::Router;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::ApiJson;
use crate::http::openapi::tags;

/// Generic over the state so the stateless `auth-api` router and the document can both use it.
pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(health))
}

pub fn router() -> Router {
    routes().into()
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = tags::SERVICE, operation_id = "health",
    summary = "Readiness",
    responses((status = 200, description = "The process is ready to serve", body = Health)))]
async fn health() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}
