//! Miping: domain, ports, adapters and the HTTP layer, shared by every Lambda in `functions/`
//! and by the local process in `infra/local`.
//!
//! Layers, inside out: `ports` (traits) ← `adapters` (AWS, embedded) ; `store` (repositories
//! over the table port) ← `domain` (business rules) ← `http` (axum routers) ; `runtime` runs
//! routers and queue consumers on Lambda or in-process; `platform` wires it all from config.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod platform;
pub mod ports;
pub mod queues;
pub mod runtime;
pub mod store;
pub mod telemetry;
pub mod util;

#[cfg(test)]
mod architecture_tests;

#[cfg(feature = "testkit")]
pub mod testkit;
