//! Test support shared by the crate's own tests and the other workspace crates' tests
//! (feature `testkit`): the conformance suites every adapter of a port must pass, and the
//! connection to the moto server the test command starts.

pub mod contacts;
pub mod mailer;
pub mod queue;
pub mod table;
pub mod vault;

#[cfg(feature = "aws")]
pub mod moto;

/// A name no other test uses, so tests can share one moto server (and one data dir) in parallel.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())
}
