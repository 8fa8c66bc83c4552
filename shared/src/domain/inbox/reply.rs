//! Replies in a conversation (`POST /conversations/{id}/messages`, the console's reply box): free
//! text or a file (media) only inside the 24 h customer service window, a template any time (it
//! reopens a resolved conversation with the customer).

use super::actions::set_status;
use super::list::{Scope, require};
use super::model::ConversationStatus;
use crate::domain::messages::accept::{self, MAX_TEXT_CHARS, MediaSend, SendInput, TemplateSend};
use crate::domain::messages::interactive::InteractiveInput;
use crate::domain::messages::{Direction, Message, MessageStatus, MessageView, dispatch};
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::store::{keys, messages};

/// Free text to the conversation's contact: 1 to 4096 characters, only while the window is open
/// (422 `outside_service_window`). Accepted means durably queued.
pub async fn text(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    text: &str,
    scope: &Scope,
) -> Result<MessageView, Error> {
    let conversation = require(ports, tenant_id, conversation_id, scope).await?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::validation(vec![FieldError::new(
            "text",
            "invalid",
            format!("must be 1 to {MAX_TEXT_CHARS} characters"),
        )]));
    }
    let now = ports.clock.now();
    if !conversation.window_open(now) {
        return Err(Error::invalid(
            "outside_service_window",
            "the customer has not written in the last 24 hours: free text is not allowed, send a template instead",
        ));
    }
    let contact = ports
        .table
        .get(&keys::contact(tenant_id, &conversation.contact_id))
        .await?
        .ok_or_else(|| Error::not_found("contact"))?;
    let to = contact.get_str("phone").or_else(|| contact.get_str("wa_user_id")).map(str::to_string);
    let message = Message {
        contact_id: Some(conversation.contact_id.clone()),
        conversation_id: Some(conversation_id.to_owned()),
        to,
        text: Some(text.to_owned()),
        ..Message::new(ports.ids.new_id("msg"), tenant_id, Direction::Outbound, "text", MessageStatus::Queued, now)
    };
    dispatch::accept(ports, &message, text).await?;
    // The message as accepted (the worker may already be sending it).
    Ok(MessageView::from_item(&messages::item(&message)?)?)
}

/// An approved template to the conversation's contact, any time (quota, credits and opt-out
/// apply as for `POST /messages`); a resolved conversation opens again.
pub async fn template(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    template: TemplateSend,
    scope: &Scope,
) -> Result<MessageView, Error> {
    let conversation = require(ports, tenant_id, conversation_id, scope).await?;
    let send =
        SendInput { to: Some(conversation.contact_id.clone()), template: Some(template), ..SendInput::default() };
    let accepted = accept::accept(ports, tenant_id, send).await?;
    // The message is queued already: a failure here is logged, not answered (a retry would send
    // it twice).
    if conversation.status == ConversationStatus::Resolved
        && let Err(e) = set_status(ports, tenant_id, conversation_id, ConversationStatus::Open, scope).await
    {
        tracing::warn!(error = %e, conversation_id, "conversation not reopened after a template reply");
    }
    messages::Messages::new(&*ports.table)
        .view(tenant_id, &accepted.id)
        .await?
        .ok_or_else(|| Error::internal("an accepted message is missing"))
}

/// A file of the tenant (an uploaded media id) to the conversation's contact: `POST /messages`'s
/// rules (inside the window, the file's kind, a ready file of this tenant).
pub async fn media(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    media: MediaSend,
    scope: &Scope,
) -> Result<MessageView, Error> {
    free_form(ports, tenant_id, conversation_id, SendInput { media: Some(media), ..SendInput::default() }, scope).await
}

/// Reply buttons or a list to the conversation's contact: `POST /messages`'s rules (inside the
/// window, Meta's limits on titles, ids and counts).
pub async fn interactive(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    interactive: InteractiveInput,
    scope: &Scope,
) -> Result<MessageView, Error> {
    let send = SendInput { interactive: Some(interactive), ..SendInput::default() };
    free_form(ports, tenant_id, conversation_id, send, scope).await
}

/// `send` (without its recipient) to the conversation's contact through `POST /messages`'s use case.
async fn free_form(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    send: SendInput,
    scope: &Scope,
) -> Result<MessageView, Error> {
    let conversation = require(ports, tenant_id, conversation_id, scope).await?;
    let send = SendInput { to: Some(conversation.contact_id.clone()), ..send };
    let accepted = accept::accept(ports, tenant_id, send).await?;
    messages::Messages::new(&*ports.table)
        .view(tenant_id, &accepted.id)
        .await?
        .ok_or_else(|| Error::internal("an accepted message is missing"))
}
