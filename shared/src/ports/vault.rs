//! The token vault port: seals a tenant's WhatsApp business token (and other per-tenant
//! secrets such as the registration PIN) so that only ciphertext is ever stored.
//!
//! Semantics (checked by `testkit::vault`): `open(t, seal(t, s)) == s`; a sealed value is bound to
//! its tenant (opening it for another tenant fails); tampering fails; the sealed text never
//! contains the secret; sealing the same secret twice gives different ciphertexts.
//! AWS: KMS envelope encryption (a data key per seal, tenant id as encryption context).
//! Embedded: AES-256-GCM with a key file, tenant id as associated data.

use async_trait::async_trait;
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Wrong tenant, tampered or not a sealed value. Never includes the secret.
    #[error("sealed value cannot be opened")]
    CannotOpen,
    #[error("vault unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait TokenVault: Send + Sync + 'static {
    async fn seal(&self, tenant_id: &str, secret: &SecretString) -> Result<String, VaultError>;
    async fn open(&self, tenant_id: &str, sealed: &str) -> Result<SecretString, VaultError>;
}
