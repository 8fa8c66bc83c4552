//! Serving a route group on Lambda: the same axum `Router` the local process serves, behind
//! `lambda_http` (API Gateway HTTP API payload v2 and function URLs).

use axum::Router;
pub use lambda_http::Error;

use crate::app::AppState;
use crate::http::layers::with_common_layers;
use crate::platform;

/// Builds the state for a function: AWS adapters when `TABLE_NAME` is set (deployed), the
/// embedded store under `MIPING_DATA_DIR` otherwise (`cargo lambda watch` on a laptop).
pub async fn state() -> Result<AppState, lambda_http::Error> {
    if crate::config::env("TABLE_NAME").is_some() {
        let sdk = platform::aws::sdk_config()?;
        let config = platform::aws::config(&sdk).await?;
        let ports = platform::aws::ports(&sdk, &config).await?;
        Ok(AppState::new(ports, config))
    } else {
        local_state()
    }
}

#[cfg(feature = "embedded")]
fn local_state() -> Result<AppState, lambda_http::Error> {
    let data_dir = crate::config::env("MIPING_DATA_DIR").unwrap_or_else(|| ".miping".into());
    let (ports, config) = platform::embedded::local_state(std::path::Path::new(&data_dir))?;
    Ok(AppState::new(ports, config))
}

/// Deployed builds link no embedded adapters (miping feature `embedded`).
#[cfg(not(feature = "embedded"))]
fn local_state() -> Result<AppState, lambda_http::Error> {
    Err("TABLE_NAME is not set and this build has no embedded store: for `cargo lambda watch`, \
         build with the function's `local` feature"
        .into())
}

/// The whole `main` of an HTTP function: logs, state, optional bootstrap, serve.
pub async fn serve(group: fn(AppState) -> Router) -> Result<(), lambda_http::Error> {
    crate::telemetry::init_json_logs();
    let state = state().await?;
    // Only the auth function is given SUPER_ADMIN_* on AWS; the bootstrap is idempotent.
    if let Some(admin) = &state.config.super_admin {
        let created = crate::domain::auth::bootstrap_super_admin(&state.ports, admin).await?;
        // Only the embedded store (`cargo lambda watch` on a laptop) generates a password; it is
        // shown once on that console, like the local process does. On AWS it comes from Secrets
        // Manager and is never printed.
        if created && admin.generated && crate::config::env("TABLE_NAME").is_none() {
            use secrecy::ExposeSecret;
            eprintln!("super admin created: {} / one-time password: {}", admin.email, admin.password.expose_secret());
        }
    }
    lambda_http::run(with_common_layers(group(state))).await
}
