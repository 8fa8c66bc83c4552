//! Test support shared by the crate's own tests and the other workspace crates' tests
//! (feature `testkit`): the conformance suites every adapter of a port must pass, and the
//! connection to the moto server the test command starts.

pub mod contacts;
pub mod mailer;
pub mod queue;
pub mod smtp_sink;
pub mod storage;
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
        sdk_url: crate::config::DEFAULT_SDK_URL.into(),
    }
}

/// The embedded ports under `dir`, with Meta unreachable.
pub fn embedded_ports(dir: &std::path::Path) -> crate::ports::Ports {
    crate::platform::embedded::ports(dir, &offline_meta()).expect("embedded ports")
}

/// `shared/fixtures/<kind>` (the real Meta payloads), found by walking up from this crate: the
/// project's `shared/` folder sits beside the repository (in CI and in every checkout layout).
pub fn fixtures_dir(kind: &str) -> std::path::PathBuf {
    let start = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared/fixtures").join(kind))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| panic!("no shared/fixtures/{kind} above {}", start.display()))
}

/// Every `*.json` fixture of `kind`, sorted by file name: `(name, raw bytes)`.
pub fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fixtures_dir(kind);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    out
}

/// A fresh embedded table in a temporary directory that lives as long as the test process.
pub fn sqlite_table() -> std::sync::Arc<dyn crate::ports::Table> {
    let dir = Box::leak(Box::new(tempfile::tempdir().expect("temp dir")));
    std::sync::Arc::new(
        crate::adapters::embedded::sqlite_table::SqliteTable::open(&dir.path().join("table.db")).expect("sqlite table"),
    )
}

/// A fresh embedded table behind the local process's read cache, caching every key (see
/// `CachedTable::caching_every_key`).
pub fn cached_sqlite_table() -> std::sync::Arc<dyn crate::ports::Table> {
    std::sync::Arc::new(crate::adapters::embedded::cached_table::CachedTable::caching_every_key(sqlite_table()))
}

/// A fresh single-table on the moto server (`infra/test.sh` starts it).
#[cfg(feature = "aws")]
pub async fn dynamodb_table() -> std::sync::Arc<dyn crate::ports::Table> {
    let sdk = moto::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let name = unique("table");
    crate::adapters::aws::dynamodb::create_table(&client, &name).await.expect("create table on moto");
    std::sync::Arc::new(crate::adapters::aws::dynamodb::DynamoTable::new(client, name))
}
