//! `meta-sim`: the Graph API simulator as a standalone process.
//!
//! Environment: `MIPING_SIM_ADDR` (default 127.0.0.1:3001), `META_APP_ID`, `META_APP_SECRET`
//! (defaults: the local simulator app), `SIM_WEBHOOK_URL` (where signed webhooks go, e.g.
//! `http://127.0.0.1:3000/webhook/meta`), `SIM_DATA_DIR` (where templates, registrations and
//! media are kept across restarts; memory only when unset).

use std::net::SocketAddr;

use meta_sim::SimConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let addr: SocketAddr = env("MIPING_SIM_ADDR").as_deref().unwrap_or("127.0.0.1:3001").parse()?;
    let mut config = SimConfig::default();
    if let Some(id) = env("META_APP_ID") {
        config.app_id = id;
    }
    if let Some(secret) = env("META_APP_SECRET") {
        config.app_secret = secret;
    }
    config.webhook_url = env("SIM_WEBHOOK_URL");
    config.data_dir = env("SIM_DATA_DIR").map(Into::into);
    let handle = meta_sim::start(config, addr).await?;
    println!("meta-sim listening on {} (Facebook SDK stand-in: {})", handle.base_url(), handle.sdk_url());
    tokio::signal::ctrl_c().await?;
    handle.shutdown();
    Ok(())
}
