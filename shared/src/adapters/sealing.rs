//! AES-256-GCM sealing shared by both token vaults: the embedded one (a key file) and the KMS
//! one (a per-seal data key), so a deployed Lambda gets it without the embedded adapters.

use aes_gcm::Aes256Gcm;
use aes_gcm::Nonce;
use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use secrecy::SecretString;
use secrecy::zeroize::Zeroize;

use crate::ports::vault::VaultError;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// AES-256-GCM with a fresh random nonce; returns nonce || ciphertext || tag.
pub(crate) fn seal_bytes(cipher: &Aes256Gcm, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(&nonce, Payload { msg: plaintext, aad })
        // Only fails for plaintexts of tens of gigabytes; says nothing about the secret.
        .map_err(|_| VaultError::Unavailable("AES-GCM encryption failed".into()))?;
    Ok([nonce.as_slice(), &ciphertext].concat())
}

/// The inverse of [`seal_bytes`]. Any failure (too short, wrong key, wrong associated data,
/// tampering) is `CannotOpen`: GCM cannot tell them apart, and callers need not either.
pub(crate) fn open_bytes(cipher: &Aes256Gcm, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(VaultError::CannotOpen);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad }).map_err(|_| VaultError::CannotOpen)
}

/// Tokens and PINs are text; authenticated bytes that are not UTF-8 were not sealed by us.
pub(crate) fn utf8_secret(plaintext: Vec<u8>) -> Result<SecretString, VaultError> {
    match String::from_utf8(plaintext) {
        Ok(text) => Ok(SecretString::from(text)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(VaultError::CannotOpen)
        }
    }
}
