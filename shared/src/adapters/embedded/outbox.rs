//! The embedded mailer: every email becomes an RFC 5322 `<ulid>.eml` file in an outbox folder,
//! which a developer opens in any mail client and tests read back with [`read_outbox`].
//!
//! Files appear atomically (written under a dot-prefixed temporary name in the same folder, then
//! renamed), so a reader never sees half a message. ULIDs sort by time, so the folder listing is
//! the sending order (to the millisecond).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_parser::MessageParser;

use crate::ports::mailer::{Email, MailError, Mailer, header_text};

const EXTENSION: &str = "eml";

#[derive(Clone, Debug)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    /// `from` is a mailbox, either `addr@host` or `Display Name <addr@host>`. Creates `dir`.
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Result<Self, MailError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| unavailable(&dir, &e))?;
        Ok(Self { dir, from: from.into() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn render(&self, email: &Email, id: &str) -> Result<Vec<u8>, MailError> {
        if email.to.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(MailError::Rejected("the recipient address contains control characters".into()));
        }
        let (name, address) = split_mailbox(&self.from);
        let from = Address::new_address(name, address);
        let domain = address.rsplit_once('@').map_or("miping.local", |(_, d)| d);
        let mut message = MessageBuilder::new()
            .from(from)
            .to(email.to.as_str())
            .subject(header_text(&email.subject))
            .date(chrono::Utc::now().timestamp())
            .message_id(format!("{id}@{domain}"))
            .text_body(email.text.as_str());
        if let Some(html) = &email.html {
            // With both bodies mail-builder writes multipart/alternative, text first.
            message = message.html_body(html.as_str());
        }
        message.write_to_vec().map_err(|e| MailError::Unavailable(format!("cannot render email: {e}")))
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    /// Returns the file's ULID, which is also the local part of its `Message-ID`.
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let id = ulid::Ulid::new().to_string();
        let bytes = self.render(email, &id)?;
        let dir = self.dir.clone();
        let name = id.clone();
        tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
            .await
            .map_err(|e| MailError::Unavailable(format!("outbox writer task failed: {e}")))??;
        Ok(id)
    }
}

/// Writes `<dir>/.<name>.eml.tmp`, syncs it, then renames it to `<dir>/<name>.eml`: the rename
/// within one folder is atomic, and the sync makes sure the renamed file is not empty after a crash.
/// The file is readable by its owner only (0600, like the key files): welcome and reset emails
/// carry one-time passwords and links.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MailError> {
    let tmp = dir.join(format!(".{name}.{EXTENSION}.tmp"));
    let target = dir.join(format!("{name}.{EXTENSION}"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &target));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        unavailable(&target, &e)
    })
}

/// `Name <addr>` → (Some("Name"), "addr"); `addr` → (None, "addr").
fn split_mailbox(mailbox: &str) -> (Option<&str>, &str) {
    let mailbox = mailbox.trim();
    match (mailbox.rfind('<'), mailbox.strip_suffix('>')) {
        (Some(open), Some(inner)) => {
            let name = mailbox[..open].trim().trim_matches('"').trim();
            ((!name.is_empty()).then_some(name), &inner[open + 1..])
        }
        _ => (None, mailbox),
    }
}

fn unavailable(path: &Path, e: &std::io::Error) -> MailError {
    MailError::Unavailable(format!("outbox {}: {e}", path.display()))
}

/// One message of an outbox folder, as read back by [`read_outbox`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEmail {
    pub path: PathBuf,
    pub to: String,
    pub subject: String,
    /// The text/plain body, decoded.
    pub text: String,
    /// The text/html alternative, decoded, when the message has one.
    pub html: Option<String>,
}

/// Every `.eml` in `dir`, oldest first (by ULID file name). For tests and tooling: a missing
/// folder is an empty outbox, and files that cannot be read or parsed are skipped with a warning.
/// Headers are unfolded and RFC 2047 words, quoted-printable and base64 bodies decoded; line
/// ends come back as `\n` (mail-builder writes every line end as CRLF, as RFC 5322 wants).
pub fn read_outbox(dir: &Path) -> Vec<OutboxEmail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> =
        entries.filter_map(|entry| entry.ok().map(|e| e.path())).filter(|path| is_outbox_file(path)).collect();
    paths.sort();
    paths.into_iter().filter_map(read_email).collect()
}

fn is_outbox_file(path: &Path) -> bool {
    let visible = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.'));
    visible && path.extension().is_some_and(|ext| ext == EXTENSION)
}

fn read_email(path: PathBuf) -> Option<OutboxEmail> {
    let bytes = std::fs::read(&path).inspect_err(|e| tracing::warn!(path = %path.display(), "unreadable: {e}")).ok()?;
    let Some(parsed) = parse_email(&bytes) else {
        tracing::warn!(path = %path.display(), "not an email");
        return None;
    };
    Some(OutboxEmail { path, to: parsed.to, subject: parsed.subject, text: parsed.text, html: parsed.html })
}

/// What a reader checks of one RFC 5322 message (an outbox file, or what an SMTP server received).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedEmail {
    /// The first `To` address.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Parses a message as [`read_outbox`] does; `None` when it is not an email.
pub fn parse_email(bytes: &[u8]) -> Option<ParsedEmail> {
    let message = MessageParser::default().parse(bytes)?;
    let to = message.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
    let subject = message.subject().unwrap_or_default().to_owned();
    // Only a real text/plain part counts as text (mail-parser would derive one from HTML), and
    // only a real text/html part as html (it would derive one from text).
    let text = message
        .text_part(0)
        .filter(|p| p.is_text() && !p.is_text_html())
        .and_then(|_| message.body_text(0))
        .map(normalize_newlines)
        .unwrap_or_default();
    let html =
        message.html_part(0).filter(|p| p.is_text_html()).and_then(|_| message.body_html(0)).map(normalize_newlines);
    Some(ParsedEmail { to, subject, text, html })
}

/// Mail puts CRLF at every line end; the `Email`s we send use `\n`.
fn normalize_newlines(body: std::borrow::Cow<'_, str>) -> String {
    body.replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn emails_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path(), "Miping <no-reply@miping.local>").unwrap();
        let email =
            Email { to: "a@example.com".into(), subject: "Hi".into(), text: "One-time password: x".into(), html: None };
        let id = mailer.send(&email).await.unwrap();
        let mode = std::fs::metadata(dir.path().join(format!("{id}.eml"))).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }

    #[tokio::test]
    async fn a_recipient_with_a_line_break_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(dir.path(), "no-reply@miping.local").unwrap();
        let email = Email {
            to: "a@example.com\r\nBcc: b@example.com".into(),
            subject: "Hi".into(),
            text: "x".into(),
            html: None,
        };
        assert!(matches!(mailer.send(&email).await, Err(MailError::Rejected(_))));
        assert!(read_outbox(dir.path()).is_empty());
    }
}
