//! Queue consumers as Lambdas behind an SQS event source mapping with
//! `FunctionResponseTypes: [ReportBatchItemFailures]`: the records of a batch are handled
//! concurrently, successes are deleted by Lambda, and failures are reported by message id so only
//! they come back. A failure's backoff is applied with ChangeMessageVisibility before reporting
//! it (the pattern of aws-lambda-rust-runtime's `advanced-sqs-partial-batch-failures` example);
//! without that the message would return after the queue's full visibility timeout.
//!
//! One function may sit behind several event source mappings (the send worker serves the `send`
//! and `send_bulk` lanes, each mapping with its own maximum concurrency): each record's
//! `eventSourceARN` names its queue, which [`Sources`] maps back to the logical queue so a retry
//! delay is set on the right queue.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;
pub use lambda_runtime::Error;
use lambda_runtime::{LambdaEvent, service_fn};

use super::consumer::{Consumer, consume};
use crate::ports::queue::{Delivery, Queue, QueueName};

/// The logical queues a consumer function is mapped to, recognised by their SQS queue names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    /// `(SQS queue name, logical queue)`; the first one is also the fallback.
    queues: Vec<(String, QueueName)>,
}

impl Sources {
    /// Maps each logical queue's SQS queue name (the last segment of `<NAME>_QUEUE_URL`) to it.
    pub fn from_env(names: &[QueueName]) -> Self {
        Self::new(names.iter().map(|n| (crate::config::env(&n.url_env()).unwrap_or_default(), *n)))
    }

    /// From `(queue URL, logical queue)` pairs.
    pub fn new(urls: impl IntoIterator<Item = (String, QueueName)>) -> Self {
        let queues =
            urls.into_iter().map(|(url, name)| (url.rsplit('/').next().unwrap_or_default().to_owned(), name)).collect();
        Self { queues }
    }

    /// The logical queue of a record with this `eventSourceARN`
    /// (`arn:aws:sqs:<region>:<account>:<queue name>`). An unknown or missing ARN gives the
    /// first queue: a single-queue function never needs the ARN.
    pub fn of(&self, event_source_arn: Option<&str>) -> QueueName {
        let sqs_name = event_source_arn.and_then(|arn| arn.rsplit(':').next()).unwrap_or_default();
        self.queues
            .iter()
            .find(|(n, _)| !n.is_empty() && n == sqs_name)
            .or_else(|| self.queues.first())
            .map(|(_, q)| *q)
            .unwrap_or(QueueName("unknown"))
    }
}

impl From<QueueName> for Sources {
    fn from(name: QueueName) -> Self {
        Self { queues: vec![(String::new(), name)] }
    }
}

/// Handles one SQS batch; the response lists the message ids to redeliver.
pub async fn handle_sqs_event(
    event: SqsEvent,
    consumer: &dyn Consumer,
    queue: &dyn Queue,
    sources: impl Into<Sources>,
) -> SqsBatchResponse {
    let sources = sources.into();
    let outcomes = join_all(event.records.into_iter().map(|record| {
        let name = sources.of(record.event_source_arn.as_deref());
        handle_record(record, consumer, queue, name)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for failed in outcomes.into_iter().flatten() {
        response.add_failure(failed);
    }
    response
}

/// Returns the message id when the record must be redelivered.
async fn handle_record(
    record: SqsMessage,
    consumer: &dyn Consumer,
    queue: &dyn Queue,
    name: QueueName,
) -> Option<String> {
    let delivery = to_delivery(record);
    let Err(err) = consume(consumer, &delivery).await else { return None };
    let delay = err.delay(delivery.receive_count);
    tracing::warn!(queue = %name, id = %delivery.id, receive_count = delivery.receive_count,
        delay_ms = delay.as_millis() as u64, error = %err, "message will be retried");
    if let Err(e) = queue.retry_after(name, &delivery.receipt, delay).await {
        // Still redelivered, just after the queue's visibility timeout instead of the backoff.
        tracing::warn!(queue = %name, id = %delivery.id, error = %e, "could not set the retry delay");
    }
    // An empty id makes Lambda fail the whole batch, which is the safe outcome for a record
    // we cannot identify.
    Some(delivery.id)
}

fn to_delivery(record: SqsMessage) -> Delivery {
    let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    Delivery {
        id: record.message_id.unwrap_or_default(),
        receipt: record.receipt_handle.unwrap_or_default(),
        body: record.body.unwrap_or_default(),
        receive_count,
    }
}

/// The whole `main` of a consumer Lambda: serve SQS batches until the runtime stops.
pub async fn run_sqs_consumer(
    consumer: Arc<dyn Consumer>,
    queue: Arc<dyn Queue>,
    sources: Sources,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (consumer, queue, sources) = (consumer.clone(), queue.clone(), sources.clone());
        async move {
            Ok::<_, lambda_runtime::Error>(handle_sqs_event(event.payload, &*consumer, &*queue, sources).await)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_routed_to_their_queue_by_arn() {
        const SEND: QueueName = QueueName("send");
        const BULK: QueueName = QueueName("send_bulk");
        let sources = Sources::new([
            ("https://sqs.eu-west-1.amazonaws.com/123456789012/miping-send".to_owned(), SEND),
            ("https://sqs.eu-west-1.amazonaws.com/123456789012/miping-send-bulk".to_owned(), BULK),
        ]);
        assert_eq!(sources.of(Some("arn:aws:sqs:eu-west-1:123456789012:miping-send-bulk")), BULK);
        assert_eq!(sources.of(Some("arn:aws:sqs:eu-west-1:123456789012:miping-send")), SEND);
        // Unknown or absent: the first (a single-queue function never looks).
        assert_eq!(sources.of(Some("arn:aws:sqs:eu-west-1:123456789012:other")), SEND);
        assert_eq!(sources.of(None), SEND);
        assert_eq!(Sources::from(BULK).of(Some("arn:aws:sqs:x:1:anything")), BULK);
    }
}
