//! Lambda `mail-worker`: the `mail` queue's consumer (SQS event source mapping with
//! ReportBatchItemFailures). Opens each sealed one-time password and sends the email with SES.

use std::sync::Arc;

use miping::domain::welcome_mail::MailConsumer;

#[tokio::main]
async fn main() -> Result<(), miping::runtime::sqs_lambda::Error> {
    miping::telemetry::init_json_logs();
    // AWS adapters when deployed; the embedded store under `cargo lambda watch`.
    let ports = miping::runtime::http_lambda::state().await?.ports;
    let queue = ports.queue.clone();
    miping::runtime::sqs_lambda::run_sqs_consumer(Arc::new(MailConsumer { ports }), queue, miping::queues::MAIL).await
}
