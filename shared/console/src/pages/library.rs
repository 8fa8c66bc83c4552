//! The library pages (under /app/library).

use axum::Router;
use miping::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
