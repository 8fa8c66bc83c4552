//! The quarantine pages (under /app/quarantine).

use axum::Router;
use miping::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
