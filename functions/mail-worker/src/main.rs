//! Lambda `mail-worker`: the `mail` queue's consumer (SQS event source mapping with
//! ReportBatchItemFailures). Opens each sealed one-time password and sends the email with SES.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve(miping::queues::MAIL, |state| {
        std::sync::Arc::new(miping::runtime::consumers::mail::MailConsumer { ports: state.ports.clone() })
    })
    .await
}
