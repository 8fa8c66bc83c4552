//! Lambda `mail-worker`: the `mail` queue's consumer (SQS event source mapping with
//! ReportBatchItemFailures). Opens each sealed one-time password and sends the email with SES.

use std::sync::Arc;

use miping::domain::welcome_mail::MailConsumer;

#[tokio::main]
async fn main() -> Result<(), miping::runtime::sqs_lambda::Error> {
    miping::telemetry::init_json_logs();
    // AWS adapters when deployed (only the ports: a worker needs no JWT secret); the embedded
    // store under `cargo lambda watch`.
    let ports = if miping::config::env("TABLE_NAME").is_some() {
        miping::platform::aws::ports(&miping::platform::aws::sdk_config().await).await?
    } else {
        let data_dir = miping::config::env("MIPING_DATA_DIR").unwrap_or_else(|| ".miping".into());
        miping::platform::embedded::ports(std::path::Path::new(&data_dir))?
    };
    let queue = ports.queue.clone();
    miping::runtime::sqs_lambda::run_sqs_consumer(Arc::new(MailConsumer { ports }), queue, miping::queues::MAIL).await
}
