//! The web console: server-rendered HTML pages (askama templates, checked at compile time) over the
//! same domain use cases the JSON API calls — no HTTP round trip to our own API. Two route groups
//! on AWS — the business's console and the signed-out pages (`console-web`), the platform owner's
//! pages (`console-admin`) — each its own Lambda so each binary links only the use cases its pages
//! call; both merged beside the API on the local process's one port.
//!
//! - `GET /` is the sign-in page, or the console when signed in; the other pages live under `/app/`
//!   (the API owns `/templates`, `/contacts`, …), the signed-out pages at the root
//!   (`/forgot-password`, `/reset-password`: the emails link there).
//! - A session is the API's server-side session, its token in an `HttpOnly`, `SameSite=Lax` cookie
//!   ([`session`]); every state-changing request carries a CSRF token ([`csrf`]).
//! - Pages work without JavaScript (plain forms, Post/Redirect/Get); `assets/console.js` upgrades
//!   the same markup (fragment swaps on `HX-Request`, polling, toasts): see `shared/console/README.md`.

// Rejections and refusals are whole pages (`Response`), as axum's extractors' are: boxing them
// would only add allocations on the error path.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod brand;
pub mod csrf;
pub mod forms;
pub mod nav;
pub mod page;
pub mod pages;
pub mod paging;
pub mod security;
pub mod session;
pub mod view;

use axum::Router;
use miping::app::AppState;

/// The whole console, with the security headers every page carries (the local process).
pub fn router(state: AppState) -> Router {
    with_headers(pages::routes(), state)
}

/// The business's console and the signed-out pages (the `console-web` Lambda).
pub fn workspace_router(state: AppState) -> Router {
    with_headers(pages::workspace_routes(), state)
}

/// The platform owner's pages (the `console-admin` Lambda).
pub fn platform_router(state: AppState) -> Router {
    with_headers(pages::platform_routes(), state)
}

fn with_headers(routes: Router<AppState>, state: AppState) -> Router {
    let policy = security::csp(state.ports.storage.download_origin());
    // An origin that is no header value (it never is: scheme and authority) falls back to the
    // strict policy, and previews are then refused by the browser rather than the page.
    let policy = axum::http::HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static(security::CSP));
    routes.layer(axum::middleware::from_fn_with_state(policy, security::headers)).with_state(state)
}
