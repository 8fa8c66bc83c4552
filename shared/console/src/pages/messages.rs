//! The messages pages (under /app/messages).

use axum::Router;
use miping::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
