//! The AWS mailer: SES v2 `SendEmail` with simple content (subject, text body and optional HTML
//! body, all UTF-8). SES builds the MIME message itself; the subject still has its control
//! characters replaced first (`header_text`), as in the outbox adapter.

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::ports::mailer::{Email, MailError, Mailer, header_text};

const CHARSET: &str = "UTF-8";

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    /// `from` must be a verified SES identity (address or domain), optionally with a display
    /// name: `Miping <no-reply@example.com>`.
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self { client, from: from.into() }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    /// Returns SES's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(simple_message(email)?).build())
            .send()
            .await
            .map_err(send_error)?;
        out.message_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| MailError::Unavailable("SES SendEmail returned no message id".into()))
    }
}

fn simple_message(email: &Email) -> Result<Message, MailError> {
    let mut body = Body::builder().text(utf8(&email.text)?);
    if let Some(html) = &email.html {
        body = body.html(utf8(html)?);
    }
    Ok(Message::builder().subject(utf8(&header_text(&email.subject))?).body(body.build()).build())
}

fn utf8(data: &str) -> Result<Content, MailError> {
    // Only fails when `data` is unset, which it never is here.
    Content::builder()
        .data(data)
        .charset(CHARSET)
        .build()
        .map_err(|e| MailError::Unavailable(format!("cannot build SES content: {e}")))
}

/// Errors that sending again cannot fix are `Rejected`: SES refused this message (bad content,
/// unverified recipient in the sandbox), the sender's MAIL FROM domain is not verified, or the
/// account may not send (paused or suspended). Everything else, throttling and network
/// included, is `Unavailable` and worth a retry.
fn send_error(e: SdkError<SendEmailError>) -> MailError {
    let message = DisplayErrorContext(&e).to_string();
    match e.as_service_error() {
        Some(
            SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::SendingPausedException(_)
            | SendEmailError::AccountSuspendedException(_),
        ) => MailError::Rejected(message),
        _ => MailError::Unavailable(format!("SES SendEmail failed: {message}")),
    }
}
