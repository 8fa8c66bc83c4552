//! Campaigns: one template sent to an audience of contacts, with variables mapped from each
//! contact.
//!
//! - [`create`]: `POST /campaigns`, every check up front (template, variables, audience, quota,
//!   credits), the quota reserved for the audience;
//! - [`fanout`]: the queued work that turns the audience into messages, page by page;
//! - [`cancel`]: stops the fan-out and cancels the messages not sent yet;
//! - [`counters`]: live per-status counts without a hot item;
//! - [`estimate`]: what a campaign would use before it is created (the console's wizard);
//! - [`mapping`]: `{{contact.*}}` variables;
//! - [`report`]: the funnel, the failures by error, the recipients export;
//! - [`retry`]: a new campaign to the recipients whose failure a retry can fix;
//! - [`test_send`]: the campaign's message to one number, before the campaign exists.
//!
//! Lifecycle: `scheduled` (released by the scheduler) → `running` (fanning out) → `completed`
//! (every recipient has its message; the counts show how far they got), or `cancelled` from any
//! of them.

pub mod cancel;
pub mod counters;
pub mod create;
pub mod estimate;
pub mod fanout;
pub mod mapping;
pub mod model;
pub mod report;
pub mod retry;
pub mod test_send;

use crate::ports::Ports;
use crate::ports::table::TableError;
use crate::store::campaigns;

pub use model::{Audience, Campaign, CampaignStatus, CampaignView, Counts, StatusCounts, TemplateRef, TemplateRefView};

pub const ID_PREFIX: &str = "cmp";

/// The campaign with its live counts; `None` when the tenant has no such campaign.
pub async fn view(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Option<CampaignView>, TableError> {
    let Some(campaign) = campaigns::Campaigns::new(&*ports.table).get(tenant_id, campaign_id).await? else {
        return Ok(None);
    };
    let counts = counters::read(ports, tenant_id, campaign_id).await?;
    Ok(Some(campaign.view(counts)))
}
