//! Lambdas invoked by an EventBridge schedule: the `scheduler` (every minute: releases what is
//! due, `domain::scheduler`) and the `reconciler` (every few minutes: re-queues stranded work,
//! `domain::reconciler`). The event's content is not needed (any event is a tick), so it is read
//! as plain JSON.

use std::future::Future;

use serde_json::{Value, json};

use crate::domain::{reconciler, scheduler};
use crate::ports::Ports;

pub async fn serve() -> Result<(), lambda_runtime::Error> {
    serve_ticks(|ports| async move {
        let released = scheduler::release_due(&ports).await.map_err(|e| e.to_string())?;
        tracing::info!(messages = released.messages, campaigns = released.campaigns, "scheduler tick");
        Ok(json!({"messages": released.messages, "campaigns": released.campaigns}))
    })
    .await
}

/// The `reconciler` function.
pub async fn serve_reconciler() -> Result<(), lambda_runtime::Error> {
    let options = crate::config::reconcile_from_env();
    serve_ticks(move |ports| async move {
        let done = reconciler::run(&ports, options).await.map_err(|e| e.to_string())?;
        tracing::info!(?done, "reconciler run");
        Ok(json!({
            "messages_requeued": done.messages_requeued,
            "campaigns_resumed": done.campaigns_resumed,
            "sweeps_requeued": done.sweeps_requeued,
            "cleared": done.cleared,
            "refunds_settled": done.refunds_settled,
            "held_tenants_released": done.held_tenants_released,
        }))
    })
    .await
}

/// Logs and state (as the HTTP functions build them), then `tick` for every invocation.
async fn serve_ticks<F, Fut>(tick: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Ports) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, String>> + Send,
{
    crate::telemetry::init_json_logs();
    let state = super::http_lambda::state().await?;
    let ports = state.ports.clone();
    lambda_runtime::run(lambda_runtime::service_fn(move |_event: lambda_runtime::LambdaEvent<Value>| {
        let (ports, tick) = (ports.clone(), tick.clone());
        async move { tick(ports).await.map_err(lambda_runtime::Error::from) }
    }))
    .await
}
