//! Lambda `send-worker`: the send queue's consumer (partial batch failures).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve(miping::queues::SEND, |state| {
        std::sync::Arc::new(miping::domain::sending::worker::SendWorker {
            ports: state.ports.clone(),
            prices: miping::domain::sending::prices::PriceTable::from_env(),
        })
    })
    .await
}
