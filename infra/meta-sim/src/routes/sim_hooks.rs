//! Test hooks (`/_sim/...`): what happens on Meta's side without the platform asking — a
//! customer writes, an operator edits templates in WhatsApp Manager.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ok, templates};
use crate::business::Business;
use crate::errors::GraphError;
use crate::state::Sim;
use crate::templates::TemplateStatus;

#[derive(Deserialize)]
pub struct Inbound {
    phone_number_id: String,
    from: String,
    text: String,
    name: Option<String>,
}

/// A customer sends a text: the signed inbound webhook goes to the platform. Answers the wamid.
pub async fn inbound(State(sim): State<Arc<Sim>>, Json(req): Json<Inbound>) -> Response {
    let Some((business, phone)) = Business::from_phone_id(&req.phone_number_id) else {
        return GraphError::unknown_object(&req.phone_number_id, "post").into_response();
    };
    let from: String = req.from.chars().filter(char::is_ascii_digit).collect();
    let name = req.name.unwrap_or_else(|| format!("Customer {}", &from[from.len().saturating_sub(4)..]));
    let wamid = sim.send_inbound(&business, &phone, &from, &req.text, &name);
    ok(json!({ "wamid": wamid }))
}

/// Creates a template directly: `{waba_id, name, language, category, components, status?}`;
/// status defaults to APPROVED and no webhook is sent (reconciliation must find it).
pub async fn create_template(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return GraphError::invalid_param("Request body must be a JSON object.").into_response(),
    };
    let Some(waba_id) = body.get("waba_id").and_then(Value::as_str).map(str::to_owned) else {
        return GraphError::invalid_param("The parameter waba_id is required.").into_response();
    };
    let status = match body.get("status").and_then(Value::as_str) {
        None => TemplateStatus::Approved,
        Some(s) => match TemplateStatus::parse(s) {
            Some(st) => st,
            None => return GraphError::invalid_param("status must be PENDING, APPROVED or REJECTED").into_response(),
        },
    };
    match templates::insert(&sim, &waba_id, &body, status) {
        Ok(t) => (StatusCode::CREATED, Json(t.to_json(None))).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn delete_template(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let mut inner = sim.lock();
    let mut found = false;
    for list in inner.templates.values_mut() {
        let before = list.len();
        list.retain(|t| t.id != id);
        found |= list.len() != before;
    }
    if found { ok(json!({ "success": true })) } else { GraphError::unknown_object(&id, "delete").into_response() }
}
