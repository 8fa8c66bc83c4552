//! The inbox: one conversation per contact, its messages (inbound and outbound), unread counts,
//! and the 24 h customer service window (free text is only allowed while it is open; templates
//! any time). A conversation is `open` or `resolved` (a new inbound message opens it again),
//! assigned to a member or to nobody (`actions`), listed latest activity first (`list`), and its
//! thread also holds internal notes and system entries (`direction: "internal"`), never sent.
//!
//! Every outbound message to a contact joins the contact's conversation: a message accepted on
//! its own (`POST /messages`, the trigger API, a reply) in the transaction that accepts it
//! (`messages::dispatch::accept`); a campaign message when Meta accepts it
//! ([`actions::join_sent`]) — until then its GSI3 slot serves the campaign's cancel sweep.
//!
//! An inbound message is recorded in one transaction with its conversation's update and a
//! uniqueness item on its wamid, so a redelivered webhook can never count twice.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::domain::analytics::counters as analytics;
use crate::domain::messages::{Direction, Message, MessageStatus};
use crate::domain::webhooks::payload::InboundMessage;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Key, TableError, TxOp, Update};
use crate::store::{keys, messages};

pub mod actions;
pub mod canned;
pub mod list;
pub mod model;
pub mod optout;
pub mod reply;
pub use actions::{add_note, assign, join_sent, mark_read, record_system, set_status};
pub use list::{ListFilter, Scope, get, list, require, view};
pub use model::{Assignee, ContactSummary, Conversation, ConversationStatus, ConversationView, SERVICE_WINDOW};

/// One conversation per contact: its id follows from the contact's.
pub fn conversation_id(contact_id: &str) -> String {
    format!("cnv_{}", contact_id.split_once('_').map(|(_, rest)| rest).unwrap_or(contact_id))
}

pub fn conversation_key(tenant_id: &str, conversation_id: &str) -> Key {
    keys::conversation(tenant_id, conversation_id)
}

/// The update that moves a conversation to its newest message (creating it if needed): its
/// place in each of its three lists (all, by status, by assignee) follows its last activity. An
/// inbound message opens it again.
fn touch(
    tenant_id: &str,
    conversation_id: &str,
    contact_id: &str,
    at: DateTime<Utc>,
    last: (Option<&str>, &str),
    direction: Direction,
) -> TxOp {
    let (preview, kind) = last;
    let sort = keys::conversation_activity(at.timestamp_millis(), conversation_id);
    let mut update = Update::new()
        .set_if_absent("id", conversation_id)
        .set_if_absent("tenant_id", tenant_id)
        .set_if_absent("contact_id", contact_id)
        .set_if_absent("created_at", at.to_rfc3339())
        .set_if_absent(
            keys::SECONDARY.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_by_assignee(tenant_id, None), conversation_id),
        )
        .set("last_message_at", at.to_rfc3339())
        .set("last_direction", serde_json::to_value(direction).expect("serializes"))
        .set("last_kind", kind)
        .set(
            keys::LISTS.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_list(tenant_id), conversation_id),
        )
        .set(keys::LISTS.sk_attr(), sort.clone())
        .set(keys::LOOKUPS.sk_attr(), sort.clone())
        .set(keys::SECONDARY.sk_attr(), sort);
    if let Some(p) = preview {
        update = update.set("last_message_preview", truncate(p, 120));
    }
    if direction == Direction::Inbound {
        update = reopen_update(update, tenant_id, conversation_id)
            .add("unread_count", 1)
            .set("last_inbound_at", at.to_rfc3339())
            .set(LAST_INBOUND_MS, at_ms(at));
    } else {
        update = update.set_if_absent("status", ConversationStatus::Open.as_str()).set_if_absent(
            keys::LOOKUPS.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_by_status(tenant_id, "open"), conversation_id),
        );
    }
    TxOp::Update { key: conversation_key(tenant_id, conversation_id), update, cond: None }
}

/// `status: open`, in the conversation and in its status list.
pub(crate) fn reopen_update(update: Update, tenant_id: &str, conversation_id: &str) -> Update {
    update
        .set("status", ConversationStatus::Open.as_str())
        .set(
            keys::LOOKUPS.pk_attr(),
            keys::conversation_list_shard(&keys::conversations_by_status(tenant_id, "open"), conversation_id),
        )
        .remove("resolved_at")
}

/// `last_inbound_at` in epoch milliseconds: what the service window's "only forward" condition
/// compares (Meta delivers inbound messages late and out of order).
const LAST_INBOUND_MS: &str = "last_inbound_ms";

fn at_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The conversation update for an inbound message older than the conversation's latest one (a
/// late delivery): it counts as unread, and moves neither the service window nor the
/// conversation's place in the list.
fn touch_late_inbound(tenant_id: &str, conversation_id: &str, at: DateTime<Utc>) -> TxOp {
    TxOp::Update {
        key: conversation_key(tenant_id, conversation_id),
        update: reopen_update(Update::new().add("unread_count", 1), tenant_id, conversation_id),
        cond: Some(Cond::Gt(LAST_INBOUND_MS.into(), Value::from(at_ms(at)))),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Records an inbound message for `contact_id`. Returns the message id, or `None` when this wamid
/// was recorded before (a redelivery).
pub async fn record_inbound(
    ports: &Ports,
    tenant_id: &str,
    contact_id: &str,
    inbound: &InboundMessage,
) -> Result<Option<String>, TableError> {
    let at = Utc.timestamp_opt(inbound.timestamp, 0).single().unwrap_or_else(|| ports.clock.now());
    let conversation_id = conversation_id(contact_id);
    let rich = crate::domain::messages::rich::of(ports, tenant_id, inbound).await?;
    let message_id = ports.ids.new_id("msg");
    let message = Message {
        contact_id: Some(contact_id.into()),
        conversation_id: Some(conversation_id.clone()),
        from: inbound.from.clone().or_else(|| inbound.from_user_id.clone()),
        text: inbound.text.clone(),
        interactive: rich.interactive,
        reaction: rich.reaction,
        location: rich.location,
        contacts: rich.contacts,
        content: Some(inbound.raw.clone()),
        wamid: Some(inbound.wamid.clone()),
        media: crate::domain::media::inbound::pending_view(&message_id, inbound),
        ..Message::new(
            message_id.clone(),
            tenant_id,
            Direction::Inbound,
            inbound.kind.clone(),
            MessageStatus::Received,
            at,
        )
    };
    // Counted on the day the customer sent it, in the same transaction (a redelivery, stopped by
    // the wamid's uniqueness item, counts nothing).
    let day = analytics::local_date(&analytics::time_zone(ports, tenant_id).await?, at);
    // The window only moves forward: the newest inbound message sets it (condition: no later one
    // recorded), a late one only counts as unread (condition: a later one is recorded). One of
    // the two holds; a race between them is retried.
    for attempt in 0..MAX_INBOUND_ATTEMPTS {
        let late = attempt % 2 == 1;
        let conversation = if late {
            touch_late_inbound(tenant_id, &conversation_id, at)
        } else {
            let TxOp::Update { key, update, .. } = touch(
                tenant_id,
                &conversation_id,
                contact_id,
                at,
                (Some(&preview(inbound)), &inbound.kind),
                Direction::Inbound,
            ) else {
                unreachable!("touch is an update")
            };
            let newest = Cond::Or(vec![
                Cond::AttrNotExists(LAST_INBOUND_MS.into()),
                Cond::Le(LAST_INBOUND_MS.into(), Value::from(at_ms(at))),
            ]);
            TxOp::Update { key, update, cond: Some(newest) }
        };
        let ops = vec![
            TxOp::Put {
                item: Item::new(keys::unique_inbound_wamid(tenant_id, &inbound.wamid))
                    .with("message_id", message.id.clone()),
                cond: Some(Cond::NotExists),
            },
            TxOp::Put { item: messages::item(&message)?, cond: Some(Cond::NotExists) },
            conversation,
            analytics::inbound_op(tenant_id, &message.id, &day),
        ];
        match ports.table.transact(ops).await {
            Ok(()) => return Ok(Some(message.id)),
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
                return Ok(None);
            }
            // The other variant applies (or the conversation moved meanwhile): try it.
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions == [2] => continue,
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Unavailable("the conversation kept changing; retry".into()))
}

/// Attempts of [`record_inbound`] (alternating the newest / late variants).
const MAX_INBOUND_ATTEMPTS: usize = 6;

/// The id under which an inbound wamid was recorded, if it was.
pub async fn inbound_message_id(ports: &Ports, tenant_id: &str, wamid: &str) -> Result<Option<String>, TableError> {
    Ok(ports
        .table
        .get(&keys::unique_inbound_wamid(tenant_id, wamid))
        .await?
        .and_then(|item| item.get_str("message_id").map(str::to_owned)))
}

/// What an inbox list shows for a message.
fn preview(inbound: &InboundMessage) -> String {
    inbound.text.clone().unwrap_or_else(|| format!("[{}]", inbound.kind))
}

/// Moves the conversation for an outbound message of `kind` (a reply or any message to the
/// contact).
pub fn touch_outbound(tenant_id: &str, contact_id: &str, at: DateTime<Utc>, preview: Option<&str>, kind: &str) -> TxOp {
    touch(tenant_id, &conversation_id(contact_id), contact_id, at, (preview, kind), Direction::Outbound)
}

/// A preview of a template for inbox lists.
pub fn template_preview(template: &Value) -> String {
    format!("[template {}]", template.get("name").and_then(Value::as_str).unwrap_or("?"))
}
