//! The settings pages (under /app/settings).

use axum::Router;
use miping::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
