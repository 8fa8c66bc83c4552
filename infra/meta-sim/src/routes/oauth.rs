//! `GET /{v}/oauth/access_token` (Embedded Signup code exchange) and `GET /{v}/debug_token`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Gate, Params, ok};
use crate::business::business_for_code;
use crate::errors::GraphError;
use crate::state::{Sim, unix_now};
use crate::token;

fn oauth_error(code: i64, message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, code, "OAuthException", message)
}

/// Any non-empty code works once; `invalid` never does. No `redirect_uri` is needed: Embedded
/// Signup's popup flow has none.
pub async fn exchange(
    State(sim): State<Arc<Sim>>,
    Path(v): Path<String>,
    Query(query): Query<Params>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = Gate::pass(&sim, &v, &headers, &query).await {
        return r;
    }
    if let Some(e) = sim.lock().take_scripted(crate::faults::Endpoint::ExchangeCode) {
        return e.into_response();
    }
    let config = sim.config();
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != config.app_id {
        return oauth_error(101, "Error validating application. Invalid application ID.").into_response();
    }
    if get("client_secret") != config.app_secret {
        return oauth_error(1, "Error validating client secret.").into_response();
    }
    let code = get("code");
    if code.is_empty() {
        return oauth_error(100, "Missing authorization code").into_response();
    }
    if code == "invalid" {
        return oauth_error(100, "Invalid verification code format.").into_response();
    }
    if !sim.lock().used_codes.insert(code.to_owned()) {
        return oauth_error(100, "This authorization code has been used.").subcode(36009).into_response();
    }
    sim.persist();
    let business = business_for_code(code);
    ok(json!({ "access_token": token::issue(business.seed, &config.app_secret), "token_type": "bearer" }))
}

/// Introspects `input_token`; the caller authenticates with the app token (`app_id|app_secret`)
/// or with a business token.
pub async fn debug_token(
    State(sim): State<Arc<Sim>>,
    Path(v): Path<String>,
    Query(query): Query<Params>,
    headers: HeaderMap,
) -> Response {
    let gate = match Gate::pass(&sim, &v, &headers, &query).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if let Some(e) = sim.lock().take_scripted(crate::faults::Endpoint::DebugToken) {
        return e.into_response();
    }
    let config = sim.config();
    let Some(caller) = &gate.token else { return GraphError::missing_token().into_response() };
    if !token::is_app_token(caller, &config.app_id, &config.app_secret) && gate.business(&sim).is_err() {
        return GraphError::invalid_token().into_response();
    }
    let Some(input) = query.get("input_token").filter(|t| !t.is_empty()) else {
        return GraphError::invalid_param("The parameter input_token is required").into_response();
    };
    let Some(business) = token::business_of(input, &config.app_secret) else {
        return ok(json!({ "data": {
            "is_valid": false,
            "error": { "code": 190, "message": "Invalid OAuth access token." },
            "scopes": [],
        }}));
    };
    let targets = vec![business.waba_id.clone()];
    ok(json!({ "data": {
        "app_id": config.app_id,
        "type": "SYSTEM_USER",
        "application": "Miping (simulator)",
        "data_access_expires_at": 0,
        "expires_at": 0,
        "is_valid": true,
        "issued_at": unix_now(),
        "scopes": ["whatsapp_business_management", "whatsapp_business_messaging", "public_profile"],
        "granular_scopes": [
            { "scope": "whatsapp_business_management", "target_ids": targets },
            { "scope": "whatsapp_business_messaging", "target_ids": targets }
        ],
        "user_id": format!("9{}", &business.business_id[1..]),
    }}))
}
