//! The HTTP layer: one axum `Router` per route group. The same routers are served by
//! `lambda_http` in each function and merged and served by `axum::serve` in the local process.

pub mod access;
pub mod api_key_auth;
pub mod audit;
pub mod auth;
pub mod client_addr;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod layers;
#[cfg(feature = "embedded")]
pub mod media_files;
pub mod openapi;
pub mod pagination;
pub mod routes;

pub use error::{ApiError, ApiResult, FieldError};
pub use json::{ApiJson, Created, NoBody};
