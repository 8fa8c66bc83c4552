//! Route groups. Each is one Lambda (see `functions/`); the local process merges them all.

pub mod auth;
pub mod contacts;
pub mod health;
pub mod webhook;

use axum::Router;

use crate::app::AppState;

/// The `auth-api` function: `/auth/*` and `/health`.
pub fn auth_group(state: AppState) -> Router {
    Router::new().merge(health::router()).merge(auth::router(state))
}

/// The `contacts-api` function: `/contacts` and `/contacts/*`.
pub fn contacts_group(state: AppState) -> Router {
    contacts::router(state)
}

/// The `webhook-receiver` function (behind a function URL): `/webhook/meta`.
pub fn webhook_group(state: AppState) -> Router {
    webhook::router(state)
}

/// Every route group on one router, with the common layers: what the local process serves.
pub fn all(state: AppState) -> Router {
    let router = Router::new()
        .merge(auth_group(state.clone()))
        .merge(contacts_group(state.clone()))
        .merge(webhook_group(state));
    super::layers::with_common_layers(router)
}
