//! The embedded token vault: AES-256-GCM under a 32-byte key kept in a file next to the data.
//!
//! Sealed format: `v1.` + base64url-no-pad(nonce (12 bytes) || ciphertext || tag (16 bytes)).
//! The associated data is `miping-vault/v1/<tenant_id>`, so a value sealed for one tenant fails
//! authentication when opened for another, exactly like any tampering.
//!
//! The key file is the only secret of the local installation: it is created once with mode
//! 0600 and then reused, so tokens sealed before a restart still open after it.

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::adapters::sealing::{open_bytes, seal_bytes, utf8_secret};
use crate::ports::vault::{TokenVault, VaultError};

const KEY_LEN: usize = 32;
const PREFIX: &str = "v1.";
const AAD_PREFIX: &[u8] = b"miping-vault/v1/";

pub struct FileVault {
    key_path: PathBuf,
    cipher: Aes256Gcm,
}

impl fmt::Debug for FileVault {
    // Only where the key lives, never the key itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileVault").field("key_path", &self.key_path).field("key", &"<redacted>").finish()
    }
}

impl FileVault {
    /// Opens the vault whose key is at `key_path`, creating a fresh random key (mode 0600, parent
    /// folders included) when there is none. Two processes starting at once end up with the same
    /// key: the file appears atomically and complete, and whoever loses the race reads it.
    pub fn open_or_create(key_path: &Path) -> Result<Self, VaultError> {
        let mut key = match read_key(key_path) {
            Ok(key) => key,
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_key(key_path)?,
            Err(e) => return Err(key_file_error(key_path, &e)),
        };
        let checked = check_key_len(key_path, &key);
        let cipher = checked.map(|()| Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)));
        key.zeroize();
        Ok(Self { key_path: key_path.to_path_buf(), cipher: cipher? })
    }
}

#[async_trait]
impl TokenVault for FileVault {
    async fn seal(&self, tenant_id: &str, secret: &SecretString) -> Result<String, VaultError> {
        let sealed = seal_bytes(&self.cipher, &aad(tenant_id), secret.expose_secret().as_bytes())?;
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    async fn open(&self, tenant_id: &str, sealed: &str) -> Result<SecretString, VaultError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(VaultError::CannotOpen)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| VaultError::CannotOpen)?;
        let plaintext = open_bytes(&self.cipher, &aad(tenant_id), &bytes)?;
        utf8_secret(plaintext)
    }
}

fn aad(tenant_id: &str) -> Vec<u8> {
    [AAD_PREFIX, tenant_id.as_bytes()].concat()
}

fn read_key(key_path: &Path) -> io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(key_path)?;
    warn_if_readable_by_others(key_path, &file);
    let mut key = Vec::with_capacity(KEY_LEN);
    // Read one byte more than a key so an over-long file is detected without reading it all.
    io::Read::take(&mut file, KEY_LEN as u64 + 1).read_to_end(&mut key)?;
    Ok(key)
}

fn check_key_len(key_path: &Path, key: &[u8]) -> Result<(), VaultError> {
    if key.len() == KEY_LEN {
        return Ok(());
    }
    Err(VaultError::Unavailable(format!(
        "vault key file {} is not a {KEY_LEN}-byte key ({} bytes or more); refusing to use it",
        key_path.display(),
        key.len()
    )))
}

/// Writes a new key into a private temporary file in the same folder, then hard-links it to
/// `key_path`. The link fails if the name exists, which gives create-new semantics without a
/// window where another process could read an empty or half-written key file.
fn create_key(key_path: &Path) -> Result<Vec<u8>, VaultError> {
    let dir = key_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| key_file_error(dir, &e))?;
    let mut key = vec![0u8; KEY_LEN];
    OsRng.fill_bytes(&mut key);
    let tmp = dir.join(format!(".vault-key-{}.tmp", ulid::Ulid::new()));
    let linked = write_private(&tmp, &key).and_then(|()| std::fs::hard_link(&tmp, key_path));
    // The temporary name is never needed again, whether the link won or lost.
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            key.zeroize();
            read_key(key_path).map_err(|e| key_file_error(key_path, &e))
        }
        Err(e) => {
            key.zeroize();
            Err(key_file_error(key_path, &e))
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(key_path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %key_path.display(), "vault key file is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_key_path: &Path, _file: &std::fs::File) {}

fn key_file_error(path: &Path, e: &io::Error) -> VaultError {
    VaultError::Unavailable(format!("vault key file {}: {e}", path.display()))
}
