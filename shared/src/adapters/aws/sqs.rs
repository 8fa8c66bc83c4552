//! The queue port on SQS standard queues. Each logical queue maps to a queue URL (and,
//! optionally, its dead-letter queue's URL) from configuration. Visibility timeout and the
//! redrive policy (`maxReceiveCount`) are queue attributes owned by infrastructure; see
//! [`create_queue_with_dlq`] for the shape the SAM template must create.
//!
//! `send_batch` is atomic per SendMessageBatch call, not across calls: when a later chunk fails,
//! earlier ones are already queued, and a caller that retries the batch sends them again, which
//! at-least-once consumers tolerate.
//!
//! Message groups (`OutMessage::group`) become `MessageGroupId`: on standard queues that is
//! SQS's fair-queue feature (no FIFO ordering, no throughput limit), which keeps one tenant's
//! backlog from raising the dwell time of the others' messages.
//!
//! SQS works in whole seconds: delays and visibility changes are rounded up, so a message is
//! never visible earlier than asked.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::operation::delete_message::DeleteMessageError;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::ports::queue::{
    Delivery, MAX_DELAY, MAX_MESSAGE_BYTES, OutMessage, Queue, QueueError, QueueName, QueueSettings, validate,
};

/// SendMessageBatch limits: entries per call, and total payload per call.
const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = MAX_MESSAGE_BYTES;
/// ReceiveMessage limits.
const MAX_RECEIVE: usize = 10;
const MAX_WAIT_SECONDS: u64 = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsQueueUrls {
    pub url: String,
    /// Needed only to read dead letters; without it `dead_letters` returns nothing.
    pub dlq_url: Option<String>,
}

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queues: HashMap<&'static str, SqsQueueUrls>,
}

impl SqsQueue {
    pub fn new(client: Client, queues: HashMap<&'static str, SqsQueueUrls>) -> Self {
        Self { client, queues }
    }

    /// Reads `<NAME>_QUEUE_URL` (required) and `<NAME>_DLQ_URL` (optional) for every queue.
    pub fn from_env(client: Client, names: &[QueueName]) -> Result<Self, QueueError> {
        let mut queues = HashMap::new();
        for name in names {
            let url = std::env::var(name.url_env())
                .map_err(|_| QueueError::Invalid(format!("{} is not set (queue {name})", name.url_env())))?;
            let dlq_url = std::env::var(name.dlq_url_env()).ok().filter(|u| !u.is_empty());
            queues.insert(name.as_str(), SqsQueueUrls { url, dlq_url });
        }
        Ok(Self::new(client, queues))
    }

    fn urls(&self, queue: QueueName) -> Result<&SqsQueueUrls, QueueError> {
        self.queues.get(queue.as_str()).ok_or_else(|| QueueError::UnknownQueue(queue.to_string()))
    }

    async fn send_chunk(&self, url: &str, chunk: &[OutMessage]) -> Result<(), QueueError> {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&m.body)
                    .delay_seconds(whole_seconds(m.delay))
                    // On a standard queue this makes it a fair queue: SQS keeps one group's
                    // backlog from delaying the other groups' messages.
                    .set_message_group_id(m.group.clone())
                    .build()
                    .map_err(|e| QueueError::Invalid(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk_error)?;
        if out.failed().is_empty() {
            return Ok(());
        }
        let failed: Vec<String> = out
            .failed()
            .iter()
            .map(|f| format!("entry {} ({}): {}", f.id(), f.code(), f.message().unwrap_or("")))
            .collect();
        Err(QueueError::Unavailable(format!(
            "{} of {} messages not sent: {}",
            failed.len(),
            chunk.len(),
            failed.join("; ")
        )))
    }

    /// Receives from a URL; `visibility` overrides the queue's timeout (used to peek at dead letters).
    async fn receive_from(
        &self,
        url: &str,
        max: usize,
        wait: Duration,
        visibility: Option<i32>,
    ) -> Result<Vec<Delivery>, QueueError> {
        let wait_seconds = wait.as_secs().min(MAX_WAIT_SECONDS) as i32;
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, MAX_RECEIVE) as i32)
            .wait_time_seconds(wait_seconds)
            .set_visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.messages().iter().filter_map(delivery).collect())
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, queue: QueueName, messages: Vec<OutMessage>) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.url;
        // Validate everything before the first call, so a bad message sends nothing.
        for m in &messages {
            validate(m)?;
        }
        for chunk in chunks(&messages) {
            self.send_chunk(url, chunk).await?;
        }
        Ok(())
    }

    async fn receive(&self, queue: QueueName, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let url = self.urls(queue)?.url.clone();
        self.receive_from(&url, max, wait, None).await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.url;
        match self.client.delete_message().queue_url(url).receipt_handle(receipt).send().await {
            Ok(_) => Ok(()),
            // The receipt belongs to a delivery that is over (deleted, dead-lettered or expired):
            // acking it is a no-op by contract.
            Err(SdkError::ServiceError(e)) if matches!(e.err(), DeleteMessageError::ReceiptHandleIsInvalid(_)) => {
                tracing::debug!(queue = %queue, "ack with a stale receipt ignored");
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn retry_after(&self, queue: QueueName, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.url;
        let result = self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(whole_seconds(delay.min(MAX_DELAY)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Nothing to reschedule: the message is visible again or gone already.
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    ChangeMessageVisibilityError::MessageNotInflight(_)
                        | ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_)
                ) =>
            {
                tracing::debug!(queue = %queue, "retry_after with a stale receipt ignored");
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let Some(dlq) = self.urls(queue)?.dlq_url.clone() else { return Ok(Vec::new()) };
        // Peek with a zero visibility timeout so the messages stay visible for the next look
        // (and for a redrive); the same message can then come back within one call, hence the
        // de-duplication and the stop once a round brings nothing new.
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        // One-second long poll: short polls sample a subset of SQS hosts and may miss messages.
        let mut wait = Duration::from_secs(1);
        while out.len() < max {
            let batch = self.receive_from(&dlq, max - out.len(), wait, Some(0)).await?;
            let before = out.len();
            for d in batch {
                if seen.insert(d.id.clone()) {
                    out.push(Delivery { receipt: String::new(), ..d });
                }
            }
            if out.len() == before {
                break;
            }
            wait = Duration::ZERO;
        }
        Ok(out)
    }
}

/// Creates `<name>-dlq` and `<name>` with the given visibility timeout and a redrive policy to the
/// dead-letter queue after `max_receives` deliveries. This is the shape infrastructure must
/// create for every queue (tests use it against moto).
pub async fn create_queue_with_dlq(
    client: &Client,
    name: &str,
    settings: QueueSettings,
) -> Result<SqsQueueUrls, QueueError> {
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        // Fourteen days, the SQS maximum: dead letters wait for a human.
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(sdk_error)?
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| QueueError::Unavailable("CreateQueue returned no URL".into()))?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk_error)?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| QueueError::Unavailable("GetQueueAttributes returned no QueueArn".into()))?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receives });
    let url = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, whole_seconds(settings.visibility_timeout).to_string())
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(sdk_error)?
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| QueueError::Unavailable("CreateQueue returned no URL".into()))?;
    Ok(SqsQueueUrls { url, dlq_url: Some(dlq_url) })
}

/// Splits a batch into SendMessageBatch calls of at most 10 entries and 256 KiB of bodies.
/// Every message fits on its own (checked by `validate`).
fn chunks(messages: &[OutMessage]) -> Vec<&[OutMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let full = i - start == MAX_BATCH_ENTRIES || bytes + m.body.len() > MAX_BATCH_BYTES;
        if full && i > start {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += m.body.len();
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

fn delivery(m: &Message) -> Option<Delivery> {
    let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
        tracing::warn!("SQS returned a message without id or receipt handle; skipped");
        return None;
    };
    let receive_count = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    Some(Delivery {
        id: id.to_owned(),
        receipt: receipt.to_owned(),
        body: m.body().unwrap_or_default().to_owned(),
        receive_count,
    })
}

/// Rounds up to whole seconds (SQS's unit), so nothing becomes visible early.
fn whole_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

fn sdk_error<E, R>(e: SdkError<E, R>) -> QueueError
where
    E: std::error::Error + aws_sdk_sqs::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    // The query protocol and the JSON protocol name a missing queue differently.
    if let SdkError::ServiceError(se) = &e
        && matches!(se.err().code(), Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist"))
    {
        return QueueError::UnknownQueue(se.err().message().unwrap_or("queue does not exist").to_owned());
    }
    QueueError::Unavailable(format!("sqs: {}", DisplayErrorContext(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(sizes: &[usize]) -> Vec<OutMessage> {
        sizes.iter().map(|&n| OutMessage::new("x".repeat(n))).collect()
    }

    #[test]
    fn chunks_respect_count_and_size() {
        let sizes: Vec<usize> = chunks(&msgs(&[1; 25])).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![10, 10, 5]);

        let big = MAX_MESSAGE_BYTES;
        let sizes: Vec<usize> = chunks(&msgs(&[big, 1, big, 100, 100])).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![1, 1, 1, 2]);

        assert!(chunks(&[]).is_empty());
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    }
}
