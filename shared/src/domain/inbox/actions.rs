//! Changing conversations: read marks, assignment, resolve / reopen, internal notes, system
//! entries, and campaign messages joining their conversation once sent.

use chrono::{DateTime, Utc};

use super::list::{Scope, get, require, view};
use super::model::{ConversationStatus, ConversationView};
use super::{conversation_id, conversation_key, reopen_update, template_preview, touch_outbound};
use crate::domain::messages::{Author, Direction, Message, MessageStatus, MessageView};
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, TableError, TxOp, Update};
use crate::store::{keys, messages};

/// Longest internal note.
pub const MAX_NOTE_CHARS: usize = 4096;

pub async fn mark_read(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    scope: &Scope,
) -> Result<bool, TableError> {
    if get(ports, tenant_id, conversation_id, scope).await?.is_none() {
        return Ok(false);
    }
    match ports
        .table
        .update(&conversation_key(tenant_id, conversation_id), Update::new().set("unread_count", 0), Some(Cond::Exists))
        .await
    {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `POST /conversations/{id}/assign`: to a member of the tenant (today: a user of the tenant;
/// 422 `invalid_member` otherwise), or to nobody (`None`). The conversation moves to that
/// member's list (GSI3) in the same write.
pub async fn assign(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    member_id: Option<&str>,
    scope: &Scope,
) -> Result<ConversationView, Error> {
    require(ports, tenant_id, conversation_id, scope).await?;
    if let Some(m) = member_id {
        let member = crate::store::users::Users::new(&*ports.table).get(m).await?;
        match member.filter(|u| u.tenant_id.as_deref() == Some(tenant_id)) {
            None => {
                return Err(Error::invalid("invalid_member", "no such member in this tenant").with_details(vec![
                    FieldError::new("member_id", "invalid_member", "not a member of this tenant"),
                ]));
            }
            // A deactivated member cannot sign in: the customer would wait on nobody.
            Some(u) if !u.is_active() => {
                return Err(Error::invalid("invalid_member", "the member is deactivated").with_details(vec![
                    FieldError::new("member_id", "invalid_member", "is deactivated: reactivate them or pick another"),
                ]));
            }
            Some(_) => {}
        }
    }
    let list = keys::conversations_by_assignee(tenant_id, member_id);
    let update = Update::new().set(keys::SECONDARY.pk_attr(), keys::conversation_list_shard(&list, conversation_id));
    let update = match member_id {
        Some(m) => update.set("assignee_id", m),
        None => update.remove("assignee_id"),
    };
    change(ports, tenant_id, conversation_id, update).await?;
    view(ports, tenant_id, conversation_id, &Scope::All).await
}

/// `POST /conversations/{id}/resolve` and `/reopen` (the status list, GSI2, moves with it).
pub async fn set_status(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    status: ConversationStatus,
    scope: &Scope,
) -> Result<ConversationView, Error> {
    require(ports, tenant_id, conversation_id, scope).await?;
    let update = match status {
        ConversationStatus::Open => reopen_update(Update::new(), tenant_id, conversation_id),
        ConversationStatus::Resolved => Update::new()
            .set("status", ConversationStatus::Resolved.as_str())
            .set(
                keys::LOOKUPS.pk_attr(),
                keys::conversation_list_shard(&keys::conversations_by_status(tenant_id, "resolved"), conversation_id),
            )
            .set("resolved_at", ports.clock.now().to_rfc3339()),
    };
    change(ports, tenant_id, conversation_id, update).await?;
    view(ports, tenant_id, conversation_id, scope).await
}

async fn change(ports: &Ports, tenant_id: &str, conversation_id: &str, update: Update) -> Result<(), Error> {
    match ports.table.update(&conversation_key(tenant_id, conversation_id), update, Some(Cond::Exists)).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_condition_failure() => Err(Error::not_found("conversation")),
        Err(e) => Err(e.into()),
    }
}

/// `POST /conversations/{id}/notes`: an internal note in the thread, with its author. It is a
/// thread entry only: not in the messages log, never queued, never sent.
pub async fn add_note(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    author: Author,
    text: &str,
    scope: &Scope,
) -> Result<MessageView, Error> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::validation(vec![FieldError::new(
            "text",
            "invalid",
            format!("must be 1 to {MAX_NOTE_CHARS} characters"),
        )]));
    }
    let conversation = require(ports, tenant_id, conversation_id, scope).await?;
    let note = Message {
        contact_id: Some(conversation.contact_id),
        conversation_id: Some(conversation.id),
        text: Some(text.to_owned()),
        author: Some(author),
        ..Message::new(
            ports.ids.new_id("msg"),
            tenant_id,
            Direction::Internal,
            "note",
            MessageStatus::Received,
            ports.clock.now(),
        )
    };
    let item = messages::item(&note)?;
    ports.table.put(item.clone(), Some(Cond::NotExists)).await?;
    Ok(MessageView::from_item(&item)?)
}

/// A system entry in a contact's thread (an opt-out, an opt-in), under a caller-chosen id so a
/// redelivered event records it once.
pub async fn record_system(
    ports: &Ports,
    tenant_id: &str,
    contact_id: &str,
    entry_id: &str,
    text: &str,
    at: DateTime<Utc>,
) -> Result<(), TableError> {
    let entry = Message {
        contact_id: Some(contact_id.to_owned()),
        conversation_id: Some(conversation_id(contact_id)),
        text: Some(text.to_owned()),
        ..Message::new(entry_id, tenant_id, Direction::Internal, "system", MessageStatus::Received, at)
    };
    // The conversation is created if the contact has none yet (Meta's preference change can come
    // first), and left as it is otherwise: an entry is not activity.
    let conversation = entry.conversation_id.clone().unwrap_or_default();
    let sort = keys::conversation_activity(at.timestamp_millis(), &conversation);
    let ensure = Update::new()
        .set_if_absent("id", conversation.as_str())
        .set_if_absent("tenant_id", tenant_id)
        .set_if_absent("contact_id", contact_id)
        .set_if_absent("created_at", at.to_rfc3339())
        .set_if_absent("status", ConversationStatus::Open.as_str())
        .set_if_absent(
            keys::LISTS.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_list(tenant_id), &conversation),
        )
        .set_if_absent(keys::LISTS.sk_attr(), sort.clone())
        .set_if_absent(
            keys::LOOKUPS.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_by_status(tenant_id, "open"), &conversation),
        )
        .set_if_absent(keys::LOOKUPS.sk_attr(), sort.clone())
        .set_if_absent(
            keys::SECONDARY.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_by_assignee(tenant_id, None), &conversation),
        )
        .set_if_absent(keys::SECONDARY.sk_attr(), sort);
    let ops = vec![
        TxOp::Put { item: messages::item(&entry)?, cond: Some(Cond::NotExists) },
        TxOp::Update { key: conversation_key(tenant_id, &conversation), update: ensure, cond: None },
    ];
    match ports.table.transact(ops).await {
        Ok(()) => Ok(()),
        // Recorded before (a redelivered event).
        Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A message Meta accepted joins its contact's conversation if it is not in one yet (a campaign
/// message: its GSI3 slot served the campaign's cancel sweep while it could still be cancelled).
/// One transaction: the message moves to the thread (conditioned on not being in a conversation,
/// so a retry or a second call does nothing) and the conversation moves to it (created if new).
/// `item` is the message as the send worker read it: a message already in its conversation (all
/// but campaign messages) costs nothing here.
pub async fn join_sent(ports: &Ports, item: &Item) -> Result<(), TableError> {
    let (Some(tenant_id), Some(message_id), Some(contact_id), None, Some("outbound")) = (
        item.get_str("tenant_id"),
        item.get_str("id"),
        item.get_str("contact_id"),
        item.get_str("conversation_id"),
        item.get_str("direction"),
    ) else {
        return Ok(());
    };
    let conversation_id = conversation_id(contact_id);
    let at = ports.clock.now();
    let kind = item.get_str("kind").unwrap_or("template");
    let preview = match item.get("template").filter(|t| !t.is_null()) {
        Some(t) => template_preview(t),
        None => item.get_str("text").unwrap_or_default().to_owned(),
    };
    let join = Update::new()
        .set("conversation_id", conversation_id.as_str())
        .set(keys::SECONDARY.pk_attr(), keys::conversation_messages(tenant_id, &conversation_id))
        .set(keys::SECONDARY.sk_attr(), format!("{:013}#{message_id}", at.timestamp_millis()));
    let ops = vec![
        TxOp::Update {
            key: messages::key(tenant_id, message_id),
            update: join,
            cond: Some(Cond::And(vec![Cond::Exists, Cond::AttrNotExists("conversation_id".into())])),
        },
        touch_outbound(tenant_id, contact_id, at, Some(&preview), kind),
    ];
    match ports.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionCanceled { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
