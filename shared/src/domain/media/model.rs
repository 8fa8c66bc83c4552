//! A media item: one file of a tenant (uploaded to send, or a customer's fetched from Meta), its
//! type and where its bytes are stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::types::MediaKind;

/// Where a media item is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// A direct upload was granted (`POST /media/uploads`); its bytes are not checked yet.
    Uploading,
    /// Inbound: recorded from the webhook, not fetched from Meta yet.
    Pending,
    /// Stored and checked: it can be downloaded and sent.
    Ready,
    /// Inbound: fetching it failed for good (`error` says why).
    Failed,
    /// A direct upload whose bytes were not what it declared: deleted.
    Rejected,
    /// Deleted after the plan's retention.
    Expired,
}

impl MediaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaStatus::Uploading => "uploading",
            MediaStatus::Pending => "pending",
            MediaStatus::Ready => "ready",
            MediaStatus::Failed => "failed",
            MediaStatus::Rejected => "rejected",
            MediaStatus::Expired => "expired",
        }
    }
}

/// Files customers sent, or files the tenant sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaDirection {
    Inbound,
    Outbound,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    pub id: String,
    pub tenant_id: String,
    pub kind: MediaKind,
    pub mime_type: String,
    pub size: u64,
    /// Lowercase hex; `None` until the bytes were seen (a direct upload before its check).
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub direction: MediaDirection,
    pub status: MediaStatus,
    /// The storage key (`tenants/{tenant_id}/{inbound|outbound}/…`).
    pub storage_key: String,
    /// The member who uploaded it.
    #[serde(default)]
    pub uploaded_by: Option<String>,
    /// Inbound media: the conversation its message is in (an agent sees it only if they see that).
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Why it failed or was rejected.
    #[serde(default)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A media item as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Media, example = json!({"id": "med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y", "kind": "document", "mime_type": "application/pdf",
    "size": 48213, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "filename": "invoice-42.pdf",
    "status": "ready", "created_at": "2026-12-06T10:00:00Z"}))]
pub struct MediaView {
    pub id: String,
    pub kind: MediaKind,
    pub mime_type: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes; `null` until a direct upload is checked.
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub status: MediaStatus,
    pub created_at: DateTime<Utc>,
}

impl From<MediaItem> for MediaView {
    fn from(m: MediaItem) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            mime_type: m.mime_type,
            size: m.size,
            sha256: m.sha256,
            filename: m.filename,
            status: m.status,
            created_at: m.created_at,
        }
    }
}

/// A media message's file, as its message shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y", "kind": "image", "status": "ready", "mime_type": "image/jpeg"}))]
pub struct MessageMedia {
    /// The media id (`GET /media/{id}`).
    pub id: String,
    pub kind: MediaKind,
    /// `pending` while it is fetched from WhatsApp, then `ready` or `failed` (with `error`).
    pub status: MediaStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<&MediaItem> for MessageMedia {
    fn from(item: &MediaItem) -> Self {
        MessageMedia {
            id: item.id.clone(),
            kind: item.kind,
            status: item.status,
            mime_type: Some(item.mime_type.clone()).filter(|m| !m.is_empty()),
            filename: item.filename.clone(),
            error: item.error.clone(),
        }
    }
}
