//! Conformance suite for [`Mailer`] adapters. Each case takes the mailer under test and a
//! [`MailReader`] that shows what was delivered (the outbox folder, moto's sent-mail store, …);
//! the [`mailer_conformance!`](crate::mailer_conformance) macro turns them into one test each:
//!
//! ```ignore
//! mod outbox { miping::mailer_conformance!(async { (mailer_arc, reader) }); }
//! ```
//!
//! Recipients are unique per case, and a case looks only at mail to its own recipients, so a
//! reader may return everything its backend ever delivered (a shared moto server, say).

use std::future::Future;

use async_trait::async_trait;

use super::unique;
use crate::ports::mailer::{Email, Mailer};

/// An email as the receiving side saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// What a mailer has delivered so far: at least every email sent in this test.
#[async_trait]
pub trait MailReader: Send + Sync {
    async fn delivered(&self) -> Vec<SentEmail>;
}

/// Any `Fn() -> impl Future<Output = Vec<SentEmail>>` closure is a reader.
pub struct FnReader<F>(pub F);

#[async_trait]
impl<F, Fut> MailReader for FnReader<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Vec<SentEmail>> + Send,
{
    async fn delivered(&self) -> Vec<SentEmail> {
        (self.0)().await
    }
}

fn recipient() -> String {
    format!("{}@example.com", unique("to"))
}

/// The text of a real credential email: non-ASCII, several lines, one longer than the 998
/// characters RFC 5322 allows on a line, so the adapter must encode rather than pass it through.
fn rich_text() -> String {
    let long_line: String = (0..1100).map(|i| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36])).collect();
    format!(
        "Olá — ₹100 de crédito.\n\nAtive a sua conta: https://miping.example/activate?t={long_line}\n\nObrigado, equipa Miping 🚀"
    )
}

async fn send(mailer: &dyn Mailer, email: &Email) -> String {
    match mailer.send(email).await {
        Ok(id) => id,
        Err(e) => panic!("send to {} failed: {e}", email.to),
    }
}

async fn delivered_to(reader: &dyn MailReader, to: &str) -> Vec<SentEmail> {
    reader.delivered().await.into_iter().filter(|m| m.to == to).collect()
}

/// One email arrives once, with exactly the recipient, subject and text that were sent.
pub async fn one_email_delivered_exactly(mailer: &dyn Mailer, reader: &dyn MailReader) {
    let email = Email {
        to: recipient(),
        subject: "Bem-vindo à Miping — ₹100 de crédito".into(),
        text: rich_text(),
        html: None,
    };
    send(mailer, &email).await;
    let got = delivered_to(reader, &email.to).await;
    let expected = SentEmail { to: email.to.clone(), subject: email.subject.clone(), text: email.text.clone() };
    assert_eq!(got, vec![expected]);
}

/// Several emails in a row each arrive exactly once, each with its own subject and text.
pub async fn several_emails_each_delivered_once(mailer: &dyn Mailer, reader: &dyn MailReader) {
    let emails: Vec<Email> = (1..=3)
        .map(|i| Email {
            to: recipient(),
            subject: format!("Message {i} of 3"),
            text: format!("Body number {i}.\nSecond line {i}.\n"),
            html: None,
        })
        .collect();
    for email in &emails {
        send(mailer, email).await;
    }
    for email in &emails {
        let got = delivered_to(reader, &email.to).await;
        assert_eq!(got.len(), 1, "{} delivered {} times", email.to, got.len());
        assert_eq!((&got[0].subject, &got[0].text), (&email.subject, &email.text));
    }
}

/// Message ids are non-empty and distinct, even for the same email sent twice to one recipient.
pub async fn message_ids_are_distinct(mailer: &dyn Mailer, reader: &dyn MailReader) {
    let email = Email { to: recipient(), subject: "Same email".into(), text: "Sent twice.".into(), html: None };
    let first = send(mailer, &email).await;
    let second = send(mailer, &email).await;
    let other = send(mailer, &Email { to: recipient(), ..email.clone() }).await;
    assert!(!first.is_empty(), "empty message id");
    assert!(first != second && second != other && first != other, "ids repeat: {first} {second} {other}");
    assert_eq!(delivered_to(reader, &email.to).await.len(), 2, "an email sent twice is delivered twice");
}

/// A subject carrying a line break (a tenant named `Inj\r\nBcc: …`) stays one subject: no header
/// is injected, the text arrives with the break as spaces, and nobody else gets the email.
pub async fn a_line_break_in_the_subject_injects_no_header(mailer: &dyn Mailer, reader: &dyn MailReader) {
    let evil = recipient();
    let email = Email {
        to: recipient(),
        subject: format!("Your account for Inj\r\nBcc: {evil}"),
        text: "One-time password: secret".into(),
        html: None,
    };
    send(mailer, &email).await;
    let got = delivered_to(reader, &email.to).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, format!("Your account for Inj  Bcc: {evil}"));
    assert!(delivered_to(reader, &evil).await.is_empty(), "the injected Bcc received the email");
}

/// One `#[tokio::test]` per conformance case. `$make` is an async expression (evaluated afresh
/// for each test) yielding `(Arc<dyn Mailer>, R)` with `R: MailReader`; the reader lives as long
/// as the test, so it can own a temporary folder. The calling crate needs `tokio`.
#[macro_export]
macro_rules! mailer_conformance {
    ($make:expr) => {
        $crate::mailer_conformance!(@cases $make;
            one_email_delivered_exactly,
            several_emails_each_delivered_once,
            message_ids_are_distinct,
            a_line_break_in_the_subject_injects_no_header,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let (mailer, reader): (::std::sync::Arc<dyn $crate::ports::mailer::Mailer>, _) = $make.await;
                $crate::testkit::mailer::$case(&*mailer, &reader).await;
            }
        )*
    };
}
