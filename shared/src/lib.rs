//! Miping: domain, ports, adapters and the HTTP layer, shared by every Lambda in `functions/`
//! and by the local process in `infra/local`.

pub mod adapters;
pub mod ports;
pub mod runtime;

#[cfg(feature = "testkit")]
pub mod testkit;
