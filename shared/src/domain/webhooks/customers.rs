//! Webhook events from customers: inbound messages (to the inbox) and marketing preference
//! changes (opt-out / opt-in, as the keywords STOP / START do: `inbox::optout`). The sender becomes a contact — by phone, or by WhatsApp user id for
//! username-only users who have no phone.

use async_trait::async_trait;

use crate::domain::Error;
use chrono::{TimeZone, Utc};

use crate::domain::contacts::service::{self, InboundSender};
use crate::domain::inbox;
use crate::domain::inbox::optout::{self, Preference};
use crate::domain::phone::E164;
use crate::ports::Ports;

use super::payload::{Contact, Event};
use super::process::EventHandler;

pub struct CustomerEvents;

#[async_trait]
impl EventHandler for CustomerEvents {
    async fn handle(&self, ports: &Ports, tenant_id: &str, event: &Event) -> Result<bool, Error> {
        match event {
            Event::Inbound { contact, message, .. } => {
                let phone = message.from.as_deref().and_then(|p| E164::parse(p).ok());
                let wa_user_id =
                    message.from_user_id.as_deref().or(contact.as_ref().and_then(|c| c.user_id.as_deref()));
                let contact_id = contact_for(ports, tenant_id, phone.as_ref(), wa_user_id, contact.as_ref()).await?;
                let message_id = match inbox::record_inbound(ports, tenant_id, &contact_id, message).await? {
                    Some(id) => Some(id),
                    // Recorded before: a redelivery, possibly after a crash between recording the
                    // message and queueing its callback. Queue it again — the event id is the
                    // same, and the callback worker claims each attempt of an event once, so a
                    // callback already queued or delivered is not posted twice.
                    None => inbox::inbound_message_id(ports, tenant_id, &message.wamid).await?,
                };
                if let Some(message_id) = message_id {
                    // A customer's file: recorded `pending` at once, fetched by the media queue.
                    let conversation_id = inbox::conversation_id(&contact_id);
                    crate::domain::media::inbound::record_pending(
                        ports,
                        tenant_id,
                        &message_id,
                        Some(&conversation_id),
                        message,
                    )
                    .await?;
                    crate::domain::callbacks::events::inbound(ports, tenant_id, &message_id, &contact_id, message)
                        .await?;
                }
                // STOP / START and the tenant's own keywords (idempotent: see `inbox::optout`).
                if let (Some(text), "text") = (message.text.as_deref(), message.kind.as_str()) {
                    let at = Utc.timestamp_opt(message.timestamp, 0).single().unwrap_or_else(|| ports.clock.now());
                    optout::on_inbound_text(ports, tenant_id, &contact_id, &message.wamid, text, at).await?;
                }
                Ok(true)
            }
            Event::UserPreference { contact, preference, .. } => {
                let wanted = match preference.value.as_str() {
                    "stop" => Preference::OptOut,
                    "resume" => Preference::OptIn,
                    other => {
                        tracing::info!(tenant_id, value = other, "unknown user preference value; recorded only");
                        return Ok(true);
                    }
                };
                let phone = preference.wa_id.as_deref().and_then(|p| E164::parse(p).ok());
                let wa_user_id = contact.as_ref().and_then(|c| c.user_id.as_deref());
                let contact_id = contact_for(ports, tenant_id, phone.as_ref(), wa_user_id, contact.as_ref()).await?;
                let at = Utc.timestamp_opt(preference.timestamp, 0).single().unwrap_or_else(|| ports.clock.now());
                let identity = format!("meta:{contact_id}:{}:{}", preference.timestamp, preference.value);
                optout::apply(ports, tenant_id, &contact_id, wanted, optout::SOURCE_META, &identity, at).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

async fn contact_for(
    ports: &Ports,
    tenant_id: &str,
    phone: Option<&E164>,
    wa_user_id: Option<&str>,
    contact: Option<&Contact>,
) -> Result<String, Error> {
    let sender = InboundSender {
        phone,
        wa_user_id,
        profile_name: contact.and_then(|c| c.profile.name.as_deref()),
        username: contact.and_then(|c| c.profile.username.as_deref()),
    };
    let found =
        service::find_or_create_inbound(&*ports.table, &*ports.ids, ports.clock.now(), tenant_id, &sender).await?;
    Ok(found.id)
}
