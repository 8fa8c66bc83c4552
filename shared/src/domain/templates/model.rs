//! The template as the API shows it and the store keeps it (one shape: the tenant id lives in
//! the key, never in the entity), and the request bodies.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::ParamSchema;

pub const CATEGORIES: [&str; 3] = ["MARKETING", "UTILITY", "AUTHENTICATION"];

/// Our own status while the reservation is written but Meta has not answered yet. A row stuck
/// here (the process died between the two) is settled by the next sync.
pub const SUBMITTING: &str = "SUBMITTING";
pub const PENDING: &str = "PENDING";

/// Every status a row can have: ours (`SUBMITTING`) and Meta's.
pub const STATUSES: [&str; 11] = [
    SUBMITTING,
    PENDING,
    "APPROVED",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterFormat {
    /// `{{1}}`, `{{2}}`, ...
    #[default]
    Positional,
    /// `{{first_name}}`, ...
    Named,
}

impl ParameterFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Positional => "POSITIONAL",
            Self::Named => "NAMED",
        }
    }
}

/// `POST /templates` and `POST /admin/templates`. Everything optional so that a missing field
/// is a 422 naming it (not serde's 400).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "fee_reminder", "language": "en", "category": "UTILITY", "components": [{"type": "BODY", "text": "Hi {{1}}, your fee of INR {{2}} is due on {{3}}.", "example": {"body_text": [["Asha", "12,500", "30 Nov"]]}}]}))]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub language: Option<String>,
    pub category: Option<String>,
    pub components: Option<Value>,
    pub parameter_format: Option<String>,
}

/// `PATCH /templates/{id}`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateEditInput {
    pub components: Option<Value>,
    pub category: Option<String>,
}

/// A template of one tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub components: Value,
    #[serde(default)]
    pub parameter_format: ParameterFormat,
    pub meta_template_id: Option<String>,
    /// Meta's reason (`INVALID_FORMAT`, `SCAM`, ...) while REJECTED.
    pub rejection_reason: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `UNKNOWN` (quality webhooks).
    #[serde(default)]
    pub quality: Option<String>,
    /// What a send must supply (see `schema`).
    pub parameters: ParamSchema,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A platform library template (super admin): created in each tenant's WABA on install.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LibraryTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub components: Value,
    #[serde(default)]
    pub parameter_format: ParameterFormat,
    pub parameters: ParamSchema,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SyncReport {
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InstallFailure {
    pub name: String,
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InstallReport {
    pub installed: u64,
    pub skipped: u64,
    pub failed: Vec<InstallFailure>,
}
