//! Wiring: builds the ports and the configuration for where the code runs.
//! - `embedded`: the local process and `cargo lambda watch` (no AWS resources configured);
//! - `aws`: Lambda, from the environment SAM sets (`TABLE_NAME`, queue URLs, key ids).

pub mod embedded;

#[cfg(feature = "aws")]
pub mod aws;
