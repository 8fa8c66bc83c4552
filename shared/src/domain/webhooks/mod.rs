//! Meta webhooks: persist first (`ingest`), process later (the webhook queue's consumer).

pub mod customers;
pub mod ingest;
pub mod payload;
pub mod process;
pub mod quarantine;
pub mod routing;
pub mod signature;
