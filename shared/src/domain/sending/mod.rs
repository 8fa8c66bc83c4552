//! Sending: pacing per phone number (and per recipient pair), the send worker, campaigns.

pub mod debits;
pub mod hold;
pub mod pacing;
pub mod prices;
pub mod worker;
