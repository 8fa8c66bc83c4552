//! Which tenant a webhook event belongs to: by `metadata.phone_number_id` first (message-level
//! events), else by the WABA id in `entry.id` (account and template events). The route items are
//! written by the connect flow (`domain::whatsapp`) when a tenant claims its number.

use crate::domain::whatsapp::account_events::{tenant_for_phone_number, tenant_for_waba};
use crate::ports::Ports;
use crate::ports::table::TableError;

use super::payload::Event;

pub async fn tenant_for(ports: &Ports, event: &Event) -> Result<Option<String>, TableError> {
    if let Some(phone_number_id) = event.phone_number_id()
        && let Some(tenant) = tenant_for_phone_number(ports, phone_number_id).await?
    {
        return Ok(Some(tenant));
    }
    tenant_for_waba(ports, event.waba_id()).await
}
