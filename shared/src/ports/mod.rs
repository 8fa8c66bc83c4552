//! Ports: what the domain needs from the outside world. Domain code depends only on these
//! traits; `adapters` implements each one twice (AWS and embedded).

pub mod clock;
pub mod limiter;
pub mod mailer;
pub mod meta;
pub mod queue;
pub mod storage;
pub mod table;
pub mod vault;

use std::sync::Arc;

pub use clock::{Clock, IdGen};
pub use limiter::RateLimiter;
pub use mailer::Mailer;
pub use meta::MetaGraph;
pub use queue::Queue;
pub use storage::Storage;
pub use table::Table;
pub use vault::TokenVault;

/// Every port the application uses, wired once at start-up.
#[derive(Clone)]
pub struct Ports {
    pub table: Arc<dyn Table>,
    pub queue: Arc<dyn Queue>,
    pub vault: Arc<dyn TokenVault>,
    pub mailer: Arc<dyn Mailer>,
    pub meta: Arc<dyn MetaGraph>,
    pub storage: Arc<dyn Storage>,
    /// Request rate limits (API keys).
    pub limiter: Arc<dyn RateLimiter>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
}
