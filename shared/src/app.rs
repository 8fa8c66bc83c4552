//! The application state every route group shares: ports, configuration, derived keys.

use std::sync::Arc;

use crate::config::Config;
use crate::domain::auth::JwtKeys;
use crate::ports::Ports;

#[derive(Clone)]
pub struct AppState {
    pub ports: Ports,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
}

impl AppState {
    pub fn new(ports: Ports, config: Config) -> Self {
        let jwt = Arc::new(JwtKeys::new(&config.jwt_secret, config.jwt_ttl));
        crate::http::pagination::install_cursor_key(&config.jwt_secret);
        Self { ports, config: Arc::new(config), jwt }
    }
}
