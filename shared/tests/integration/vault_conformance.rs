//! The token vault conformance suite on both adapters (the KMS one on moto), plus the
//! adapter-specific behaviour the port cannot express: the key file, KMS being unreachable.

use std::sync::Arc;

use async_trait::async_trait;
use miping::adapters::aws::kms_vault::KmsVault;
use miping::adapters::embedded::file_vault::FileVault;
use miping::ports::vault::{TokenVault, VaultError};
use secrecy::{ExposeSecret, SecretString};

/// A `FileVault` that owns its temporary folder, so the key file outlives the test's vault.
struct TempFileVault {
    vault: FileVault,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl TokenVault for TempFileVault {
    async fn seal(&self, tenant_id: &str, secret: &SecretString) -> Result<String, VaultError> {
        self.vault.seal(tenant_id, secret).await
    }
    async fn open(&self, tenant_id: &str, sealed: &str) -> Result<SecretString, VaultError> {
        self.vault.open(tenant_id, sealed).await
    }
}

impl std::fmt::Debug for TempFileVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.vault.fmt(f)
    }
}

async fn file_vault() -> Arc<TempFileVault> {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = FileVault::open_or_create(&dir.path().join("vault.key")).expect("open vault");
    Arc::new(TempFileVault { vault, _dir: dir })
}

async fn kms_client() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&miping::testkit::moto::sdk_config().await)
}

/// A fresh KMS key per test: tests share one moto server and must not share keys.
async fn kms_key(client: &aws_sdk_kms::Client) -> String {
    let out = client.create_key().description(miping::testkit::unique("vault-test")).send().await.expect("CreateKey");
    out.key_metadata().map(|m| m.key_id().to_owned()).expect("key id")
}

async fn kms_vault() -> Arc<KmsVault> {
    let client = kms_client().await;
    let key = kms_key(&client).await;
    Arc::new(KmsVault::new(client, key))
}

mod embedded {
    miping::vault_conformance!(super::file_vault());
}

mod aws {
    miping::vault_conformance!(super::kms_vault());
}

const SECRET: &str = "EAAG-test-secret-token-0123456789";

async fn seal(vault: &dyn TokenVault, tenant: &str) -> String {
    vault.seal(tenant, &SecretString::from(SECRET)).await.expect("seal")
}

#[cfg(unix)]
#[tokio::test]
async fn file_vault_key_file_is_private_and_reused_across_reopen() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // A folder that does not exist yet, as on a first start with a fresh data dir.
    let key_path = dir.path().join("data").join("vault.key");
    let first = FileVault::open_or_create(&key_path).expect("create");
    let meta = std::fs::metadata(&key_path).expect("key file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "key file mode");
    assert_eq!(meta.len(), 32, "key file length");
    let sealed = seal(&first, "tenant-a").await;
    let key_before = std::fs::read(&key_path).expect("read key");
    drop(first);

    let reopened = FileVault::open_or_create(&key_path).expect("reopen");
    assert_eq!(std::fs::read(&key_path).expect("read key"), key_before, "key file rewritten on reopen");
    let opened = reopened.open("tenant-a", &sealed).await.expect("open after reopen");
    assert_eq!(opened.expose_secret(), SECRET);
    // No temporary key files are left behind.
    let names: Vec<_> = std::fs::read_dir(key_path.parent().expect("parent"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("vault.key")]);
}

#[tokio::test]
async fn file_vault_racing_creators_share_one_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_path = dir.path().join("vault.key");
    let vaults: Vec<FileVault> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| FileVault::open_or_create(&key_path))).collect();
        handles.into_iter().map(|h| h.join().expect("thread").expect("open_or_create")).collect()
    });
    let sealed = seal(&vaults[0], "tenant-a").await;
    for vault in &vaults {
        let opened = vault.open("tenant-a", &sealed).await.expect("every creator has the same key");
        assert_eq!(opened.expose_secret(), SECRET);
    }
}

#[tokio::test]
async fn file_vault_refuses_a_key_file_of_the_wrong_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    for len in [0, 16, 31, 33, 64] {
        let key_path = dir.path().join(format!("vault-{len}.key"));
        std::fs::write(&key_path, vec![1u8; len]).expect("write key");
        let err = FileVault::open_or_create(&key_path).expect_err("wrong length accepted");
        assert!(matches!(err, VaultError::Unavailable(_)), "{err:?}");
        assert_eq!(std::fs::read(&key_path).expect("read").len(), len, "key file was overwritten");
    }
}

#[tokio::test]
async fn file_vault_format_and_debug() {
    let vault = file_vault().await;
    let sealed = seal(&*vault, "tenant-a").await;
    assert!(sealed.starts_with("v1."), "{sealed}");
    assert!(!format!("{vault:?}").contains("cipher"), "{vault:?}");
}

#[tokio::test]
async fn kms_vault_format_is_envelope() {
    let vault = kms_vault().await;
    let sealed = seal(&*vault, "tenant-a").await;
    assert!(sealed.starts_with("kms1."), "{sealed}");
    // Envelope encryption has no 4 KB limit: a 6 KB secret, more than KMS Encrypt accepts.
    let big = SecretString::from("x".repeat(6000));
    let sealed = vault.seal("tenant-a", &big).await.expect("seal 6 KB");
    assert_eq!(vault.open("tenant-a", &sealed).await.expect("open 6 KB").expose_secret().len(), 6000);
}

/// KMS that cannot be reached is `Unavailable`, both ways, never `CannotOpen`, and the error
/// never carries the secret.
#[tokio::test]
async fn kms_vault_unreachable_is_unavailable() {
    let working = kms_vault().await;
    let sealed = seal(&*working, "tenant-a").await;

    let sdk = miping::testkit::moto::sdk_config().await;
    let config = aws_sdk_kms::config::Builder::from(&sdk)
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
        .build();
    let broken = KmsVault::new(aws_sdk_kms::Client::from_conf(config), "any-key");

    let err = broken.seal("tenant-a", &SecretString::from(SECRET)).await.expect_err("seal without KMS");
    assert!(matches!(err, VaultError::Unavailable(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err:?}");

    let err = broken.open("tenant-a", &sealed).await.expect_err("open without KMS");
    assert!(matches!(err, VaultError::Unavailable(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err:?}");
}
