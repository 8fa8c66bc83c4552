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

/// A header value as adapters must write it: control characters (CR and LF above all, which
/// would start a new header such as `Bcc:`) become spaces. Callers validate names up front
/// (422); this is the last line of defence for whatever reaches a header anyway. mail-builder
/// treats a CRLF inside a header value as a fold and writes it through, so it must not get one.
pub fn header_text(value: &str) -> std::borrow::Cow<'_, str> {
    if value.chars().any(char::is_control) {
        std::borrow::Cow::Owned(value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
    } else {
        std::borrow::Cow::Borrowed(value)
    }
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

/// The mailer of a function that sends no email (its `Ports` still need one): every send is
/// `Unavailable` with the reason, so a misrouted send is retried and logged, never lost quietly.
pub struct NoMailer(pub String);

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _: &Email) -> Result<String, MailError> {
        Err(MailError::Unavailable(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_mailer_refuses_with_its_reason() {
        let mailer = NoMailer("built without ses".into());
        let email = Email { to: "a@b.test".into(), subject: "s".into(), text: "t".into(), html: None };
        let err = futures_util::FutureExt::now_or_never(mailer.send(&email)).expect("ready").unwrap_err();
        assert!(matches!(err, MailError::Unavailable(reason) if reason == "built without ses"));
    }

    #[test]
    fn header_text_turns_line_breaks_into_spaces() {
        assert_eq!(header_text("Inj\r\nBcc: evil@attacker.test"), "Inj  Bcc: evil@attacker.test");
        assert_eq!(header_text("tab\there\u{7f}"), "tab here ");
        assert!(matches!(header_text("Olá — plain"), std::borrow::Cow::Borrowed(_)));
    }
}
