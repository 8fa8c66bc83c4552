//! The external API (`/api/v1/*`, `x-api-key`): what a tenant's ERP, CRM or PMS calls.
//! `POST /api/v1/trigger-message` is `POST /messages` with an integrator's vocabulary: it goes
//! through the very same acceptance (`messages::accept`), only its field names differ.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::AppState;
use crate::domain::messages::accept::{self, SendInput, TemplateSend};
use crate::domain::messages::{MessageStatus, MessageView};
use crate::domain::phone::E164;
use crate::http::api_key_auth::{ApiKeyPrincipal, api_key_authenticated, body_idempotency_key};
use crate::http::idempotency::idempotency;
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};
use crate::ports::Ports;
use crate::store::{messages, templates};

/// Layers run outside in: the key (and its rate limit), the body's `idempotency_key` as the
/// header, then the Idempotency-Key layer (scoped to the key).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/trigger-message", post(trigger))
        .route("/api/v1/messages/{id}", get(show))
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn(body_idempotency_key))
        .route_layer(from_fn_with_state(state.clone(), api_key_authenticated))
        .with_state(state)
}

/// The body of `POST /api/v1/trigger-message`. Everything optional so a missing field is a 422
/// naming it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerInput {
    /// The recipient, E.164 (`+91 98765-43210` and `919876543210` are the same).
    pub phone: Option<String>,
    pub template_name: Option<String>,
    /// Optional when the template is approved in exactly one language.
    pub language: Option<String>,
    /// The template's parameters in order.
    pub variables: Option<Vec<Value>>,
    /// Same as the `Idempotency-Key` header (handled by the layer).
    pub idempotency_key: Option<String>,
}

/// The 202 answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TriggerAccepted {
    pub message_id: String,
    pub status: MessageStatus,
}

async fn trigger(
    State(state): State<AppState>,
    key: ApiKeyPrincipal,
    ApiJson(input): ApiJson<TriggerInput>,
) -> ApiResult<(StatusCode, ApiJson<TriggerAccepted>)> {
    let tenant_id = key.tenant_id.as_str();
    let mut errors = Vec::new();
    let phone = match input.phone.as_deref().map(str::trim).unwrap_or("") {
        "" => {
            errors.push(FieldError::new("phone", "required", "the recipient's phone number, E.164"));
            None
        }
        raw => match E164::parse(raw) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(FieldError::new("phone", e.code(), e.to_string()));
                None
            }
        },
    };
    let name = input.template_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_none() {
        errors.push(FieldError::new("template_name", "required", "the name of an approved template"));
    }
    let (Some(phone), Some(name)) = (phone, name) else { return Err(ApiError::validation(errors)) };
    let language = match input.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => l.to_owned(),
        None => only_approved_language(&state.ports, tenant_id, name).await?,
    };
    let send = SendInput {
        to: Some(phone.as_str().to_owned()),
        template: Some(TemplateSend {
            name: Some(name.to_owned()),
            language: Some(language),
            variables: Some(input.variables.unwrap_or_default()),
            components: None,
        }),
        ..SendInput::default()
    };
    let accepted = accept::accept(&state.ports, tenant_id, send).await.map_err(in_trigger_terms)?;
    Ok((StatusCode::ACCEPTED, ApiJson(TriggerAccepted { message_id: accepted.id, status: accepted.status })))
}

/// Without `language`: the one language the template is approved in.
async fn only_approved_language(ports: &Ports, tenant_id: &str, name: &str) -> Result<String, ApiError> {
    let all = templates::find_languages(ports, tenant_id, name, 100).await?;
    let approved: Vec<&str> = all.iter().filter(|t| t.status == "APPROVED").map(|t| t.language.as_str()).collect();
    match approved.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] if all.is_empty() => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_template",
            format!("no template named {name}"),
        )
        .with_details(vec![FieldError::new("template_name", "unknown_template", "no template with this name")])),
        [] => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "template_not_approved",
            format!("template {name} is not approved in any language; only APPROVED templates can be sent"),
        )
        .with_details(vec![FieldError::new("template_name", "not_approved", "not approved in any language")])),
        several => Err(ApiError::validation(vec![FieldError::new(
            "language",
            "ambiguous",
            format!("template {name} is approved in {}: say which", several.join(", ")),
        )])),
    }
}

/// `POST /messages`'s field names, as this route's body calls them.
fn in_trigger_terms(mut e: ApiError) -> ApiError {
    if e.details.is_empty() {
        return e;
    }
    for d in &mut e.details {
        let renamed = match d.field.as_str() {
            "to" => Some("phone".to_owned()),
            "template.name" => Some("template_name".to_owned()),
            "template.language" => Some("language".to_owned()),
            other => other.strip_prefix("template.").map(str::to_owned),
        };
        if let Some(r) = renamed {
            d.field = r;
        }
    }
    if e.code == "validation_failed" {
        return ApiError::validation(e.details);
    }
    e
}

/// The message as `GET /messages/{id}` shows it; another tenant's id is not found.
async fn show(
    State(state): State<AppState>,
    key: ApiKeyPrincipal,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<MessageView>> {
    let view =
        messages::view(&state.ports, &key.tenant_id, &id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(ApiJson(view))
}
