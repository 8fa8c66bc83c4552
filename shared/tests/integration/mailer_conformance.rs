//! The mailer conformance suite on both adapters (SES v2 on moto, read back from moto's
//! `/moto-api/data.json`), plus adapter-specific checks: the `.eml` files, HTML alternatives,
//! SES error mapping.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use miping::adapters::aws::ses::SesMailer;
use miping::adapters::embedded::outbox::{OutboxMailer, read_outbox};
use miping::ports::mailer::{Email, MailError, Mailer};
use miping::testkit::mailer::{MailReader, SentEmail};
use miping::testkit::unique;

// ---- embedded ----------------------------------------------------------------------------

/// Reads the outbox folder, and owns the temporary folder around it so it lives as long as the test.
struct OutboxReader {
    outbox: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

#[async_trait]
impl MailReader for OutboxReader {
    async fn delivered(&self) -> Vec<SentEmail> {
        read_outbox(&self.outbox)
            .into_iter()
            .map(|m| SentEmail { to: m.to, subject: m.subject, text: m.text })
            .collect()
    }
}

async fn outbox() -> (Arc<dyn Mailer>, OutboxReader) {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = dir.path().join("outbox");
    let mailer = OutboxMailer::new(&outbox, "Miping <no-reply@miping.local>").expect("outbox");
    let reader = OutboxReader { outbox, _tmp: dir };
    (Arc::new(mailer), reader)
}

mod embedded {
    miping::mailer_conformance!(super::outbox());
}

// ---- aws (moto) --------------------------------------------------------------------------

/// Reads every message moto's SES has accepted. The suite filters by its unique recipients.
struct MotoSesReader;

#[async_trait]
impl MailReader for MotoSesReader {
    async fn delivered(&self) -> Vec<SentEmail> {
        moto_sent_messages().await.into_iter().flat_map(to_sent_emails).collect()
    }
}

/// The raw `ses` → `Message` records of moto's state dump (all accounts and regions).
async fn moto_sent_messages() -> Vec<serde_json::Value> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let data: serde_json::Value =
        reqwest::get(&url).await.expect("GET data.json").json().await.expect("data.json is JSON");
    let mut found = Vec::new();
    collect_messages(&data["ses"]["Message"], &mut found);
    found
}

/// Messages sit under account and region keys; find them by shape rather than depth.
fn collect_messages(value: &serde_json::Value, found: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Object(map) if map.contains_key("destinations") => found.push(value.clone()),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_messages(v, found)),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_messages(v, found)),
        _ => {}
    }
}

fn to_sent_emails(message: serde_json::Value) -> Vec<SentEmail> {
    let text = |key: &str| message[key].as_str().unwrap_or_default().to_owned();
    let to = message["destinations"]["ToAddresses"].as_array().cloned().unwrap_or_default();
    to.iter()
        .filter_map(|address| address.as_str())
        .map(|address| SentEmail { to: address.to_owned(), subject: text("subject"), text: text("body") })
        .collect()
}

async fn ses_client() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&miping::testkit::moto::sdk_config().await)
}

/// A sender address of its own per test, verified (moto verifies at once) and with a display name.
async fn verified_sender(client: &aws_sdk_sesv2::Client) -> String {
    let address = format!("{}@miping.test", unique("no-reply"));
    client.create_email_identity().email_identity(&address).send().await.expect("CreateEmailIdentity");
    format!("Miping <{address}>")
}

async fn ses() -> (Arc<dyn Mailer>, MotoSesReader) {
    let client = ses_client().await;
    let from = verified_sender(&client).await;
    (Arc::new(SesMailer::new(client, from)), MotoSesReader)
}

mod aws {
    miping::mailer_conformance!(super::ses());
}

// ---- adapter-specific ----------------------------------------------------------------------

fn welcome(to: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Bem-vindo — ₹100".into(),
        text: "Olá!\nA sua conta está pronta.".into(),
        html: Some("<p>Olá!</p><p>A sua conta está <b>pronta</b>.</p>".into()),
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn outbox_writes_one_complete_eml_per_message_named_by_its_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox_dir = dir.path().join("nested").join("outbox");
    let mailer = OutboxMailer::new(&outbox_dir, "Miping <no-reply@miping.local>").expect("outbox");
    let id = mailer.send(&welcome("ana@example.com")).await.expect("send");

    // Only the final file: the temporary one was renamed, not copied.
    assert_eq!(file_names(&outbox_dir), vec![format!("{id}.eml")]);
    let raw = std::fs::read_to_string(outbox_dir.join(format!("{id}.eml"))).expect("read eml");
    let (headers, _) = raw.split_once("\r\n\r\n").expect("header/body separator");
    for expected in ["From: \"Miping\" <no-reply@miping.local>", "To: <ana@example.com>", "Date: "] {
        assert!(headers.contains(expected), "missing {expected:?} in:\n{headers}");
    }
    assert!(headers.contains(&format!("Message-ID: <{id}@miping.local>")), "{headers}");
    assert!(raw.lines().all(|l| l.len() <= 998), "a line longer than RFC 5322 allows");
}

#[tokio::test]
async fn outbox_keeps_the_html_alternative() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mailer = OutboxMailer::new(dir.path(), "no-reply@miping.local").expect("outbox");
    let email = welcome("ana@example.com");
    mailer.send(&email).await.expect("send");
    mailer.send(&Email { html: None, ..email.clone() }).await.expect("send text only");

    let got = read_outbox(dir.path());
    assert_eq!(got.len(), 2);
    assert_eq!((&got[0].to, &got[0].subject, &got[0].text), (&email.to, &email.subject, &email.text));
    assert_eq!(got[0].html, email.html, "html alternative");
    assert_eq!(got[1].text, email.text);
    assert_eq!(got[1].html, None, "a text-only email has no html part");
}

#[tokio::test]
async fn read_outbox_of_a_missing_folder_is_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(read_outbox(&dir.path().join("never-created")).is_empty());
}

/// moto keeps only one body per message: the HTML one when both are sent (a moto simplification;
/// SES itself sends multipart/alternative). So this checks that the HTML part reaches SES.
#[tokio::test]
async fn ses_sends_the_html_alternative() {
    let (mailer, _) = ses().await;
    let to = format!("{}@example.com", unique("html"));
    let email = welcome(&to);
    mailer.send(&email).await.expect("send");
    let got: Vec<_> = moto_sent_messages().await.into_iter().flat_map(to_sent_emails).filter(|m| m.to == to).collect();
    assert_eq!(got.len(), 1);
    assert_eq!(Some(&got[0].text), email.html.as_ref(), "moto stores the html body when there is one");
}

#[tokio::test]
async fn ses_unverified_sender_is_rejected() {
    let mailer = SesMailer::new(ses_client().await, format!("{}@unverified.test", unique("nobody")));
    let err = mailer.send(&welcome("ana@example.com")).await.expect_err("unverified sender accepted");
    assert!(matches!(err, MailError::Rejected(_)), "{err:?}");
}

#[tokio::test]
async fn ses_unreachable_is_unavailable() {
    let sdk = miping::testkit::moto::sdk_config().await;
    let config = aws_sdk_sesv2::config::Builder::from(&sdk)
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
        .build();
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::from_conf(config), "no-reply@miping.test");
    let err = mailer.send(&welcome("ana@example.com")).await.expect_err("sent without SES");
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
}

// ---- SMTP (a local sink) -------------------------------------------------------------------

mod smtp {
    use std::sync::Arc;

    use miping::adapters::smtp::SmtpMailer;
    use miping::ports::mailer::{Email, MailError, Mailer};
    use miping::testkit::smtp_sink::{SinkOptions, SmtpSink};
    use secrecy::SecretString;

    const FROM: &str = "Miping <no-reply@miping.test>";

    fn mailer_for(url: &str, from: &str) -> SmtpMailer {
        SmtpMailer::new(&SecretString::from(url.to_owned()), from).expect("SMTP mailer")
    }

    async fn sink_and_mailer(options: SinkOptions) -> (SmtpSink, SmtpMailer) {
        let sink = SmtpSink::start(options).await;
        let mailer = mailer_for(&sink.url(), FROM);
        (sink, mailer)
    }

    pub(super) async fn make() -> (Arc<dyn Mailer>, SmtpSink) {
        let (sink, mailer) = sink_and_mailer(SinkOptions::default()).await;
        (Arc::new(mailer), sink)
    }

    mod conformance {
        miping::mailer_conformance!(super::make());
    }

    fn email(to: &str, subject: &str) -> Email {
        Email { to: to.into(), subject: subject.into(), text: "One-time password: secret".into(), html: None }
    }

    /// Header lines with their folds joined, as a mail reader sees them.
    fn unfolded_headers(raw: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for line in raw.split("\r\n") {
            match out.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => out.push(line.to_owned()),
            }
        }
        out
    }

    #[tokio::test]
    async fn a_line_break_in_the_subject_creates_no_header_and_no_recipient() {
        let (sink, mailer) = sink_and_mailer(SinkOptions::default()).await;
        mailer
            .send(&email("ana@example.com", "Your account for Inj\r\nBcc: evil@attacker.test\r\nX-Evil: 1"))
            .await
            .expect("send");
        let received = sink.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].rcpt_to, vec!["ana@example.com".to_string()], "envelope recipients");
        let headers = unfolded_headers(&received[0].headers());
        let names: Vec<&str> = headers.iter().filter_map(|h| h.split_once(':').map(|(n, _)| n)).collect();
        assert!(
            !names.iter().any(|n| n.eq_ignore_ascii_case("bcc") || n.eq_ignore_ascii_case("x-evil")),
            "{headers:#?}"
        );
        assert_eq!(names.iter().filter(|n| n.eq_ignore_ascii_case("subject")).count(), 1, "{headers:#?}");
        let parsed = miping::adapters::embedded::outbox::parse_email(&received[0].data).expect("an email");
        assert_eq!(parsed.subject, "Your account for Inj  Bcc: evil@attacker.test  X-Evil: 1");
    }

    #[tokio::test]
    async fn a_line_break_in_the_sender_name_creates_no_header() {
        let sink = SmtpSink::start(SinkOptions::default()).await;
        let evil_from = "\"Miping\r\nBcc: evil@attacker.test\" <no-reply@miping.test>";
        // Refusing the configuration is as good as encoding the name; injecting a header is not.
        let Ok(mailer) = SmtpMailer::new(&SecretString::from(sink.url()), evil_from) else { return };
        mailer.send(&email("ana@example.com", "Hi")).await.expect("send");
        let received = sink.received();
        assert_eq!(received[0].rcpt_to, vec!["ana@example.com".to_string()]);
        let headers = unfolded_headers(&received[0].headers());
        assert!(!headers.iter().any(|h| h.to_ascii_lowercase().starts_with("bcc:")), "{headers:#?}");
    }

    #[tokio::test]
    async fn a_recipient_with_a_line_break_is_rejected_unsent() {
        let (sink, mailer) = sink_and_mailer(SinkOptions::default()).await;
        let err = mailer.send(&email("ana@example.com\r\nBcc: evil@attacker.test", "Hi")).await.expect_err("sent");
        assert!(matches!(err, MailError::Rejected(_)), "{err:?}");
        assert!(sink.received().is_empty());
    }

    #[tokio::test]
    async fn it_authenticates_with_the_url_credentials_and_never_shows_the_password() {
        let options =
            SinkOptions { credentials: Some(("mailer".into(), "p@ss w/rd".into())), ..SinkOptions::default() };
        let sink = SmtpSink::start(options).await;
        let url = format!("smtp://mailer:p%40ss%20w%2Frd@{}", sink.addr());
        mailer_for(&url, FROM).send(&email("ana@example.com", "Hi")).await.expect("send with AUTH");
        assert_eq!(sink.received()[0].user.as_deref(), Some("mailer"));

        let wrong = mailer_for(&format!("smtp://mailer:wrong-secret@{}", sink.addr()), FROM);
        let err = wrong.send(&email("ana@example.com", "Hi")).await.expect_err("wrong password accepted");
        assert!(matches!(err, MailError::Rejected(_)), "a 535 is permanent: {err:?}");
        assert!(!err.to_string().contains("wrong-secret"), "{err}");
        assert!(!format!("{wrong:?}").contains("wrong-secret"));
        assert_eq!(sink.received().len(), 1);
    }

    /// Texts ending with and without line breaks, or empty, arrive as sent, in a well-formed email.
    #[tokio::test]
    async fn texts_arrive_exactly_whatever_their_last_line() {
        let (sink, mailer) = sink_and_mailer(SinkOptions::default()).await;
        let texts =
            ["", "a", "a\n", "a\n\n", "ends with =", "ends with a soft break candidate ===", ".\n.leading dots\n."];
        for text in texts {
            mailer
                .send(&Email { to: "ana@example.com".into(), subject: "s".into(), text: text.into(), html: None })
                .await
                .expect("send");
        }
        for (text, received) in texts.iter().zip(sink.received()) {
            let parsed = miping::adapters::embedded::outbox::parse_email(&received.data).expect("an email");
            assert_eq!((parsed.subject.as_str(), parsed.to.as_str()), ("s", "ana@example.com"));
            // An empty body comes out as one empty line: SMTP ends every message with a line end.
            let expected = if text.is_empty() { "\n" } else { text };
            assert_eq!(parsed.text, expected, "{text:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_recipient_is_rejected() {
        let options = SinkOptions { refuse_recipients_containing: Some("nobody".into()), ..SinkOptions::default() };
        let (sink, mailer) = sink_and_mailer(options).await;
        let err = mailer.send(&email("nobody@example.com", "Hi")).await.expect_err("sent");
        assert!(matches!(err, MailError::Rejected(_)), "{err:?}");
        assert!(sink.received().is_empty());
    }

    #[tokio::test]
    async fn starttls_required_never_falls_back_to_plain_text() {
        // The sink offers no STARTTLS: the password and the email must not go out in the clear.
        let sink = SmtpSink::start(SinkOptions::default()).await;
        let mailer = mailer_for(&format!("smtp://mailer:secret@{}?starttls=true", sink.addr()), FROM);
        let err = mailer.send(&email("ana@example.com", "Hi")).await.expect_err("sent without TLS");
        assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
        assert!(sink.received().is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let err = mailer_for("smtp://127.0.0.1:1", FROM).send(&email("ana@example.com", "Hi")).await.expect_err("sent");
        assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn it_sends_the_html_alternative_from_the_configured_sender() {
        let (sink, mailer) = sink_and_mailer(SinkOptions::default()).await;
        let email = super::welcome("ana@example.com");
        let id = mailer.send(&email).await.expect("send");
        let received = sink.received();
        assert_eq!(received[0].mail_from, "no-reply@miping.test");
        let parsed = miping::adapters::embedded::outbox::parse_email(&received[0].data).expect("an email");
        assert_eq!((parsed.text.as_str(), parsed.html.as_deref()), (email.text.as_str(), email.html.as_deref()));
        let headers = received[0].headers();
        assert!(headers.contains(&format!("Message-ID: <{id}@miping.test>")), "{headers}");
    }

    /// The embedded platform's choice: `SMTP_URL` set → the mail server, not the outbox.
    #[tokio::test]
    async fn the_embedded_platform_sends_through_smtp_when_smtp_url_is_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = dir.path().join("outbox");
        let sink = SmtpSink::start(SinkOptions::default()).await;
        let url = Some(SecretString::from(sink.url()));
        let mailer = miping::platform::embedded::mailer(url, Some(FROM.into()), &outbox).expect("mailer");
        mailer.send(&email("ana@example.com", "Hi")).await.expect("send");
        assert_eq!(sink.received().len(), 1);
        assert!(miping::adapters::embedded::outbox::read_outbox(&outbox).is_empty());

        let outbox_mailer = miping::platform::embedded::mailer(None, None, &outbox).expect("mailer");
        outbox_mailer.send(&email("ana@example.com", "Hi")).await.expect("send");
        assert_eq!(miping::adapters::embedded::outbox::read_outbox(&outbox).len(), 1);
        assert_eq!(sink.received().len(), 1);

        let bad = miping::platform::embedded::mailer(Some(SecretString::from("smtps://u:hunter2@")), None, &outbox);
        let message = bad.err().expect("a URL without host is refused").to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
