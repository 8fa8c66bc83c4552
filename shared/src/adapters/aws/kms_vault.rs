//! The AWS token vault: KMS envelope encryption.
//!
//! Each seal asks KMS for a fresh AES-256 data key (`GenerateDataKey`) under the vault's KMS key,
//! with the encryption context `{"tenant_id": <tenant>, "purpose": "whatsapp-token"}`; the secret
//! is encrypted locally with AES-256-GCM under that data key, and only the KMS-encrypted copy of
//! the data key is kept, next to the ciphertext. Opening sends that encrypted data key to KMS
//! `Decrypt` with the same context and key id, then decrypts locally.
//!
//! Why envelope encryption rather than KMS `Encrypt` on the secret itself:
//! - no 4 KB plaintext limit (KMS `Encrypt` takes at most 4096 bytes);
//! - still exactly one KMS call per seal and per open;
//! - the secret never leaves the process, so no request, SDK log or KMS error can carry it;
//! - the data key is never stored in clear: at rest it exists only encrypted under the KMS key,
//!   and it is bound to the tenant by the encryption context (which also lands in CloudTrail).
//!
//! Sealed format: `kms1.` + base64url-no-pad of
//! `u16 BE length of the encrypted data key || encrypted data key || nonce (12) || ciphertext+tag`.
//! The local AES-GCM associated data also names the tenant (`miping-vault/kms1/<tenant>`), so
//! the binding holds even if two tenants' data keys were ever confused.

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::KeyInit;
use aes_gcm::{Aes256Gcm, Key};
use async_trait::async_trait;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};

use crate::adapters::sealing::{open_bytes, seal_bytes, utf8_secret};
use crate::ports::vault::{TokenVault, VaultError};

const PREFIX: &str = "kms1.";
const AAD_PREFIX: &[u8] = b"miping-vault/kms1/";
const PURPOSE: &str = "whatsapp-token";
const DATA_KEY_LEN: usize = 32;

pub struct KmsVault {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl fmt::Debug for KmsVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsVault").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl KmsVault {
    /// `key_id`: the symmetric KMS key (id, ARN or alias) that wraps the data keys.
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self { client, key_id: key_id.into() }
    }

    async fn generate_data_key(&self, tenant_id: &str) -> Result<(Aes256Gcm, Vec<u8>), VaultError> {
        let mut out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context(tenant_id)))
            .send()
            .await
            .map_err(|e| unavailable("GenerateDataKey", &e))?;
        let encrypted_key = out.ciphertext_blob.take().map(Blob::into_inner);
        let cipher = cipher_from(out.plaintext.take().map(Blob::into_inner))?;
        let encrypted_key = encrypted_key
            .filter(|k| !k.is_empty() && k.len() <= usize::from(u16::MAX))
            .ok_or_else(|| VaultError::Unavailable("GenerateDataKey returned no usable encrypted key".into()))?;
        Ok((cipher, encrypted_key))
    }

    async fn decrypt_data_key(&self, tenant_id: &str, encrypted_key: &[u8]) -> Result<Aes256Gcm, VaultError> {
        let mut out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(encrypted_key))
            .set_encryption_context(Some(context(tenant_id)))
            .send()
            .await
            .map_err(decrypt_error)?;
        cipher_from(out.plaintext.take().map(Blob::into_inner))
    }
}

#[async_trait]
impl TokenVault for KmsVault {
    async fn seal(&self, tenant_id: &str, secret: &SecretString) -> Result<String, VaultError> {
        let (cipher, encrypted_key) = self.generate_data_key(tenant_id).await?;
        let sealed = seal_bytes(&cipher, &aad(tenant_id), secret.expose_secret().as_bytes())?;
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(encode(&encrypted_key, &sealed))))
    }

    async fn open(&self, tenant_id: &str, sealed: &str) -> Result<SecretString, VaultError> {
        // Malformed values are refused before any KMS call: garbage costs nothing.
        let body = sealed.strip_prefix(PREFIX).ok_or(VaultError::CannotOpen)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| VaultError::CannotOpen)?;
        let (encrypted_key, local) = decode(&bytes).ok_or(VaultError::CannotOpen)?;
        let cipher = self.decrypt_data_key(tenant_id, encrypted_key).await?;
        utf8_secret(open_bytes(&cipher, &aad(tenant_id), local)?)
    }
}

fn context(tenant_id: &str) -> HashMap<String, String> {
    HashMap::from([("tenant_id".to_owned(), tenant_id.to_owned()), ("purpose".to_owned(), PURPOSE.to_owned())])
}

fn aad(tenant_id: &str) -> Vec<u8> {
    [AAD_PREFIX, tenant_id.as_bytes()].concat()
}

/// Builds the local cipher from KMS's plaintext data key and wipes our copy of the key bytes.
fn cipher_from(plaintext_key: Option<Vec<u8>>) -> Result<Aes256Gcm, VaultError> {
    let mut key = plaintext_key.unwrap_or_default();
    let cipher = (key.len() == DATA_KEY_LEN).then(|| Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)));
    key.zeroize();
    cipher.ok_or_else(|| VaultError::Unavailable("KMS returned no 256-bit data key".into()))
}

fn encode(encrypted_key: &[u8], sealed: &[u8]) -> Vec<u8> {
    // The length fits: `generate_data_key` refuses encrypted keys longer than u16::MAX.
    let len = u16::try_from(encrypted_key.len()).unwrap_or(u16::MAX).to_be_bytes();
    [&len[..], encrypted_key, sealed].concat()
}

/// Splits a decoded sealed value into (encrypted data key, nonce || ciphertext).
fn decode(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    (len > 0 && rest.len() > len).then(|| rest.split_at(len))
}

/// A ciphertext KMS refuses (bad blob, other key, other encryption context, i.e. another
/// tenant) cannot be opened; anything else (network, throttling, permissions, disabled key)
/// is the vault being unavailable, and must not be mistaken for corrupt data.
fn decrypt_error(e: SdkError<DecryptError>) -> VaultError {
    match e.as_service_error() {
        Some(DecryptError::InvalidCiphertextException(_) | DecryptError::IncorrectKeyException(_)) => {
            VaultError::CannotOpen
        }
        _ => unavailable("Decrypt", &e),
    }
}

/// The message carries the operation and the SDK's error chain. The secret is never sent to
/// KMS (envelope encryption), so it cannot appear here.
fn unavailable<E, R>(operation: &str, e: &SdkError<E, R>) -> VaultError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: fmt::Debug,
{
    let code = e.code().map(|c| format!(" ({c})")).unwrap_or_default();
    VaultError::Unavailable(format!("KMS {operation} failed{code}: {}", DisplayErrorContext(e)))
}
