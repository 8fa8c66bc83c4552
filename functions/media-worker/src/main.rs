//! Lambda `media-worker`: the `media` queue's consumer (SQS event source mapping with
//! ReportBatchItemFailures). Fetches each customer's file from Meta (`GET /{media-id}` → URL →
//! bearer download), checks its SHA-256 and stores it under the tenant's inbound prefix.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve(miping::queues::MEDIA, |state| {
        std::sync::Arc::new(miping::runtime::consumers::media::MediaConsumer { ports: state.ports.clone() })
    })
    .await
}
