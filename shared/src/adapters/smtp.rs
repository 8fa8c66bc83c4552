//! The SMTP mailer (feature `smtp`): the local process sends real email through a mail server
//! when `SMTP_URL` is set (self-hosting), instead of writing `.eml` files.
//!
//! `SMTP_URL` forms (lettre's connection URLs, plus `starttls=true` as SPEC writes it):
//!
//! | URL | connection |
//! | --- | --- |
//! | `smtps://user:pass@host` | TLS from the start (port 465 unless given) |
//! | `smtp://user:pass@host:587?starttls=true` (or `?tls=required`) | plain, upgraded with STARTTLS, refused without it |
//! | `smtp://host:25` | plain, no TLS: a relay on the same machine or network only |
//!
//! User and password are percent-encoded in the URL (`p%40ss` for `p@ss`). The URL is a secret:
//! it is kept as a [`SecretString`] and only its redacted form (`smtps://user:***@host:465`)
//! appears in `Debug`, errors and logs. TLS is rustls on aws-lc-rs with the platform's roots, as
//! every other client of the workspace.
//!
//! Messages are built with lettre's builder, whose header encoder writes any value with
//! characters outside printable ASCII (CR and LF included) as RFC 2047 encoded words, so a
//! subject cannot start a header; control characters in the subject are made spaces first, as
//! the other mailers do. Recipients are parsed as addresses (a line break is no address).

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::ports::mailer::{Email, MailError, Mailer, header_text};

/// How long one SMTP conversation (connect, TLS, AUTH, DATA) may take before it is `Unavailable`
/// and retried by the mail queue.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `SMTP_URL` or `SMTP_FROM` could not be used. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SmtpConfigError(String);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `SMTP_URL` without its password, for Debug and error messages.
    endpoint: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("endpoint", &self.endpoint).field("from", &self.from.to_string()).finish()
    }
}

impl SmtpMailer {
    /// `url` is `SMTP_URL` (see the module docs); `from` a mailbox, `addr@host` or
    /// `Name <addr@host>`. Nothing is connected until the first email.
    pub fn new(url: &SecretString, from: &str) -> Result<Self, SmtpConfigError> {
        let parsed = url::Url::parse(url.expose_secret())
            // url's errors never quote the input.
            .map_err(|e| SmtpConfigError(format!("SMTP_URL is not a URL: {e}")))?;
        let endpoint = redacted(&parsed);
        let lettre_url = lettre_url(&parsed).map_err(|e| SmtpConfigError(format!("SMTP_URL {endpoint}: {e}")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)
            .map_err(|e| SmtpConfigError(format!("SMTP_URL {endpoint}: {e}")))?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| SmtpConfigError(format!("SMTP_FROM {from:?}: {e}")))?;
        Ok(Self { transport, from, endpoint })
    }

    fn message(&self, email: &Email, id: &str) -> Result<Message, MailError> {
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|e| MailError::Rejected(format!("recipient {:?} is not an address: {e}", email.to)))?;
        let domain = self.from.email.domain();
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_text(&email.subject).into_owned())
            .date_now()
            .message_id(Some(format!("<{id}@{domain}>")));
        let built = match &email.html {
            None => {
                // Quoted-printable always, so that the end of the text can be a soft line break
                // (see `wire_form`).
                let body = Body::new_with_encoding(email.text.clone(), ContentTransferEncoding::QuotedPrintable)
                    .map_err(|_| MailError::Rejected("the text cannot be encoded".into()))?;
                builder.singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body))
            }
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), html.clone())),
        };
        built.map_err(|e| MailError::Rejected(format!("cannot build the email: {e}")))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    /// Returns a new ULID, also the local part of the `Message-ID` (servers' own queue ids are
    /// free text in their reply, not something to rely on).
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let id = ulid::Ulid::new().to_string();
        let message = self.message(email, &id)?;
        let raw = wire_form(message.formatted(), email.html.is_none(), &email.text);
        self.transport.send_raw(message.envelope(), &raw).await.map_err(|e| {
            let reason = format!("SMTP {}: {e}", self.endpoint);
            // 5xx: the server refused this message or recipient for good. Everything else
            // (4xx, connection, TLS, timeout) may pass on a retry.
            if e.is_permanent() { MailError::Rejected(reason) } else { MailError::Unavailable(reason) }
        })?;
        Ok(id)
    }
}

/// The message as it must go into DATA for the receiver to get exactly the text sent (the
/// mailer conformance suite compares it byte for byte). lettre ends DATA with `CRLF . CRLF` even
/// when the message already ends with CRLF, which adds an empty line, and writes a CRLF after a
/// single part's body, which adds another: both come off. SMTP then still ends the last line
/// with CRLF; a text that does not end with a line break gets a quoted-printable soft break
/// (`=`) there, which decoding removes together with that CRLF.
fn wire_form(mut formatted: Vec<u8>, single_part: bool, text: &str) -> Vec<u8> {
    // An empty single part has no body line to take a CRLF from (only the header separator).
    let single_part = single_part && !text.is_empty();
    let extra = if single_part { 2 } else { 1 };
    for _ in 0..extra {
        if formatted.ends_with(b"\r\n") {
            formatted.truncate(formatted.len() - 2);
        }
    }
    // A trailing `=` is a soft break already (an escape ends in hex digits).
    if single_part && !text.ends_with('\n') && !formatted.ends_with(b"=") {
        formatted.push(b'=');
    }
    formatted
}

/// The URL lettre understands: `starttls=true` becomes `tls=required` (a STARTTLS that cannot
/// happen fails the send, never falls back to plain text).
fn lettre_url(url: &url::Url) -> Result<String, String> {
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err(format!("scheme {:?} is neither smtp nor smtps", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    let mut tls = None;
    for (name, value) in url.query_pairs() {
        let mode = match (name.as_ref(), value.as_ref()) {
            ("starttls", "true") | ("tls", "required") => Some("required"),
            ("starttls", "false") => None,
            ("tls", "opportunistic") => Some("opportunistic"),
            _ => return Err(format!("unknown parameter {name}={value} (starttls=true, tls=required|opportunistic)")),
        };
        tls = mode.or(tls);
    }
    if url.scheme() == "smtps" && tls.is_some() {
        return Err("smtps is TLS already: starttls applies to smtp:// only".into());
    }
    let mut out = url.clone();
    out.set_query(tls.map(|mode| format!("tls={mode}")).as_deref());
    Ok(out.into())
}

/// The URL with its password replaced, for messages.
fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        // Only fails for URLs that cannot have credentials, which then have no password.
        let _ = shown.set_password(Some("***"));
    }
    shown.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lettre(url: &str) -> Result<String, String> {
        lettre_url(&url::Url::parse(url).unwrap())
    }

    #[test]
    fn starttls_true_requires_starttls() {
        assert_eq!(
            lettre("smtp://u:p@mail.example.com:587?starttls=true").unwrap(),
            "smtp://u:p@mail.example.com:587?tls=required"
        );
        assert_eq!(
            lettre("smtp://mail.example.com:587?tls=required").unwrap(),
            "smtp://mail.example.com:587?tls=required"
        );
        assert_eq!(lettre("smtp://mail.example.com?starttls=false").unwrap(), "smtp://mail.example.com");
        assert_eq!(lettre("smtps://u:p%40ss@mail.example.com").unwrap(), "smtps://u:p%40ss@mail.example.com");
        assert_eq!(lettre("smtp://127.0.0.1:25").unwrap(), "smtp://127.0.0.1:25");
    }

    #[test]
    fn unknown_schemes_and_parameters_are_refused() {
        assert!(lettre("http://mail.example.com").is_err());
        assert!(lettre("smtp://mail.example.com?starttls=maybe").is_err());
        assert!(lettre("smtp://mail.example.com?tls=none").is_err());
        assert!(lettre("smtps://mail.example.com?starttls=true").is_err());
    }

    #[test]
    fn the_password_never_shows() {
        let url = SecretString::from("smtps://mailer:s3cr%2Ft-pw@mail.example.com:465");
        let mailer = SmtpMailer::new(&url, "Miping <no-reply@example.com>").unwrap();
        let debug = format!("{mailer:?}");
        assert!(debug.contains("smtps://mailer:***@mail.example.com:465"), "{debug}");
        assert!(!debug.contains("s3cr"), "{debug}");
        for bad in [
            "smtps://mailer:s3cr%2Ft-pw@mail.example.com:465?starttls=true",
            "ftp://mailer:s3cr%2Ft-pw@mail.example.com",
            "smtp://mailer:s3cr%2Ft-pw@mail.example.com?tls=bogus",
        ] {
            let err = SmtpMailer::new(&SecretString::from(bad), "a@example.com").unwrap_err().to_string();
            assert!(!err.contains("s3cr"), "{err}");
            assert!(err.contains("***"), "{err}");
        }
        let not_a_url =
            SmtpMailer::new(&SecretString::from("smtps://mailer:s3cr t@[bad"), "a@example.com").unwrap_err();
        assert!(!not_a_url.to_string().contains("s3cr"), "{not_a_url}");
    }

    #[test]
    fn a_bad_sender_is_a_configuration_error() {
        let url = SecretString::from("smtp://127.0.0.1:25");
        assert!(SmtpMailer::new(&url, "not an address").is_err());
        assert!(SmtpMailer::new(&url, "Miping <no-reply@example.com>").is_ok());
    }
}
