//! The onboarding's last two steps (appended to `whatsapp::steps::STEPS`): bring the WABA's
//! existing templates in, then create the platform library in it. Both are idempotent, so a
//! retry after a failure here simply runs them again.

use async_trait::async_trait;

use crate::domain::Error;
use crate::domain::whatsapp::steps::{ConnectStep, StepCtx, StepFailure};

fn failure(e: Error) -> StepFailure {
    let mut f = StepFailure::new(e.kind, e.code, e.message);
    f.retry_after = e.retry_after;
    f
}

pub struct SyncTemplates;

#[async_trait]
impl ConnectStep for SyncTemplates {
    fn name(&self) -> &'static str {
        "sync_templates"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let tenant = ctx.tenant_id();
        super::sync::sync_from_meta(ctx.ports, &tenant).await.map(|_| ()).map_err(failure)
    }
}

pub struct InstallLibrary;

#[async_trait]
impl ConnectStep for InstallLibrary {
    fn name(&self) -> &'static str {
        "install_library"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let tenant = ctx.tenant_id();
        let report = super::library::install_library(ctx.ports, &tenant).await.map_err(failure)?;
        match report.failed.first() {
            // A library template Meta refuses is reported, not fatal for the connection (the
            // tenant can install it later); only errors that stopped the run fail the step.
            Some(f) => {
                tracing::warn!(tenant_id = %tenant, template = %f.name, error = %f.error, "library template not installed");
                Ok(())
            }
            None => Ok(()),
        }
    }
}
