//! The message entity. Per-status timestamps are separate attributes (`at_sent`, `at_read`...)
//! written with `if_not_exists`, so a duplicated webhook changes nothing and statuses arriving in
//! any order still leave a complete, ordered history.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ports::table::Item;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outbound,
    Inbound,
    /// A conversation entry that is not a WhatsApp message: an internal note (`kind: "note"`)
    /// or a system entry (`kind: "system"`, e.g. an opt-out). Never sent, never in `GET /messages`.
    Internal,
}

/// Who wrote an internal note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    pub id: String,
    pub name: String,
}

/// SPEC statuses. The rank orders the forward path; `failed` and `cancelled` are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
    Cancelled,
    /// Inbound messages: stored as received.
    Received,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 9] = [
        Self::Scheduled,
        Self::Queued,
        Self::Sending,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Cancelled,
        Self::Received,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Received => "received",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Position on the forward path; a status may only replace one of lower rank.
    /// `failed` outranks the in-flight states but not `delivered`/`read` (a message the customer
    /// has is not undone by a late failure report).
    pub fn rank(self) -> i64 {
        match self {
            Self::Scheduled => 0,
            Self::Queued => 1,
            Self::Sending => 2,
            Self::Sent => 3,
            Self::Failed => 4,
            Self::Delivered => 5,
            Self::Read => 6,
            Self::Cancelled => 7,
            Self::Received => 8,
        }
    }

    /// The attribute holding when this status was first reported.
    pub fn at_attr(self) -> String {
        format!("at_{}", self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageError {
    pub code: i64,
    pub title: Option<String>,
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusEntry {
    pub status: MessageStatus,
    pub at: DateTime<Utc>,
}

/// The stored message. Fields not known yet are absent.
/// The stored message. Fields not known yet are absent (not null): `if_not_exists` updates
/// (pricing, error) must find them missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub tenant_id: String,
    pub direction: Direction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Outbound: the recipient (E.164, or a WhatsApp user id for username-only users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Inbound: the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `template`, `text`, or Meta's inbound type (`image`, `interactive`, ...).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// Meta's pricing category (`marketing`, `utility`, `authentication`, `service`): what the
    /// message costs in credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Inbound: Meta's message object as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    pub status: MessageStatus,
    #[serde(default)]
    pub status_rank: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wamid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
    /// What the message cost in credits, as an exact decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_at: Option<DateTime<Utc>>,
    /// Set while the send worker holds the message (see `sending::hold`): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// Internal notes: who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    /// Media messages: the file and whether it is stored yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::domain::media::MessageMedia>,
    /// Outbound interactive messages: our shape (`messages::interactive::Interactive`); inbound
    /// replies: the choice (`messages::rich`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<Value>,
    /// Inbound reactions, locations and shared contacts (`messages::rich`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
}

impl Message {
    /// A message with only what every message has; callers fill in the rest with struct update
    /// syntax (`Message { to, text, ..Message::new(...) }`).
    pub fn new(
        id: impl Into<String>,
        tenant_id: impl Into<String>,
        direction: Direction,
        kind: impl Into<String>,
        status: MessageStatus,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: id.into(),
            tenant_id: tenant_id.into(),
            direction,
            contact_id: None,
            conversation_id: None,
            to: None,
            from: None,
            kind: kind.into(),
            template: None,
            category: None,
            text: None,
            content: None,
            status,
            status_rank: status.rank(),
            wamid: None,
            error: None,
            cost: None,
            pricing: None,
            campaign_id: None,
            schedule_at: None,
            held: None,
            author: None,
            media: None,
            interactive: None,
            reaction: None,
            location: None,
            contacts: None,
            created_at,
        }
    }

    /// Reads the per-status timestamps (epoch milliseconds) into the history, in the order the
    /// message went through its states. That order is the rank (a status only ever replaces one
    /// of lower rank), not the timestamps: ours are milliseconds, Meta's are whole seconds, so a
    /// message read within the second it was sent has `delivered`/`read` times before its `sent`.
    pub fn history(item: &Item) -> Vec<StatusEntry> {
        let mut out: Vec<StatusEntry> = MessageStatus::ALL
            .into_iter()
            .filter_map(|s| {
                let ms = item.get_i64(&s.at_attr())?;
                Some(StatusEntry { status: s, at: Utc.timestamp_millis_opt(ms).single()? })
            })
            .collect();
        out.sort_by_key(|e| (e.status.rank(), e.at));
        out
    }
}

/// What the API shows (SPEC `GET /messages/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: String,
    pub direction: Direction,
    pub to: Option<String>,
    pub from: Option<String>,
    pub contact_id: Option<String>,
    pub conversation_id: Option<String>,
    pub campaign_id: Option<String>,
    pub kind: String,
    pub template: Option<Value>,
    pub text: Option<String>,
    pub status: MessageStatus,
    pub wamid: Option<String>,
    pub error: Option<MessageError>,
    /// Outbound: the credits actually debited for it, net of refunds (`"0.80"`; `"0.00"` after a
    /// refund, or when nothing was debited), in `GET /messages/{id}` and in lists; `null` for
    /// inbound messages and notes.
    #[schema(example = "0.80")]
    pub cost: Option<String>,
    /// Meta's `pricing` object from the status webhooks, as first reported (`billable`,
    /// `pricing_model`, `type`, `category`).
    #[schema(example = json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"}))]
    pub pricing: Option<Value>,
    pub schedule_at: Option<DateTime<Utc>>,
    /// While the message waits for its tenant to be allowed to send again (still `queued`): why —
    /// `tenant_suspended`, `subscription_expired`, `subscription_not_started`, or
    /// `whatsapp_connecting` (the connection is being changed). It goes out once that ends.
    pub held: Option<String>,
    /// Internal notes (`direction: "internal"`, `kind: "note"`): who wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    /// Media messages: the file (`GET /media/{id}` once `status` is `ready`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::domain::media::MessageMedia>,
    /// Interactive messages. Outbound (`kind: "interactive"`): what was sent, `{type: "button",
    /// body, buttons: [{id, title}]}` or `{type: "list", body, button, sections: [{title?, rows:
    /// [{id, title, description?}]}]}`. Inbound, the customer's choice: `{type: "button_reply" |
    /// "list_reply" | "button" | "nfm_reply", id, title, description?}` (see `kind`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"type": "button_reply", "id": "yes", "title": "Yes"}))]
    pub interactive: Option<Value>,
    /// Inbound reactions (`kind: "reaction"`): `{emoji, wamid, message_id?}` — `emoji` empty when
    /// the customer removed it; `message_id` is ours when the message reacted to is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"emoji": "👍", "wamid": "wamid.HBgL...", "message_id": "msg_01jd5xa1b2c3d4e5f6g7h8j9k0"}))]
    pub reaction: Option<Value>,
    /// Inbound locations (`kind: "location"`): `{latitude, longitude, name?, address?, url?}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"latitude": 18.5204, "longitude": 73.8567, "name": "Pune office", "address": "FC Road"}))]
    pub location: Option<Value>,
    /// Inbound shared contacts (`kind: "contacts"`): `[{name, phones: [..]}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>, example = json!([{"name": "Ana Silva", "phones": ["+1 555-555-0123"]}]))]
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub status_history: Vec<StatusEntry>,
}

impl MessageView {
    pub fn from_item(item: &Item) -> Result<Self, crate::ports::table::TableError> {
        let m: Message = item.to_entity()?;
        Ok(Self {
            status_history: Message::history(item),
            id: m.id,
            direction: m.direction,
            to: m.to,
            from: m.from,
            contact_id: m.contact_id,
            conversation_id: m.conversation_id,
            campaign_id: m.campaign_id,
            kind: m.kind,
            template: m.template,
            text: m.text,
            status: m.status,
            wamid: m.wamid,
            error: m.error,
            cost: m.cost,
            pricing: m.pricing,
            schedule_at: m.schedule_at,
            held: m.held,
            author: m.author,
            media: m.media,
            interactive: m.interactive,
            reaction: m.reaction,
            location: m.location,
            contacts: m.contacts,
            created_at: m.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::table::Key;

    #[test]
    fn history_follows_the_path_not_the_clocks() {
        // Ours in milliseconds, Meta's in whole seconds: delivered and read were reported with a
        // time before our own `sent` write, within the same second.
        let item = Item::new(Key::new("T#t#MSG#m", "MSG"))
            .with("at_queued", 1_700_000_004_900_i64)
            .with("at_sending", 1_700_000_004_950_i64)
            .with("at_sent", 1_700_000_005_432_i64)
            .with("at_delivered", 1_700_000_005_000_i64)
            .with("at_read", 1_700_000_005_000_i64);
        let order: Vec<MessageStatus> = Message::history(&item).into_iter().map(|e| e.status).collect();
        assert_eq!(
            order,
            [
                MessageStatus::Queued,
                MessageStatus::Sending,
                MessageStatus::Sent,
                MessageStatus::Delivered,
                MessageStatus::Read
            ]
        );
    }
}
