//! Serving a queue consumer on Lambda: the whole `main` of a worker function.

use std::sync::Arc;

use crate::app::AppState;
use crate::ports::queue::QueueName;
use crate::runtime::consumer::Consumer;

/// Logs, state (as the HTTP functions build it), then the SQS event loop with partial batch
/// failures for `queue`.
pub async fn serve(queue: QueueName, build: fn(&AppState) -> Arc<dyn Consumer>) -> Result<(), lambda_http::Error> {
    serve_queues(&[queue], build).await
}

/// [`serve`] for a consumer behind several event source mappings (one per queue, e.g. the send
/// worker's two lanes); each record's queue is recognised by its event source ARN.
pub async fn serve_queues(
    queues: &[QueueName],
    build: fn(&AppState) -> Arc<dyn Consumer>,
) -> Result<(), lambda_http::Error> {
    crate::telemetry::init_json_logs();
    let state = super::http_lambda::state().await?;
    let consumer = build(&state);
    let sources = super::sqs_lambda::Sources::from_env(queues);
    super::sqs_lambda::run_sqs_consumer(consumer, state.ports.queue.clone(), sources).await
}
