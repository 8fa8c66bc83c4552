//! Which tenant a webhook event belongs to: by `metadata.phone_number_id` first (message-level
//! events), else by the WABA id in `entry.id` (account and template events). The route items are
//! written when a tenant connects its number and hold `tenant_id`.

use crate::ports::Ports;
use crate::ports::table::TableError;
use crate::store::keys;

use super::payload::Event;

pub async fn tenant_for(ports: &Ports, event: &Event) -> Result<Option<String>, TableError> {
    if let Some(phone_number_id) = event.phone_number_id() {
        if let Some(item) = ports.table.get(&keys::phone_route(phone_number_id)).await? {
            return Ok(item.get_str("tenant_id").map(str::to_string));
        }
    }
    let item = ports.table.get(&keys::waba_route(event.waba_id())).await?;
    Ok(item.and_then(|i| i.get_str("tenant_id").map(str::to_string)))
}
