//! The external API (`/api/v1/*`, `x-api-key`): what a tenant's ERP, CRM or PMS calls.
//! `POST /api/v1/trigger-message` is `POST /messages` with an integrator's vocabulary: it goes
//! through the very same acceptance (`messages::accept`), only its field names differ.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit::{Changes, Target};
use crate::domain::media;
use crate::domain::messages::accept::{self, SendInput, TemplateSend};
use crate::domain::messages::header::HeaderInput;
use crate::domain::messages::{MessageStatus, MessageView};
use crate::domain::phone::E164;
use crate::domain::tenants;
use crate::http::api_key_auth::{ApiKeyPrincipal, api_key_authenticated, body_idempotency_key};
use crate::http::audit::Audit;
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};
use crate::ports::Ports;
use crate::store::{messages, templates};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trigger)).routes(routes!(show))
}

/// Layers run outside in: the key (and its rate limit), the body's `idempotency_key` as the
/// header, then the Idempotency-Key layer (scoped to the key).
pub fn router(state: AppState) -> Router {
    Router::from(routes())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn(body_idempotency_key))
        .route_layer(from_fn_with_state(state.clone(), api_key_authenticated))
        .with_state(state)
}

/// The body of `POST /api/v1/trigger-message`: `phone` and `template_name` are required.
// Every field is an `Option` so that a missing one is a 422 naming it (not a serde 400); the
// schema still says which are required.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"phone": "+919876543210", "template_name": "fee_reminder",
    "variables": ["Asha", "12,500", "30 Nov"], "idempotency_key": "invoice-4711-reminder-1"}))]
#[serde(deny_unknown_fields)]
pub struct TriggerInput {
    /// The recipient, E.164 (`+91 98765-43210` and `919876543210` are the same). A phone
    /// the tenant has not messaged before becomes a contact.
    #[schema(required = true, value_type = String, example = "+919876543210")]
    pub phone: Option<String>,
    /// The name of one of the tenant's APPROVED templates.
    #[schema(required = true, value_type = String, example = "fee_reminder")]
    pub template_name: Option<String>,
    /// The template's language code (e.g. `en`, `en_US`, `hi`). Optional when the template is
    /// approved in exactly one language.
    #[schema(example = "en")]
    pub language: Option<String>,
    /// The values of the template's parameters `{{1}}`, `{{2}}`, … in order; their count must match
    /// the template. Omit (or `[]`) for a template without parameters.
    #[schema(example = json!(["Asha", "12,500", "30 Nov"]))]
    pub variables: Option<Vec<Value>>,
    /// Templates with an image, video or document header: `{kind, media_id | link, filename?}`
    /// (required for them, refused for others); `variables` then hold the other parameters.
    pub header: Option<HeaderInput>,
    /// Same as the `Idempotency-Key` header (either one, or both with the same value): a retry
    /// with the same key and body within 24 h gets the first answer again instead of sending twice.
    #[schema(example = "invoice-4711-reminder-1", min_length = 1, max_length = 255)]
    pub idempotency_key: Option<String>,
}

/// The 202 answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"message_id": "msg_01jd5xa1b2c3d4e5f6g7h8j9k0", "status": "queued"}))]
pub struct TriggerAccepted {
    /// Follow it with `GET /api/v1/messages/{id}` or the `message.status` callbacks.
    pub message_id: String,
    /// `queued`: durably accepted, sent within seconds.
    pub status: MessageStatus,
}

const TRIGGER_DESCRIPTION: &str = "The one call an ERP, CRM or PMS needs: send an approved template to a phone number.\n\n\
```sh\n\
curl -X POST https://api.example.com/api/v1/trigger-message \\\n\
\x20 -H 'x-api-key: mip_live_…' -H 'content-type: application/json' \\\n\
\x20 -d '{\"phone\": \"+919876543210\", \"template_name\": \"fee_reminder\", \"variables\": [\"Asha\", \"12,500\", \"30 Nov\"]}'\n\
```\n\n\
**202** means the message is durably queued: `{message_id, status: \"queued\"}`. Follow it with \
`GET /api/v1/messages/{id}` or, better, with `message.status` callbacks (`PUT /settings/callback`).\n\n\
**Retrying safely**: give an idempotency key, either as the `Idempotency-Key` header or as `idempotency_key` in \
the body (both with different values is a 422). A retry with the same key and the same body within 24 h answers \
the first answer again (header `Idempotent-Replayed: true`) and sends nothing; the same key with a different \
body is 409 `idempotency_key_reused`. Keys are scoped to the API key. Use something unique to the business \
event, e.g. `invoice-4711-reminder-1`.\n\n\
**Errors** (body `{\"error\": {\"code\", \"message\", \"details\": [{\"field\", \"code\", \"message\"}]}}`): \
401 for a missing, unknown or revoked key; 403 `tenant_suspended` / `subscription_expired`; 409 \
`whatsapp_not_connected`; 422 names each bad field (`phone`, `template_name`, `language`, `variables`) with codes \
like `unknown_template`, `template_not_approved`, `invalid_variables`; 429 `rate_limited` (per-key requests \
per second; wait `Retry-After` seconds) or `quota_exceeded` (the plan's monthly messages are used up; waiting a \
few seconds does not help, no `Retry-After`).";

const API_KEY_401: &str = "The `x-api-key` header is missing, malformed, unknown or revoked (all look the same)";
const API_KEY_403: &str = "The tenant is suspended (`tenant_suspended`)";

#[utoipa::path(post, path = "/api/v1/trigger-message", tag = tags::EXTERNAL, operation_id = "trigger_message",
    summary = "Send a template message to a phone number",
    description = TRIGGER_DESCRIPTION,
    security(("api_key" = [])),
    request_body(content = TriggerInput, description = "`phone` and `template_name` are required",
        examples(
            ("Minimal" = (summary = "Phone, template and its variables",
                value = json!({"phone": "+919876543210", "template_name": "fee_reminder",
                    "variables": ["Asha", "12,500", "30 Nov"]}))),
            ("With language and idempotency key" = (summary = "Explicit language; safe to retry",
                value = json!({"phone": "+919876543210", "template_name": "fee_reminder", "language": "en",
                    "variables": ["Asha", "12,500", "30 Nov"], "idempotency_key": "invoice-4711-reminder-1"}))),
        )),
    responses(
        (status = 202, description = "Accepted: durably queued", body = TriggerAccepted,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the replayed answer of an \
                earlier request with the same idempotency key"))),
        (status = 401, description = API_KEY_401, body = ErrorBody,
            example = json!({"error": {"code": "unauthorized", "message": "missing or invalid API key (x-api-key header)", "details": []}})),
        (status = 403, description = "The tenant may not send now: `tenant_suspended`, `subscription_expired`, \
            `subscription_not_started`", body = ErrorBody,
            example = json!({"error": {"code": "tenant_suspended", "message": "this tenant is suspended", "details": []}})),
        (status = 409, description = "WhatsApp is not connected (`whatsapp_not_connected`, `whatsapp_needs_reauth`, \
            `whatsapp_banned`), or the idempotency key was used with a different body (`idempotency_key_reused`) \
            or its first request is still running (`idempotency_request_in_progress`)", body = ErrorBody,
            example = json!({"error": {"code": "idempotency_key_reused", "message": "this Idempotency-Key was used with a different request", "details": []}})),
        (status = 422, description = "A field is missing or invalid; `details` names each (`phone`, \
            `template_name`, `language`, `variables`, `idempotency_key`). Codes: `validation_failed`, \
            `unknown_template`, `template_not_approved`, `invalid_variables`, `contact_opted_out`", body = ErrorBody,
            example = json!({"error": {"code": "validation_failed", "message": "phone: required", "details": [
                {"field": "phone", "code": "required", "message": "the recipient's phone number, E.164"},
                {"field": "template_name", "code": "required", "message": "the name of an approved template"}]}})),
        (status = 429, description = "`rate_limited`: this key's requests per second are used up; retry after \
            `Retry-After` seconds. `quota_exceeded`: the plan's monthly messages are used up; \
            `contact_limit_reached`: a new phone would exceed the plan's contacts (no `Retry-After`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait (with `rate_limited`)")),
            example = json!({"error": {"code": "rate_limited", "message": "this API key may make 20 requests per second; retry after the Retry-After seconds", "details": []}})),
    ))]
async fn trigger(
    State(state): State<AppState>,
    key: ApiKeyPrincipal,
    audit: Audit,
    ApiJson(input): ApiJson<TriggerInput>,
) -> ApiResult<(StatusCode, ApiJson<TriggerAccepted>)> {
    let tenant_id = key.tenant_id.as_str();
    let mut errors = Vec::new();
    let country = tenants::settings::default_country(&state.ports, tenant_id).await?;
    let phone = match input.phone.as_deref().map(str::trim).unwrap_or("") {
        "" => {
            errors.push(FieldError::new("phone", "required", "the recipient's phone number, E.164"));
            None
        }
        raw => match E164::parse_in(raw, country) {
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
            header: input.header,
        }),
        ..SendInput::default()
    };
    // The entry is written with the message: a 202 always has its entry, and an entry's write
    // failing after the message was queued cannot answer 5xx and invite a duplicate.
    let entry = |id: &str, status: MessageStatus| {
        let changes = Changes::default().set("template_name", name).set("status", status);
        audit.entry(&state.ports, Some(tenant_id), "message.triggered", Target::new("message", id)).changes(changes)
    };
    let accepted =
        accept::accept_audited(&state.ports, tenant_id, send, Some(&entry)).await.map_err(in_trigger_terms)?;
    Ok((StatusCode::ACCEPTED, ApiJson(TriggerAccepted { message_id: accepted.id, status: accepted.status })))
}

/// Without `language`: the one language the template is approved in.
async fn only_approved_language(ports: &Ports, tenant_id: &str, name: &str) -> Result<String, ApiError> {
    let all = templates::Templates::new(&*ports.table).find_languages(tenant_id, name, 100).await?;
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
fn in_trigger_terms(mut e: crate::domain::Error) -> ApiError {
    if e.details.is_empty() {
        return e.into();
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
    e.into()
}

/// The message as `GET /messages/{id}` shows it; another tenant's id is not found.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = tags::EXTERNAL, operation_id = "get_external_message",
    summary = "Get a message's status and history",
    description = "The message as `GET /messages/{id}` shows it: `status` (`queued`, `sending`, `sent`, `delivered`, \
        `read`, `failed`, …), `wamid`, `error` when it failed, and `status_history`. A message of another tenant is \
        404. Prefer `message.status` callbacks to polling.",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "The `message_id` of `POST /api/v1/trigger-message`",
        example = "msg_01jd5xa1b2c3d4e5f6g7h8j9k0")),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 401, description = API_KEY_401, body = ErrorBody),
        (status = 403, description = API_KEY_403, body = ErrorBody),
        (status = 404, description = "No such message (for this tenant)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: this key's requests per second are used up", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn show(
    State(state): State<AppState>,
    key: ApiKeyPrincipal,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<MessageView>> {
    let mut view = messages::Messages::new(&*state.ports.table)
        .view(&key.tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    media::retention::messages_as_seen(&state.ports, &key.tenant_id, std::slice::from_mut(&mut view)).await?;
    Ok(ApiJson(view))
}
