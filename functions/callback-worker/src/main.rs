//! Lambda `callback-worker`: the callback queue's consumer (signed POSTs to tenants' URLs).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::worker_lambda::serve(miping::queues::CALLBACK, |state| {
        std::sync::Arc::new(miping::domain::callbacks::worker::CallbackWorker {
            ports: state.ports.clone(),
            allow_private: state.config.allow_private_callbacks,
        })
    })
    .await
}
