//! Lambda `send-worker`: the consumer of both send lanes, `send` (one-off messages) and
//! `send_bulk` (campaigns), each behind its own event source mapping (partial batch failures).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve_queues(&miping::queues::SEND_LANES, |state| {
        std::sync::Arc::new(miping::domain::sending::worker::SendWorker {
            ports: state.ports.clone(),
            prices: (*state.prices).clone(),
            timing: state.config.send_timing,
        })
    })
    .await
}
