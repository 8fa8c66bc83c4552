//! Queue consumers as Lambdas behind an SQS event source mapping with
//! `FunctionResponseTypes: [ReportBatchItemFailures]`: the records of a batch are handled
//! concurrently, successes are deleted by Lambda, and failures are reported by message id so only
//! they come back. A failure's backoff is applied with ChangeMessageVisibility before reporting
//! it (the pattern of aws-lambda-rust-runtime's `advanced-sqs-partial-batch-failures` example);
//! without that the message would return after the queue's full visibility timeout.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;
pub use lambda_runtime::Error;
use lambda_runtime::{LambdaEvent, service_fn};

use super::consumer::{Consumer, consume};
use crate::ports::queue::{Delivery, Queue, QueueName};

/// Handles one SQS batch; the response lists the message ids to redeliver.
pub async fn handle_sqs_event(
    event: SqsEvent,
    consumer: &dyn Consumer,
    queue: &dyn Queue,
    name: QueueName,
) -> SqsBatchResponse {
    let outcomes = join_all(event.records.into_iter().map(|record| handle_record(record, consumer, queue, name))).await;
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
    name: QueueName,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (consumer, queue) = (consumer.clone(), queue.clone());
        async move { Ok::<_, lambda_runtime::Error>(handle_sqs_event(event.payload, &*consumer, &*queue, name).await) }
    }))
    .await
}
