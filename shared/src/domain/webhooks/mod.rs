//! Meta webhooks: persist first (`ingest`), process later (the webhook queue's consumer).

pub mod ingest;
pub mod payload;
pub mod signature;
