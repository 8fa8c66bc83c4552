//! A conversation as stored and shown, with Meta's customer service window.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::messages::model::Direction;

/// Meta's customer service window.
pub const SERVICE_WINDOW: Duration = Duration::hours(24);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: String,
    pub tenant_id: String,
    pub contact_id: String,
    #[serde(default)]
    pub unread_count: i64,
    #[serde(default)]
    pub last_message_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_message_preview: Option<String>,
    #[serde(default)]
    pub last_direction: Option<Direction>,
    /// When the customer last wrote: the service window runs 24 h from here.
    #[serde(default)]
    pub last_inbound_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    #[serde(flatten)]
    pub conversation: Conversation,
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
    pub fn view(self, now: DateTime<Utc>) -> ConversationView {
        ConversationView {
            window_open: self.window_open(now),
            window_expires_at: self.window_expires_at(),
            conversation: self,
        }
    }
}
