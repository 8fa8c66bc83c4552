//! The `scheduler` Lambda: an EventBridge schedule invokes it every tick; each invocation
//! releases what is due (`domain::scheduler`). The event's content is not needed (any event is a
//! tick), so it is read as plain JSON.

use serde_json::{Value, json};

use crate::domain::scheduler;

pub async fn serve() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init_json_logs();
    let state = super::http_lambda::state().await?;
    let ports = state.ports.clone();
    lambda_runtime::run(lambda_runtime::service_fn(move |_event: lambda_runtime::LambdaEvent<Value>| {
        let ports = ports.clone();
        async move {
            let released = scheduler::release_due(&ports).await.map_err(|e| e.to_string())?;
            tracing::info!(messages = released.messages, campaigns = released.campaigns, "scheduler tick");
            Ok::<_, lambda_runtime::Error>(json!({"messages": released.messages, "campaigns": released.campaigns}))
        }
    }))
    .await
}
