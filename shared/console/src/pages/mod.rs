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
use axum::routing::{any, get, post};
use miping::app::AppState;

use crate::page::not_found_page;

/// Every page: the local process serves the whole console on its one port.
pub fn routes() -> Router<AppState> {
    workspace_routes().merge(platform_routes())
}

/// The business's console and what every visitor needs (sign-in, password pages, assets):
/// the `console-web` Lambda. Without the platform owner's pages its binary links only the use
/// cases a tenant's pages call (SPEC's 12 MB bound; README → stripped size).
pub fn workspace_routes() -> Router<AppState> {
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
        .nest("/app/inbox", inbox::routes())
        .nest("/app/templates", templates::routes())
        .nest("/app/contacts", contacts::routes())
        .nest("/app/messages", messages::routes())
        .nest("/app/media", media::routes())
        .nest("/app/campaigns", campaigns::routes())
        .nest("/app/connect", connect::routes())
        .nest("/app/settings", settings::routes())
        .nest("/app/members", members::routes())
        .nest("/app/canned", canned::routes())
        .nest("/app/billing", billing::routes())
        .nest("/app/analytics", analytics::routes())
        .nest("/app/audit", audit::routes())
        // Any other page under /app/ (a mistyped link, a page of the other Lambda reached locally
        // by a wrong path) is the console's 404 page, not an empty answer.
        .route("/app/{*rest}", any(|| async { not_found_page() }))
}

/// The platform owner's pages (SUPER_ADMIN): the `console-admin` Lambda, routed by these paths.
pub fn platform_routes() -> Router<AppState> {
    Router::new()
        .nest("/app/platform", analytics::platform_routes())
        .nest("/app/tenants", tenants::routes())
        .nest("/app/plans", plans::routes())
        .nest("/app/library", library::routes())
        .nest("/app/quarantine", quarantine::routes())
}
