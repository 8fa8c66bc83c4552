//! Lambda `webhook-processor`: the webhook queue's consumer (partial batch failures).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve(miping::queues::WEBHOOK, |state| {
        std::sync::Arc::new(miping::domain::webhooks::process::processor(state.ports.clone()))
    })
    .await
}
