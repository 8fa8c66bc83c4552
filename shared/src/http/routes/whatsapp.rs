//! `/whatsapp/*` (the tenant's WhatsApp connection) and `GET /connect` (the "Connect WhatsApp"
//! page, no auth: the page itself signs in, see `connect_page/connect.js`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::whatsapp::connect::{self, ConnectRequest};
use crate::domain::whatsapp::connection::ConnectionView;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::idempotency::idempotency;
use crate::http::{ApiJson, ApiResult};

const PAGE_HTML: &str = include_str!("connect_page/connect.html");
const PAGE_JS: &str = include_str!("connect_page/connect.js");

pub fn router(state: AppState) -> Router {
    let signed_in = Router::new()
        .route("/whatsapp/signup-config", get(signup_config))
        .route("/whatsapp/connect", post(connect_handler))
        .route("/whatsapp/status", get(status))
        .route("/whatsapp", delete(disconnect))
        // Inside the auth layer, which provides the idempotency scope.
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated));
    Router::new()
        .route("/connect", get(page))
        .route("/connect/connect.js", get(script))
        .merge(signed_in)
        .with_state(state)
}

#[derive(Serialize)]
struct SignupConfig {
    app_id: String,
    config_id: String,
    graph_version: String,
}

async fn signup_config(State(state): State<AppState>, principal: Principal) -> ApiResult<ApiJson<SignupConfig>> {
    principal.tenant_id()?;
    let meta = &state.config.meta;
    Ok(ApiJson(SignupConfig {
        app_id: meta.app_id.clone(),
        config_id: meta.config_id.clone(),
        graph_version: meta.graph_version.clone(),
    }))
}

async fn connect_handler(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ConnectRequest>,
) -> ApiResult<ApiJson<ConnectionView>> {
    let tenant_id = principal.tenant_id()?;
    Ok(ApiJson(connect::connect(&state.ports, tenant_id, body).await?))
}

async fn status(State(state): State<AppState>, principal: Principal) -> ApiResult<ApiJson<ConnectionView>> {
    Ok(ApiJson(connect::status(&state.ports, principal.tenant_id()?).await?))
}

async fn disconnect(State(state): State<AppState>, principal: Principal) -> ApiResult<StatusCode> {
    connect::disconnect(&state.ports, principal.tenant_id()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// JSON for an inline `<script type="application/json">`: `<` escaped so no value can close the
/// script element.
fn inline_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The page, with the SDK location from configuration (never from the request: a page that
/// loaded a script named in its URL would hand the user's session to whoever wrote the link).
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
