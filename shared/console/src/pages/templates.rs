//! The templates pages (under /app/templates).

use axum::Router;
use miping::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
