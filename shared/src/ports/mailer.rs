//! The mailer port: plain transactional email (welcome and credential emails).
//! AWS: SES v2 simple content. Embedded: an RFC 5322 `.eml` file per message in an outbox folder.
//! The sender address is adapter configuration (`SES_FROM`; locally `Miping <no-reply@miping.local>`).

use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("recipient rejected: {0}")]
    Rejected(String),
    #[error("mailer unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Returns the provider's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}
