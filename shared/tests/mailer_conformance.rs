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
