//! The web console: server-rendered HTML pages (askama templates, checked at compile time) over the
//! same domain use cases the JSON API calls — no HTTP round trip to our own API. One route group:
//! the `console-web` Lambda on AWS, merged beside the API on the local process's one port.
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

/// The console's routes, with the security headers every page carries.
pub fn router(state: AppState) -> Router {
    pages::routes().layer(axum::middleware::from_fn(security::headers)).with_state(state)
}
