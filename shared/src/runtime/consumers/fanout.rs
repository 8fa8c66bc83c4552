//! `fanout` queue: a campaign's pages, cancel sweeps and releases of held messages
//! (`domain::campaigns`).

use async_trait::async_trait;

use super::retry;
use crate::domain::campaigns::cancel;
use crate::domain::campaigns::fanout::{FanoutJob, FanoutWorker, release_held, run_page};
use crate::ports::queue::Delivery;
use crate::runtime::consumer::{ConsumeError, Consumer};

#[async_trait]
impl Consumer for FanoutWorker {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError> {
        let Ok(job) = serde_json::from_str::<FanoutJob>(&delivery.body) else {
            tracing::error!(body_len = delivery.body.len(), "fan-out job is not a FanoutJob; dropped");
            return Ok(());
        };
        let redelivered = delivery.receive_count > 1;
        let result = match &job {
            FanoutJob::Page { tenant_id, campaign_id, page, resume } => {
                run_page(&self.ports, tenant_id, campaign_id, *page, redelivered || *resume).await.map(|_| ())
            }
            FanoutJob::CancelSweep { tenant_id, campaign_id, shard, cursor } => {
                cancel::sweep(&self.ports, tenant_id, campaign_id, *shard, cursor.clone()).await
            }
            FanoutJob::ReleaseHeld { tenant_id, shard, cursor } => {
                release_held(&self.ports, tenant_id, *shard, cursor.clone()).await
            }
        };
        result.map_err(retry)
    }
}
