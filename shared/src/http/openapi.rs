//! The OpenAPI 3.1 document, generated from the code: each route module registers its handlers
//! with utoipa-axum's `routes!`, which takes the path and method from the handler's
//! `#[utoipa::path]`, so the router a group serves and the document are built from the same list
//! (see [`documented_routes`]). Request and response schemas are the serde types themselves
//! (`#[derive(ToSchema)]`).
//!
//! What every route shares is added here, once, from what the operation declares rather than
//! repeated in ~50 annotations ([`complete`]): the bearer/API-key errors (401/403), body errors
//! (400/413/415), the `Idempotency-Key` header (and its 409) on authenticated POSTs, pagination
//! errors, and 503 for anything that touches a dependency. All of them use the SPEC error body
//! (`ErrorBody`).
//!
//! Guarded by `tests/openapi.rs`: every SPEC route is documented, every documented operation is
//! served, no route is registered outside `routes!`, and the document validates (the test command
//! also runs an OpenAPI validator and a schema-driven fuzz run against the local process).

use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

use super::routes;

/// Security scheme names used in `#[utoipa::path(security(...))]`.
pub const BEARER: &str = "bearer";
pub const API_KEY: &str = "api_key";

/// Tags: one per area of the API, in the order the docs page lists them.
pub mod tags {
    pub const SERVICE: &str = "Service";
    pub const AUTH: &str = "Auth";
    pub const PLANS: &str = "Plans";
    pub const TENANTS: &str = "Tenants (super admin)";
    pub const LIBRARY: &str = "Template library (super admin)";
    pub const TENANT: &str = "Tenant";
    pub const WHATSAPP: &str = "WhatsApp connection";
    pub const TEMPLATES: &str = "Templates";
    pub const CONTACTS: &str = "Contacts";
    pub const MESSAGES: &str = "Messages";
    pub const MEDIA: &str = "Media";
    pub const CAMPAIGNS: &str = "Campaigns";
    pub const INBOX: &str = "Inbox";
    pub const BILLING: &str = "Billing";
    pub const ANALYTICS: &str = "Analytics";
    pub const API_KEYS: &str = "API keys";
    pub const MEMBERS: &str = "Members";
    pub const AUDIT: &str = "Audit log";
    pub const EXTERNAL: &str = "External API";
    pub const CALLBACKS: &str = "Outbound callbacks";
    pub const WEBHOOK: &str = "Meta webhook";
    pub const QUARANTINE: &str = "Webhook quarantine (super admin)";
    pub const CONSOLE: &str = "Web console";
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Miping API",
        description = "Multi-tenant WhatsApp Business platform.\n\n\
            Authenticate with `Authorization: Bearer <token>` from `POST /auth/login`; machine clients \
            use `x-api-key` on `/api/v1/*`. Errors always have the body \
            `{\"error\": {\"code\", \"message\", \"details\"}}` (`ErrorBody`). Lists are cursor-paginated \
            (`?limit=` 1-500, default 50, and `?cursor=`; answers `{\"items\", \"next_cursor\"}`). Every \
            authenticated POST accepts an `Idempotency-Key` header: a retry with the same key and body \
            within 24 h replays the first answer."
    ),
    components(schemas(
        super::error::Body,
        super::error::Inner,
        super::FieldError,
        // Not any route's body: what we POST to the tenant's callback URL.
        crate::domain::callbacks::CallbackEvent
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = tags::SERVICE, description = "Health and this documentation (no auth)."),
        (name = tags::AUTH, description = "Sign in, change the password, who am I."),
        (name = tags::PLANS, description = "Subscription plans (super admin)."),
        (name = tags::TENANTS, description = "Provision and manage tenants, credits and ledgers (super admin)."),
        (name = tags::LIBRARY, description = "Templates every tenant gets in its own WABA (super admin)."),
        (name = tags::TENANT, description = "The caller's own tenant."),
        (name = tags::WHATSAPP, description = "Connect the tenant's WhatsApp Business number (Embedded Signup)."),
        (name = tags::TEMPLATES, description = "Message templates, kept in sync with Meta."),
        (name = tags::CONTACTS, description = "Contacts: create, import (JSON or CSV), search, opt-out."),
        (name = tags::MESSAGES, description = "Send one message (template or free text) and follow its status."),
        (name = tags::MEDIA, description = "Files to send and files customers sent: upload (checked against \
            WhatsApp's types and limits before anything is stored) and download."),
        (name = tags::CAMPAIGNS, description = "One approved template to an audience of contacts (all, by tag, or \
            listed), with variables mapped from each contact; now or scheduled, with live counts, cancellable."),
        (name = tags::INBOX, description = "Conversations with customers and replies inside the service window."),
        (name = tags::MEMBERS, description = "The tenant's team: invite admins and agents, change their role or \
            status, remove them (tenant admins)."),
        (name = tags::AUDIT, description = "Who did what, from where: every security- or money-relevant action, \
            kept 400 days, never a secret."),
        (name = tags::BILLING, description = "Prepaid credits: the tenant's ledger."),
        (name = tags::ANALYTICS, description = "Daily counts and cost per tenant (tenant admins) and across tenants \
            (super admin), exact under duplicated and out-of-order webhooks."),
        (name = tags::API_KEYS, description = "Machine credentials for the external API: created by a tenant user, \
            shown once, revoked at once."),
        (name = tags::EXTERNAL, description = "For a tenant's own systems (ERP, CRM, PMS): authenticate with \
            `x-api-key: mip_live_…` (from `POST /api-keys`), trigger template messages and read their status. \
            Each key is rate limited (429 `rate_limited` with `Retry-After`); every POST is safe to retry with \
            an idempotency key."),
        (name = tags::CALLBACKS, description = "Signed HTTP POSTs to the tenant's own system for every message \
            status change and inbound message (body: `CallbackEvent`; format and signature in \
            `PUT /settings/callback`)."),
        (name = tags::WEBHOOK, description = "Called by Meta (signed), not by integrators."),
        (name = tags::QUARANTINE, description = "Webhook deliveries and events the platform could not act on, \
            kept 30 days for inspection."),
        (name = tags::CONSOLE, description = "The browser console's entry point (HTML pages, cookie sessions; \
            not an API for programs)."),
    )
)]
struct Base;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `token` of `POST /auth/login`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "A tenant's API key (`POST /api-keys`), for `/api/v1/*` only.",
            ))),
        );
    }
}

/// Every documented route, module by module: the same `routes()` the route groups serve.
/// A new route module is added here and in its group in `routes/mod.rs`.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Base::openapi())
        .merge(routes::health::routes())
        .merge(routes::docs::routes())
        .merge(routes::auth::routes())
        .merge(routes::plans::routes())
        .merge(routes::admin_tenants::routes())
        .merge(routes::admin_templates::routes())
        .merge(routes::admin_webhooks::routes())
        .merge(routes::tenant::routes())
        .merge(routes::tenant_settings::routes())
        .merge(routes::billing::routes())
        .merge(routes::analytics::routes())
        .merge(routes::api_keys::routes())
        .merge(routes::callback_settings::routes())
        .merge(routes::members::routes())
        .merge(routes::audit_log::routes())
        .merge(routes::external::routes())
        .merge(routes::whatsapp::routes())
        .merge(routes::templates::routes())
        .merge(routes::contacts::routes())
        .merge(routes::messages::routes())
        .merge(routes::media::routes())
        .merge(routes::campaigns::routes())
        .merge(routes::inbox::routes())
        .merge(routes::webhook::routes())
}

/// The complete document as JSON.
pub fn document() -> Value {
    let doc = documented_routes().into_openapi();
    let mut value = serde_json::to_value(&doc).expect("an OpenAPI document always serialises");
    complete(&mut value);
    console_routes(&mut value);
    value
}

/// `GET /`, served by the web console (`shared/console`, the `console-web` Lambda, merged beside
/// the API on the local process's port). That crate builds on this one, so no handler here can
/// carry its `#[utoipa::path]`: it is described here, answering HTML, and gets none of the JSON
/// error answers [`complete`] adds (its refusals are HTML pages too). `tests/openapi.rs` lists it
/// as the console's; the local process's tests check it is served as documented.
fn console_routes(doc: &mut Value) {
    doc["paths"]["/"] = json!({"get": {
        "tags": [tags::CONSOLE],
        "operationId": "console_start_page",
        "summary": "The web console's start page (HTML): the sign-in page, or the console when signed in",
        "description": "For browsers. Without a session cookie (`miping_session`), the sign-in page; signed in, \
            a tenant admin's dashboard. The platform owner is sent to `/app/tenants`, and a person who must \
            change a one-time password to `/change-password`. The welcome and password-reset emails link here. \
            Programs use `POST /auth/login` and the JSON routes instead.",
        "parameters": [{
            "name": "ended",
            "in": "query",
            "required": false,
            "description": "Set by the console after a session ended elsewhere: the sign-in page says so.",
            "schema": {"type": "string"}
        }],
        "responses": {
            "200": {
                "description": "The sign-in page, or the signed-in tenant admin's dashboard",
                "content": {"text/html": {"schema": {"type": "string"}}}
            },
            "303": {
                "description": "Signed in as the platform owner (to `/app/tenants`), or with a one-time password \
                    still to change (to `/change-password`)",
                "headers": {"Location": {"description": "Where to go", "schema": {"type": "string"}}}
            }
        }
    }});
}

/// The document as served: `shared/src/http/openapi.json`, generated from [`document`] and
/// checked in. Serving the generated copy would link every route group's handlers into the
/// auth-api Lambda (+4 MB); the test `the_checked_in_document_is_current` fails when the file
/// differs from what the code generates (`MIPING_UPDATE_OPENAPI=1` rewrites it), so it cannot
/// drift from the routes.
pub const DOCUMENT_JSON: &str = include_str!("openapi.json");

/// The file's exact text for [`document`]: pretty JSON and a final newline.
pub fn document_file_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("JSON values serialise");
    text.push('\n');
    text
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Adds what every operation of a kind shares (see the module docs).
fn complete(doc: &mut Value) {
    doc["components"]["responses"] = shared_responses();
    doc["components"]["parameters"] = json!({
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Up to 255 characters. A retry with the same key and the same body within 24 h \
                replays the first answer (`Idempotent-Replayed: true`); with a different body or content \
                type, 409 `idempotency_key_reused`. Answers to fix first (400, 413, 415, 422), 429, 5xx and \
                transient conflicts (`conflict`, `connect_in_progress`) are not kept: the corrected request \
                with the same key runs. A replay never contains a secret (`POST /api-keys`: `key` is null).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "example": "order-4711-confirmation"
        }
    });
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(method) {
                complete_operation(path, method, op);
            }
        }
    }
}

fn complete_operation(path: &str, method: &str, op: &mut Value) {
    let schemes: Vec<String> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|req| req.keys().cloned())
        .collect();
    let bearer = schemes.iter().any(|s| s == BEARER);
    let api_key = schemes.iter().any(|s| s == API_KEY);
    let has_body = op.get("requestBody").is_some();
    let paginated =
        op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == "cursor" && p["in"] == "query");
    let service = op["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == tags::SERVICE));
    // The idempotency layer sits inside every authenticated group except `/auth/*`.
    let idempotent = method == "post" && (bearer || api_key) && !path.starts_with("/auth/");

    // Who may call it (`http::access`, the one declaration), for readers and generated clients.
    let access = axum::http::Method::from_bytes(method.to_uppercase().as_bytes())
        .ok()
        .and_then(|m| super::access::lookup(&m, path));
    if let Some(super::access::Access::Roles(roles)) = access {
        op["x-roles"] = json!(roles);
    }
    if idempotent {
        let params = op.as_object_mut().unwrap().entry("parameters").or_insert_with(|| json!([]));
        params.as_array_mut().unwrap().push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
    }
    let responses = op.as_object_mut().unwrap().entry("responses").or_insert_with(|| json!({}));
    let responses = responses.as_object_mut().unwrap();
    let mut add = |status: &str, name: &str| {
        responses.entry(status).or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
    };
    if has_body || idempotent || paginated {
        add("400", "BadRequest");
    }
    if has_body {
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
    }
    if bearer || api_key {
        add("401", "Unauthorized");
        add("403", "Forbidden");
    }
    if api_key {
        add("429", "TooManyRequests");
    }
    if paginated {
        add("422", "ValidationFailed");
    }
    if idempotent {
        add("409", "Conflict");
    }
    if !service {
        add("503", "ServiceUnavailable");
    }
}

/// The shared error responses, each with the SPEC error body and an example of its code.
fn shared_responses() -> Value {
    let error = |description: &str, code: &str, message: &str| {
        json!({
            "description": description,
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": {"error": {"code": code, "message": message, "details": []}}
            }}
        })
    };
    let retry_after = json!({
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1}
    });
    let mut responses = Map::new();
    responses.insert(
        "BadRequest".into(),
        error(
            "Malformed JSON, wrong JSON types, a malformed cursor or Idempotency-Key.",
            "malformed_json",
            "expected value at line 1 column 1",
        ),
    );
    responses.insert(
        "Unauthorized".into(),
        error("Missing or invalid credentials.", "unauthorized", "missing bearer token"),
    );
    responses.insert(
        "Forbidden".into(),
        error(
            "The caller's role may not use this route (`forbidden_for_role`: the operation's `x-roles` lists \
             who may; docs/roles.md has the whole table), the one-time password must be changed first \
             (`password_change_required`), or the tenant is suspended (`tenant_suspended`).",
            "forbidden_for_role",
            "your role may not use this route",
        ),
    );
    responses.insert(
        "Conflict".into(),
        error(
            "The Idempotency-Key was used with a different body (`idempotency_key_reused`) or its first \
             request is still running (`idempotency_request_in_progress`), or a state conflict.",
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        ),
    );
    responses.insert(
        "PayloadTooLarge".into(),
        error("The body is too large.", "payload_too_large", "the request body is too large"),
    );
    responses.insert(
        "UnsupportedMediaType".into(),
        error(
            "Wrong Content-Type.",
            "unsupported_media_type",
            "expected a JSON body with Content-Type: application/json",
        ),
    );
    let mut validation =
        error("A field is invalid; `details` names each.", "validation_failed", "limit: must be between 1 and 500");
    validation["content"]["application/json"]["example"]["error"]["details"] =
        json!([{"field": "limit", "code": "out_of_range", "message": "must be between 1 and 500"}]);
    responses.insert("ValidationFailed".into(), validation);
    let mut too_many = error("Rate or quota limit.", "rate_limited", "too many requests");
    too_many["headers"] = json!({"Retry-After": retry_after.clone()});
    responses.insert("TooManyRequests".into(), too_many);
    let mut unavailable =
        error("A dependency is unavailable; retry.", "service_unavailable", "the store is busy, retry shortly");
    unavailable["headers"] = json!({"Retry-After": retry_after});
    responses.insert("ServiceUnavailable".into(), unavailable);
    Value::Object(responses)
}
