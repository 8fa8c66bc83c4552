//! The console's pages, one module per area. Paths: `/` and the signed-out pages at the root,
//! everything else under `/app/` (the API owns `/templates`, `/contacts`, …).

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod campaigns;
pub mod canned;
pub mod connect;
pub mod contacts;
pub mod dashboard;
pub mod inbox;
pub mod library;
pub mod media;
pub mod members;
pub mod messages;
pub mod password;
pub mod plans;
pub mod quarantine;
pub mod settings;
pub mod templates;
pub mod tenants;

use axum::Router;
use axum::routing::{get, post};
use miping::app::AppState;

use crate::page::not_found_page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .route("/sign-in", post(auth::sign_in).get(|| async { crate::page::redirect_to("/") }))
        .route("/sign-out", post(auth::sign_out))
        .route("/change-password", get(password::change_form).post(password::change))
        .route("/forgot-password", get(password::forgot_form).post(password::forgot))
        .route("/reset-password", get(password::reset_form).post(password::reset))
        .route("/assets/{file}", get(crate::assets::serve))
        .route("/brand/{file}", get(crate::brand::serve))
        .route("/brand/logo/{id}", get(settings::serve_logo))
        .nest("/app", app())
}

/// The signed-in pages under `/app/`.
fn app() -> Router<AppState> {
    Router::new()
        .nest("/inbox", inbox::routes())
        .nest("/templates", templates::routes())
        .nest("/contacts", contacts::routes())
        .nest("/messages", messages::routes())
        .nest("/media", media::routes())
        .nest("/campaigns", campaigns::routes())
        .nest("/connect", connect::routes())
        .nest("/settings", settings::routes())
        .nest("/members", members::routes())
        .nest("/canned", canned::routes())
        .nest("/billing", billing::routes())
        .nest("/analytics", analytics::routes())
        .nest("/platform", analytics::platform_routes())
        .nest("/tenants", tenants::routes())
        .nest("/plans", plans::routes())
        .nest("/library", library::routes())
        .nest("/quarantine", quarantine::routes())
        .nest("/audit", audit::routes())
        .fallback(|| async { not_found_page() })
}
