//! Lambda `fanout-worker`: the fan-out queue's consumer (partial batch failures).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve(miping::queues::FANOUT, |state| {
        std::sync::Arc::new(miping::domain::campaigns::fanout::FanoutWorker { ports: state.ports.clone() })
    })
    .await
}
