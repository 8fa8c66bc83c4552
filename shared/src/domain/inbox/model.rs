//! A conversation as stored and shown, with Meta's customer service window.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::messages::model::Direction;

/// Meta's customer service window.
pub const SERVICE_WINDOW: Duration = Duration::hours(24);

/// `open` until someone resolves it; a new inbound message opens it again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    #[default]
    Open,
    Resolved,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Resolved].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: String,
    pub tenant_id: String,
    pub contact_id: String,
    #[serde(default)]
    pub status: ConversationStatus,
    /// The member (a user of the tenant) it is assigned to.
    #[serde(default)]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub unread_count: i64,
    #[serde(default)]
    pub last_message_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_message_preview: Option<String>,
    #[serde(default)]
    pub last_direction: Option<Direction>,
    /// The last message's kind (`text`, `template`, `image`, ...).
    #[serde(default)]
    pub last_kind: Option<String>,
    /// When the customer last wrote: the service window runs 24 h from here.
    #[serde(default)]
    pub last_inbound_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// Who the conversation is with, as the list shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ContactSummary {
    pub id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// The WhatsApp user id (username-only users have no phone).
    pub user_id: Option<String>,
    pub username: Option<String>,
}

/// The member a conversation is assigned to.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Assignee {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LastMessage {
    pub direction: Option<Direction>,
    pub kind: Option<String>,
    pub preview: Option<String>,
    pub at: DateTime<Utc>,
}

/// A conversation as the API shows it (SPEC → Inbox). The stored fields (`contact_id`,
/// `unread_count`, `last_message_preview`, ...) stay beside the SPEC's shape.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub contact: ContactSummary,
    pub assignee: Option<Assignee>,
    pub unread: i64,
    pub last_message: Option<LastMessage>,
    pub window_open: bool,
    pub window_expires_at: Option<DateTime<Utc>>,
}

impl Conversation {
    pub fn window_expires_at(&self) -> Option<DateTime<Utc>> {
        self.last_inbound_at.map(|t| t + SERVICE_WINDOW)
    }
    pub fn window_open(&self, now: DateTime<Utc>) -> bool {
        self.window_expires_at().is_some_and(|t| now < t)
    }
    pub fn view(self, now: DateTime<Utc>, contact: ContactSummary, assignee: Option<Assignee>) -> ConversationView {
        let last_message = self.last_message_at.map(|at| LastMessage {
            direction: self.last_direction,
            kind: self.last_kind.clone(),
            preview: self.last_message_preview.clone(),
            at,
        });
        ConversationView {
            window_open: self.window_open(now),
            window_expires_at: self.window_expires_at(),
            unread: self.unread_count,
            last_message,
            contact,
            assignee,
            conversation: self,
        }
    }
}

/// A canned reply: a tenant's saved answer, picked by `/shortcut` (see `inbox::canned`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "cnr_01jd5xa1b2c3d4e5f6g7h8j9k0", "shortcut": "fees", "text": "Hi {{contact.name}}, the fee for {{contact.attributes.course}} is due on the 5th.", "created_at": "2026-11-21T08:00:00Z", "updated_at": "2026-11-21T08:00:00Z"}))]
pub struct CannedReply {
    pub id: String,
    #[serde(skip_serializing)]
    #[serde(default)]
    pub tenant_id: String,
    pub shortcut: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
