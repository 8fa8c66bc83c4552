//! `GET /openapi.json` and `GET /docs` (no auth): the OpenAPI document and a self-contained page
//! that renders it. The page loads nothing from elsewhere (no CDN): it works offline and on a
//! locked-down network, and it shows no secrets, so it needs no session.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::openapi::{self, tags};

const PAGE_HTML: &str = include_str!("docs_page/docs.html");

pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(openapi_json)).routes(routes!(docs_page))
}

pub fn router() -> Router {
    routes().into()
}

#[utoipa::path(get, path = "/openapi.json", tag = tags::SERVICE, operation_id = "get_openapi_document",
    summary = "This OpenAPI 3.1 document",
    responses((status = 200, description = "The document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], openapi::DOCUMENT_JSON).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[utoipa::path(get, path = "/docs", tag = tags::SERVICE, operation_id = "get_docs_page",
    summary = "Human-readable API reference (HTML, renders /openapi.json)",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
async fn docs_page() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE_HTML).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Only its own inline script and the document from this origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; \
             frame-ancestors 'none'",
        ),
    );
    response
}
