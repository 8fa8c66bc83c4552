//! The embedded platform: everything under one data directory.
//!
//! ```text
//! <data_dir>/table.db        single table (SQLite)
//! <data_dir>/queues.db       work queues (SQLite)
//! <data_dir>/keys/vault.key  AES-256-GCM key for tenants' tokens (0600)
//! <data_dir>/keys/jwt.key    HS256 session key (0600)
//! <data_dir>/keys/media.key  HMAC key of the signed media URLs (0600)
//! <data_dir>/outbox/*.eml    emails (unless `SMTP_URL` sends them to a mail server)
//! <data_dir>/media/          media files (see `adapters::embedded::file_storage`)
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rand::RngCore;
use secrecy::SecretString;

use crate::adapters::embedded::cached_table::CachedTable;
use crate::adapters::embedded::file_storage::FileStorage;
use crate::adapters::embedded::file_vault::FileVault;
use crate::adapters::embedded::media_urls::MediaUrls;
use crate::adapters::embedded::outbox::OutboxMailer;
use crate::adapters::embedded::sqlite_queue::{QueueSettings, SqliteQueue};
use crate::adapters::embedded::sqlite_table::SqliteTable;
use crate::ports::clock::{Clock, SystemClock, UlidGen};
use crate::ports::{Mailer, Ports};

pub const LOCAL_FROM: &str = "Miping <no-reply@miping.local>";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot open {what} in {path}: {cause}")]
    Open { what: &'static str, path: PathBuf, cause: String },
    /// `SMTP_URL` or `SMTP_FROM` is unusable (the message never holds the password).
    #[error("{0}")]
    Mail(String),
}

fn open_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(String) -> EmbeddedError + 'a {
    move |cause| EmbeddedError::Open { what, path: path.to_path_buf(), cause }
}

pub fn outbox_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

pub fn media_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("media")
}

/// `MIPING_PUBLIC_URL`, else `http://{MIPING_ADDR}` (default `127.0.0.1:3000`).
pub fn local_public_url() -> String {
    crate::config::env("MIPING_PUBLIC_URL").unwrap_or_else(|| {
        format!("http://{}", crate::config::env("MIPING_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()))
    })
}

/// The mailer `SMTP_URL` asks for: SMTP from `SMTP_FROM` (default [`LOCAL_FROM`]) when set, the
/// outbox folder otherwise.
pub fn mailer(
    smtp_url: Option<SecretString>,
    smtp_from: Option<String>,
    outbox: &Path,
) -> Result<Arc<dyn Mailer>, EmbeddedError> {
    let Some(url) = smtp_url else {
        let outbox_mailer =
            OutboxMailer::new(outbox, LOCAL_FROM).map_err(|e| open_err("outbox", outbox)(e.to_string()))?;
        return Ok(Arc::new(outbox_mailer));
    };
    #[cfg(feature = "smtp")]
    {
        let from = smtp_from.unwrap_or_else(|| LOCAL_FROM.into());
        let smtp =
            crate::adapters::smtp::SmtpMailer::new(&url, &from).map_err(|e| EmbeddedError::Mail(e.to_string()))?;
        Ok(Arc::new(smtp))
    }
    #[cfg(not(feature = "smtp"))]
    {
        let _ = (url, smtp_from);
        Err(EmbeddedError::Mail("SMTP_URL is set, but this build has no SMTP mailer (miping feature `smtp`)".into()))
    }
}

/// How many table writes (or queue sends) may share one SQLite transaction and COMMIT:
/// `MIPING_GROUP_COMMIT_MAX` (default 512; `1` turns group commit off, for comparisons).
/// `MIPING_READ_CACHE=0` turns the per-process read cache off (comparisons too).
fn group_commit_from_env() -> usize {
    crate::config::env("MIPING_GROUP_COMMIT_MAX")
        .and_then(|v| v.parse().ok())
        .unwrap_or(crate::adapters::embedded::sqlite_table::MAX_GROUP)
}

/// Read-only connections of the table: `MIPING_SQLITE_READERS` (default 2; `0`: reads share
/// the writer's connection, for comparisons).
fn readers_from_env() -> usize {
    crate::config::env("MIPING_SQLITE_READERS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(crate::adapters::embedded::sqlite_table::READERS)
}

/// Opens (creating if needed) every embedded adapter under `data_dir`; Meta calls go to
/// `meta.graph_url` (the in-process simulator by default).
pub fn ports(data_dir: &Path, meta: &crate::config::MetaConfig) -> Result<Ports, EmbeddedError> {
    std::fs::create_dir_all(data_dir).map_err(|e| open_err("data directory", data_dir)(e.to_string()))?;
    let table_path = data_dir.join("table.db");
    let queue_path = data_dir.join("queues.db");
    let vault_path = data_dir.join("keys").join("vault.key");
    let outbox = outbox_dir(data_dir);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let storage = file_storage(data_dir, &local_public_url(), clock.clone())?;
    Ok(Ports {
        // This process serves every request: its own counters are exact.
        limiter: Arc::new(crate::adapters::embedded::memory_limiter::MemoryRateLimiter::new()),
        table: {
            let sqlite: Arc<dyn crate::ports::table::Table> = Arc::new(
                SqliteTable::open_with_readers(&table_path, readers_from_env())
                    .map_err(|e| open_err("table", &table_path)(e.to_string()))?
                    .with_max_group(group_commit_from_env()),
            );
            // The read cache is exact here: this process is its table's only writer.
            if crate::config::env_bool("MIPING_READ_CACHE", true) { Arc::new(CachedTable::new(sqlite)) } else { sqlite }
        },
        queue: Arc::new(
            crate::queues::ALL.into_iter().fold(
                SqliteQueue::open(&queue_path, QueueSettings::default())
                    .map_err(|e| open_err("queues", &queue_path)(e.to_string()))?
                    .with_max_group(group_commit_from_env()),
                |q, name| q.with_settings(name, crate::queues::settings(name)),
            ),
        ),
        vault: Arc::new(
            FileVault::open_or_create(&vault_path).map_err(|e| open_err("vault key", &vault_path)(e.to_string()))?,
        ),
        mailer: mailer(crate::config::env_secret("SMTP_URL"), crate::config::env("SMTP_FROM"), &outbox)?,
        meta: super::meta_graph(meta).map_err(|cause| EmbeddedError::Open {
            what: "Graph API client",
            path: PathBuf::from(&meta.graph_url),
            cause,
        })?,
        storage: Arc::new(storage),
        clock,
        ids: Arc::new(UlidGen::default()),
    })
}

/// The media store under `<data_dir>/media/`, its URLs signed with `<data_dir>/keys/media.key`
/// and pointing at `public_url` (the process that serves `/media-files/`, `http::media_files`).
pub fn file_storage(data_dir: &Path, public_url: &str, clock: Arc<dyn Clock>) -> Result<FileStorage, EmbeddedError> {
    let media_key_path = data_dir.join("keys").join("media.key");
    let media = media_dir(data_dir);
    let media_key = load_or_create_secret(&media_key_path)
        .map_err(|e| open_err("media URL key", &media_key_path)(e.to_string()))?;
    FileStorage::open(&media, MediaUrls::new(media_key, public_url), clock)
        .map_err(|e| open_err("media", &media)(e.to_string()))
}

/// A secret kept in a 0600 file, generated on first use, so sessions survive restarts.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<SecretString> {
    if let Ok(existing) = std::fs::read_to_string(path)
        && !existing.trim().is_empty()
    {
        return Ok(SecretString::from(existing.trim().to_string()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(secret.as_bytes())?;
            f.sync_all()?;
            Ok(SecretString::from(secret))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(SecretString::from(std::fs::read_to_string(path)?.trim().to_string()))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn secret_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/jwt.key");
        let a = load_or_create_secret(&path).unwrap();
        let b = load_or_create_secret(&path).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().len() >= 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}

/// The Meta app values the built-in simulator uses when no real app is configured.
pub mod simulator_defaults {
    pub const APP_ID: &str = "100000000000001";
    pub const APP_SECRET: &str = "sim-app-secret";
    pub const CONFIG_ID: &str = "200000000000002";
    pub const VERIFY_TOKEN: &str = "sim-verify-token";
    pub const SIM_ADDR: &str = "127.0.0.1:3001";
}

/// Ports and configuration for running on the embedded store (a function under
/// `cargo lambda watch`), from the SPEC's environment variables and their local defaults.
pub fn local_state(data_dir: &Path) -> Result<(Ports, crate::config::Config), EmbeddedError> {
    let config = local_config(data_dir)?;
    let ports = ports(data_dir, &config.meta)?;
    Ok((ports, config))
}

/// The local configuration: the SPEC's environment variables and their local defaults (session
/// key and generated super admin password kept under `data_dir`, the simulator's Meta app).
pub fn local_config(data_dir: &Path) -> Result<crate::config::Config, EmbeddedError> {
    use crate::config::{self as cfg, Config, MetaConfig, SuperAdminBootstrap};
    use simulator_defaults as sim;

    let jwt_path = data_dir.join("keys").join("jwt.key");
    let jwt_secret = match cfg::env_secret("JWT_SECRET") {
        Some(s) => s,
        None => load_or_create_secret(&jwt_path).map_err(|e| open_err("session key", &jwt_path)(e.to_string()))?,
    };
    let super_admin = {
        let email = cfg::env("SUPER_ADMIN_EMAIL").unwrap_or_else(|| "admin@miping.local".into());
        match cfg::env_secret("SUPER_ADMIN_PASSWORD") {
            Some(password) => SuperAdminBootstrap { email, password, generated: false },
            None => SuperAdminBootstrap { email, password: crate::domain::password::generate(), generated: true },
        }
    };
    let sim_addr = cfg::env("MIPING_SIM_ADDR").unwrap_or_else(|| sim::SIM_ADDR.into());
    let config = Config {
        public_url: local_public_url(),
        jwt_secret,
        jwt_ttl: Config::jwt_ttl_from_env(),
        super_admin: Some(super_admin),
        meta: MetaConfig {
            app_id: cfg::env("META_APP_ID").unwrap_or_else(|| sim::APP_ID.into()),
            app_secret: cfg::env_secret("META_APP_SECRET").unwrap_or_else(|| SecretString::from(sim::APP_SECRET)),
            config_id: cfg::env("META_CONFIG_ID").unwrap_or_else(|| sim::CONFIG_ID.into()),
            verify_token: cfg::env_secret("META_VERIFY_TOKEN").unwrap_or_else(|| SecretString::from(sim::VERIFY_TOKEN)),
            graph_version: cfg::env("META_GRAPH_VERSION").unwrap_or_else(|| cfg::DEFAULT_GRAPH_VERSION.into()),
            graph_url: cfg::env("META_GRAPH_URL").unwrap_or_else(|| format!("http://{sim_addr}")),
            sdk_url: cfg::env("META_SDK_URL").unwrap_or_else(|| cfg::DEFAULT_SDK_URL.into()),
        },
        production: false,
        allow_private_callbacks: cfg::env_bool("MIPING_ALLOW_PRIVATE_CALLBACKS", true),
        api_key_rate_limit: Config::api_key_rate_limit_from_env(),
        login_throttle: Default::default(),
        password_reset_ttl: crate::config::DEFAULT_PASSWORD_RESET_TTL,
        trust_forwarded_for: crate::config::env_bool("MIPING_TRUST_X_FORWARDED_FOR", false),
        reconcile: crate::config::reconcile_from_env(),
        send_timing: Default::default(),
    };
    crate::domain::billing::gate::set_writers(cfg::balance_writers_from_env());
    Ok(config)
}
