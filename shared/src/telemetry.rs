//! Logging: JSON lines (CloudWatch and log tools parse them), level from `RUST_LOG`
//! (default `info`). Secrets are `SecretString`s and never formatted.

pub mod stages;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; later calls are no-ops (tests may call it repeatedly).
pub fn init_json_logs() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // Lambda and journald stamp lines themselves; the local run sets it below.
        .try_init();
}

/// Human-readable logs for the local process when stdout is a terminal.
pub fn init_local_logs(json: bool) {
    if json {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).try_init();
    } else {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).compact().try_init();
    }
}
