//! Test support shared by the crate's own tests and the other workspace crates' tests
//! (feature `testkit`): the conformance suites every adapter of a port must pass, and the
//! connection to the moto server the test command starts.

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

/// A Meta configuration pointing nowhere, for tests that never call Meta.
pub fn offline_meta() -> crate::config::MetaConfig {
    crate::config::MetaConfig {
        app_id: "test-app".into(),
        app_secret: secrecy::SecretString::from("test-app-secret"),
        config_id: "test-config".into(),
        verify_token: secrecy::SecretString::from("test-verify-token"),
        graph_version: crate::config::DEFAULT_GRAPH_VERSION.into(),
        graph_url: "http://127.0.0.1:9".into(),
    }
}

/// The embedded ports under `dir`, with Meta unreachable.
pub fn embedded_ports(dir: &std::path::Path) -> crate::ports::Ports {
    crate::platform::embedded::ports(dir, &offline_meta()).expect("embedded ports")
}
