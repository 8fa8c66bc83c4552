//! Configuration from the environment (SPEC "Configuration"). Secrets are `SecretString`s so
//! they cannot end up in a `Debug` print or a log line by accident.

use std::time::Duration;

use secrecy::SecretString;

#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL used in emails and links (`MIPING_PUBLIC_URL`).
    pub public_url: String,
    pub jwt_secret: SecretString,
    pub jwt_ttl: Duration,
    pub super_admin: Option<SuperAdminBootstrap>,
    pub meta: MetaConfig,
    /// Production mode turns on guards the local run relaxes (e.g. no loopback callback URLs).
    pub production: bool,
    /// Outbound callbacks may reach loopback and private addresses
    /// (`MIPING_ALLOW_PRIVATE_CALLBACKS`; default on for the local process, off on AWS).
    pub allow_private_callbacks: bool,
    /// Requests per second one API key may make to `/api/v1/*` (`MIPING_API_KEY_RATE_LIMIT`).
    pub api_key_rate_limit: u32,
    /// Sign-in throttling (built-in defaults; tests tighten them).
    pub login_throttle: crate::domain::login_throttle::LoginThrottle,
    /// How long a password reset link works (SPEC: 30 minutes; tests shorten it).
    pub password_reset_ttl: Duration,
    /// Read the client address from the last `X-Forwarded-For` entry
    /// (`MIPING_TRUST_X_FORWARDED_FOR`; only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The reconciler's grace and (locally) how often it runs (`MIPING_RECONCILE_*`).
    pub reconcile: crate::domain::reconciler::ReconcileOptions,
    /// The send worker's waits.
    pub send_timing: crate::domain::sending::worker::SendTiming,
}

/// Default for `MIPING_API_KEY_RATE_LIMIT`: generous for an ERP's bursts, far below what would
/// let one key crowd out a tenant's other traffic.
pub const DEFAULT_API_KEY_RATE_LIMIT: u32 = 20;

#[derive(Clone, Debug)]
pub struct SuperAdminBootstrap {
    pub email: String,
    pub password: SecretString,
    /// True when the password was generated (and must be shown once to the operator).
    pub generated: bool,
}

#[derive(Clone, Debug)]
pub struct MetaConfig {
    pub app_id: String,
    pub app_secret: SecretString,
    pub config_id: String,
    pub verify_token: SecretString,
    pub graph_version: String,
    pub graph_url: String,
    /// The Facebook JS SDK the connect page loads (`META_SDK_URL`; tests serve a stand-in).
    pub sdk_url: String,
}

pub const DEFAULT_GRAPH_VERSION: &str = "v24.0";
pub const DEFAULT_SDK_URL: &str = "https://connect.facebook.net/en_US/sdk.js";
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(12 * 3600);
pub const DEFAULT_PASSWORD_RESET_TTL: Duration = Duration::from_secs(30 * 60);

/// Reads an environment variable, treating empty as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The price table, `MIPING_PRICES` (the default prices when unset or malformed).
pub fn prices_from_env() -> crate::domain::sending::prices::PriceTable {
    env("MIPING_PRICES").and_then(|s| crate::domain::sending::prices::PriceTable::parse(&s).ok()).unwrap_or_default()
}

/// How many argon2 computations may run at once: `MIPING_HASH_CONCURRENCY`, by default half the
/// cores (at least 1). A Lambda instance serves one request at a time, so this only matters for
/// the local process.
pub fn hash_concurrency_from_env() -> usize {
    env("MIPING_HASH_CONCURRENCY")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(crate::domain::password::default_hash_concurrency)
}

/// The reconciler's timing: `MIPING_RECONCILE_GRACE_SECONDS`, `MIPING_RECONCILE_INTERVAL_SECONDS`.
pub fn reconcile_from_env() -> crate::domain::reconciler::ReconcileOptions {
    use crate::domain::reconciler::{DEFAULT_GRACE, DEFAULT_INTERVAL, ReconcileOptions};
    let seconds = |name: &str, default: Duration| {
        env(name).and_then(|s| s.parse().ok()).map(Duration::from_secs).unwrap_or(default)
    };
    ReconcileOptions {
        grace: seconds("MIPING_RECONCILE_GRACE_SECONDS", DEFAULT_GRACE),
        interval: seconds("MIPING_RECONCILE_INTERVAL_SECONDS", DEFAULT_INTERVAL).max(Duration::from_secs(1)),
    }
}

pub fn env_secret(name: &str) -> Option<SecretString> {
    env(name).map(SecretString::from)
}

/// A boolean variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; anything else (or unset)
/// is `default`.
pub fn env_bool(name: &str, default: bool) -> bool {
    match env(name).map(|v| v.to_ascii_lowercase()).as_deref() {
        Some("1" | "true" | "yes" | "on") => true,
        Some("0" | "false" | "no" | "off") => false,
        _ => default,
    }
}

/// `MIPING_BALANCE_WRITERS`: how many processes may write one tenant's credit balance at once
/// (`domain::billing::gate`; default 1, the local process; template.yaml sets AWS's).
pub fn balance_writers_from_env() -> u32 {
    env("MIPING_BALANCE_WRITERS").and_then(|v| v.trim().parse().ok()).filter(|&n| n > 0).unwrap_or(1)
}

impl Config {
    pub fn api_key_rate_limit_from_env() -> u32 {
        env("MIPING_API_KEY_RATE_LIMIT")
            .and_then(|s| s.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_API_KEY_RATE_LIMIT)
    }
    pub fn jwt_ttl_from_env() -> Duration {
        env("JWT_TTL_SECONDS").and_then(|s| s.parse().ok()).map(Duration::from_secs).unwrap_or(DEFAULT_JWT_TTL)
    }
}
