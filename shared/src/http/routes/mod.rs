//! Route groups. Each is one Lambda (see `functions/`); the local process merges them all.

pub mod admin_templates;
pub mod admin_tenants;
pub mod admin_webhooks;
pub mod analytics;
pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod billing;
pub mod callback_settings;
pub mod campaigns;
pub mod contacts;
pub mod docs;
pub mod external;
pub mod health;
pub mod inbox;
pub mod media;
pub mod members;
pub mod messages;
pub mod plans;
pub mod templates;
pub mod tenant;
pub mod tenant_settings;
pub mod webhook;
pub mod whatsapp;

use axum::Router;
use axum::middleware::from_fn_with_state;

use crate::app::AppState;
use crate::http::auth::{PasswordGate, authenticated};
use crate::http::idempotency::idempotency;

/// The `auth-api` function: `/auth/*`, `/health` and the API documentation (`/openapi.json`,
/// `/docs`, public like `/health`).
pub fn auth_group(state: AppState) -> Router {
    Router::new().merge(health::router()).merge(docs::router()).merge(auth::router(state))
}

/// The `contacts-api` function: `/contacts` and `/contacts/*`.
pub fn contacts_group(state: AppState) -> Router {
    contacts::router(state)
}

/// The `webhook-receiver` function (behind a function URL): `/webhook/meta`.
pub fn webhook_group(state: AppState) -> Router {
    webhook::router(state)
}

/// The `inbox-api` function: `/conversations*` and `/canned-replies*`.
pub fn inbox_group(state: AppState) -> Router {
    inbox::router(state)
}

/// The `campaigns-api` function: `/campaigns*`.
pub fn campaigns_group(state: AppState) -> Router {
    campaigns::router(state)
}

/// The `messaging-api` function: `/messages*` and `/media*` (the files its messages send).
pub fn messages_group(state: AppState) -> Router {
    messages::router(state.clone()).merge(media::router(state))
}

/// The `templates-api` function: `/templates*`.
pub fn templates_group(state: AppState) -> Router {
    templates::router(state)
}

/// The `admin-api` function: `/plans*` and `/admin/*`, super admin only (`http::access`). Layers
/// run outside in: authentication (with the one-time password gate and the route's roles), then
/// Idempotency-Key (inside the auth layer, which provides its scope).
pub fn admin_group(state: AppState) -> Router {
    Router::new()
        .merge(plans::router())
        .merge(admin_tenants::router())
        .merge(admin_templates::router())
        .merge(admin_webhooks::router())
        .merge(Router::from(audit_log::admin_routes()))
        .merge(analytics::admin_router())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// The `tenant-api` function: `/tenant`, `/tenant/settings`, `/billing/*`, `/analytics/*`,
/// `/api-keys*`, `/settings/callback*`, `/members*` and `/audit-log`, for tenant users (`http::access` says which role).
pub fn tenant_group(state: AppState) -> Router {
    Router::new()
        .merge(tenant::router())
        .merge(tenant_settings::router())
        .merge(billing::router())
        .merge(analytics::tenant_router())
        .merge(api_keys::router())
        .merge(callback_settings::router())
        .merge(members::router())
        .merge(Router::from(audit_log::tenant_routes()))
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// The `external-api` function: `/api/v1/*`, authenticated by `x-api-key`.
pub fn external_group(state: AppState) -> Router {
    external::router(state)
}

/// The `whatsapp-api` function: `/whatsapp/*` and the connect page `/connect`.
pub fn whatsapp_group(state: AppState) -> Router {
    whatsapp::router(state)
}

/// Every route group on one router, with the common layers: what the local process serves.
pub fn all(state: AppState) -> Router {
    super::layers::with_common_layers(api(state))
}

/// Every API route group on one router, without the common layers (the local process adds the
/// console's router beside it, then the layers).
pub fn api(state: AppState) -> Router {
    Router::new()
        .merge(auth_group(state.clone()))
        .merge(admin_group(state.clone()))
        .merge(tenant_group(state.clone()))
        .merge(contacts_group(state.clone()))
        .merge(webhook_group(state.clone()))
        .merge(whatsapp_group(state.clone()))
        .merge(inbox_group(state.clone()))
        .merge(messages_group(state.clone()))
        .merge(external_group(state.clone()))
        .merge(campaigns_group(state.clone()))
        .merge(templates_group(state))
}

pub(crate) use crate::http::pagination::list_error;
