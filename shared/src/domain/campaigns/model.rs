//! A campaign as stored and shown, with its counts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::messages::header::TemplateHeader;
use crate::domain::templates::schema::ParamSchema;
use crate::ports::table::{Item, TableError};

/// `scheduled` → `running` → `completed`, or `cancelled` from any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Scheduled,
    Running,
    Completed,
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Exactly one of the three is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = CampaignAudience, example = json!({"tags": ["vip"]}))]
pub struct Audience {
    /// Every contact of the tenant.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// Contacts with any of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Exactly these contacts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: String,
    pub name: String,
    pub language: String,
    /// Meta's pricing category, lower case (what each message costs).
    pub category: String,
}

/// The stored campaign. The progress fields are written by the fan-out with `ADD`/`SET`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub template: TemplateRef,
    /// The template's parameter schema when the campaign was created: what the messages are
    /// built from, even if the template changes later.
    pub schema: ParamSchema,
    pub audience: Audience,
    pub variables: Vec<Value>,
    /// Templates with a media header: the header every recipient gets (or their link mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<TemplateHeader>,
    pub status: CampaignStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Plan quota counted for this campaign when it was created (the audience's size then), in
    /// the usage period `usage_period`; what is not used is given back exactly once.
    pub reserved: i64,
    pub usage_period: String,
    /// The audience size: estimated at creation, exact once the fan-out finished or stopped.
    pub total: i64,
    /// Messages created so far.
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub skipped_opted_out: i64,
    /// Contacts missing a mapped value (or with one the template cannot take), or without a
    /// phone, or deleted since the campaign was created.
    #[serde(default)]
    pub skipped_missing_data: i64,
    /// The next page the fan-out will do, and where it starts.
    #[serde(default)]
    pub fanout_page: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout_cursor: Option<String>,
    /// The unused reservation was given back (fan-out finished, or stopped by a cancel).
    #[serde(default)]
    pub settled: bool,
}

/// What the API shows.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "cmp_01jd5xa1b2c3d4e5f6g7h8j9k0",
    "name": "November fee reminder",
    "template": {"name": "fee_reminder", "language": "en"},
    "audience": {"tags": ["class-10"]},
    "variables": ["{{contact.name}}", "{{contact.attributes.fee}}", "30 Nov"],
    "status": "running",
    "schedule_at": null,
    "created_at": "2026-11-21T08:00:00Z",
    "started_at": "2026-11-21T08:00:00Z",
    "completed_at": null,
    "cancelled_at": null,
    "counts": {"total": 1200, "queued": 310, "sent": 420, "delivered": 380, "read": 60, "failed": 4,
               "cancelled": 0, "skipped_opted_out": 21, "skipped_missing_data": 5}
}))]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub template: TemplateRefView,
    pub audience: Audience,
    /// As given at creation: mappings (`{{contact.name}}`, ...) and literals.
    pub variables: Vec<Value>,
    /// Templates with a media header: `{kind, media_id | link, filename?}` as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<TemplateHeader>,
    pub status: CampaignStatus,
    pub schedule_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the fan-out began (at creation, or when a scheduled campaign was released).
    pub started_at: Option<DateTime<Utc>>,
    /// When every recipient had its message (the messages may still be on their way).
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub counts: Counts,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = CampaignTemplate)]
pub struct TemplateRefView {
    pub name: String,
    pub language: String,
}

/// SPEC counts, plus `cancelled` and `skipped_missing_data`. The status counts are live: each
/// message is counted in the status it is in now (`queued` includes `sending`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = CampaignCounts)]
pub struct Counts {
    /// The audience size: estimated at creation (for `all`, opted-out contacts included), exact
    /// once the fan-out finished or was cancelled.
    pub total: i64,
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    /// Messages not sent yet when the campaign was cancelled.
    pub cancelled: i64,
    /// Contacts that had opted out: no message.
    pub skipped_opted_out: i64,
    /// Contacts lacking a mapped value (or with one the template cannot take), without a phone,
    /// or deleted since the campaign was created: no message.
    pub skipped_missing_data: i64,
}

impl Campaign {
    pub fn from_item(item: &Item) -> Result<Self, TableError> {
        item.to_entity()
    }

    pub fn view(self, counts: StatusCounts) -> CampaignView {
        CampaignView {
            counts: Counts {
                total: self.total,
                queued: counts.queued,
                sent: counts.sent,
                delivered: counts.delivered,
                read: counts.read,
                failed: counts.failed,
                cancelled: counts.cancelled,
                skipped_opted_out: self.skipped_opted_out,
                skipped_missing_data: self.skipped_missing_data,
            },
            id: self.id,
            name: self.name,
            template: TemplateRefView { name: self.template.name, language: self.template.language },
            audience: self.audience,
            variables: self.variables,
            header: self.header,
            status: self.status,
            schedule_at: self.schedule_at,
            created_at: self.created_at,
            started_at: self.started_at,
            completed_at: self.completed_at,
            cancelled_at: self.cancelled_at,
        }
    }
}

/// The summed counts of a campaign's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    pub fn messages(&self) -> i64 {
        self.queued + self.sent + self.delivered + self.read + self.failed + self.cancelled
    }
}
