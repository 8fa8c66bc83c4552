//! The application state every route group shares: ports, configuration, derived keys.

use std::sync::Arc;

use crate::config::Config;
use crate::domain::auth::JwtKeys;
use crate::domain::sending::prices::PriceTable;
use crate::ports::Ports;

#[derive(Clone)]
pub struct AppState {
    pub ports: Ports,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    /// Read once here, at the edge, and passed to the use cases that price messages.
    pub prices: Arc<PriceTable>,
}

impl AppState {
    pub fn new(ports: Ports, config: Config) -> Self {
        let jwt = Arc::new(JwtKeys::new(&config.jwt_secret, config.jwt_ttl));
        crate::http::pagination::install_cursor_key(&config.jwt_secret);
        crate::domain::password::install_hash_concurrency(crate::config::hash_concurrency_from_env());
        Self { ports, config: Arc::new(config), jwt, prices: Arc::new(crate::config::prices_from_env()) }
    }
}
