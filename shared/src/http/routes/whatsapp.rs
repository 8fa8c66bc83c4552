//! `/whatsapp/*` (the tenant's WhatsApp connection) and `GET /connect` (the "Connect WhatsApp"
//! page, no auth: the page itself signs in, see `connect_page/connect.js`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::whatsapp::connect::{self, ConnectRequest};
use crate::domain::whatsapp::connection::ConnectionView;
use crate::http::audit::Audit;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::{ApiJson, ApiResult};

const PAGE_HTML: &str = include_str!("connect_page/connect.html");
const PAGE_JS: &str = include_str!("connect_page/connect.js");

fn page_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page)).routes(routes!(script))
}

fn signed_in_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup_config))
        .routes(routes!(connect_handler))
        .routes(routes!(status))
        .routes(routes!(disconnect))
}

pub fn routes() -> OpenApiRouter<AppState> {
    page_routes().merge(signed_in_routes())
}

pub fn router(state: AppState) -> Router {
    let signed_in = Router::from(signed_in_routes())
        // Inside the auth layer, which provides the idempotency scope.
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated));
    Router::from(page_routes()).merge(signed_in).with_state(state)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"app_id": "1234567890", "config_id": "987654321", "graph_version": "v24.0"}))]
struct SignupConfig {
    app_id: String,
    config_id: String,
    graph_version: String,
}

#[utoipa::path(get, path = "/whatsapp/signup-config", tag = tags::WHATSAPP, operation_id = "get_signup_config",
    summary = "What the browser's Facebook SDK needs to start Embedded Signup",
    security(("bearer" = [])),
    responses((status = 200, description = "The configuration", body = SignupConfig)))]
async fn signup_config(State(state): State<AppState>, principal: Principal) -> ApiResult<ApiJson<SignupConfig>> {
    principal.tenant_id()?;
    let meta = &state.config.meta;
    Ok(ApiJson(SignupConfig {
        app_id: meta.app_id.clone(),
        config_id: meta.config_id.clone(),
        graph_version: meta.graph_version.clone(),
    }))
}

#[utoipa::path(post, path = "/whatsapp/connect", tag = tags::WHATSAPP, operation_id = "connect_whatsapp",
    summary = "Finish Embedded Signup with its code",
    description = "Exchanges the code, subscribes the app to the WABA, registers the number and syncs templates; \
        `steps` shows each step. Calling it again without a code resumes an interrupted connection.",
    security(("bearer" = [])),
    request_body = ConnectRequest,
    responses(
        (status = 200, description = "The connection", body = ConnectionView),
        (status = 409, description = "A connection is already in progress", body = ErrorBody),
        (status = 422, description = "Missing code, or Meta refused it", body = ErrorBody),
        (status = 502, description = "Meta failed", body = ErrorBody),
    ))]
async fn connect_handler(
    State(state): State<AppState>,
    principal: Principal,
    audit: Audit,
    ApiJson(body): ApiJson<ConnectRequest>,
) -> ApiResult<ApiJson<ConnectionView>> {
    let tenant_id = principal.tenant_id()?;
    Ok(ApiJson(audit::connect_whatsapp(&state.ports, &audit, tenant_id, body).await?))
}

#[utoipa::path(get, path = "/whatsapp/status", tag = tags::WHATSAPP, operation_id = "get_whatsapp_status",
    summary = "The WhatsApp connection (never the token)",
    security(("bearer" = [])),
    responses((status = 200, description = "The connection", body = ConnectionView)))]
async fn status(State(state): State<AppState>, principal: Principal) -> ApiResult<ApiJson<ConnectionView>> {
    Ok(ApiJson(connect::status(&state.ports, principal.tenant_id()?).await?))
}

#[utoipa::path(delete, path = "/whatsapp", tag = tags::WHATSAPP, operation_id = "disconnect_whatsapp",
    summary = "Disconnect and forget the token",
    security(("bearer" = [])),
    responses((status = 204, description = "Disconnected")))]
async fn disconnect(State(state): State<AppState>, principal: Principal, audit: Audit) -> ApiResult<StatusCode> {
    audit::disconnect_whatsapp(&state.ports, &audit, principal.tenant_id()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// JSON for an inline `<script type="application/json">`: `<` escaped so no value can close the
/// script element.
fn inline_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The page, with the SDK location from configuration (never from the request: a page that
/// loaded a script named in its URL would hand the user's session to whoever wrote the link).
#[utoipa::path(get, path = "/connect", tag = tags::WHATSAPP, operation_id = "connect_page",
    summary = "The \"Connect WhatsApp\" page (HTML, no auth: the page itself signs in)",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
async fn page(State(state): State<AppState>) -> Response {
    let config = serde_json::json!({ "sdk_url": state.config.meta.sdk_url });
    let html = PAGE_HTML.replace("{{CONFIG_JSON}}", &inline_json(&config));
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The page handles a session token: it must not be framed by another site.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[utoipa::path(get, path = "/connect/connect.js", tag = tags::WHATSAPP, operation_id = "connect_page_script",
    summary = "The connect page's script",
    responses((status = 200, description = "The script", content_type = "text/javascript", body = String)))]
async fn script() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], PAGE_JS).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_json_cannot_close_the_script() {
        let v = serde_json::json!({"sdk_url": "</script><script>alert(1)</script>"});
        assert!(!inline_json(&v).contains("</script>"));
    }
}
