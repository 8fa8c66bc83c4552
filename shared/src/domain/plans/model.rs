//! A plan as stored and shown, and the validated changes to one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::money::Money;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "plan_01jd5x8m2kq7v9c3t4w6y8z0ab", "name": "Growth", "price": "1499.00", "currency": "INR", "monthly_message_limit": 10000, "contact_limit": 5000, "template_limit": 50, "api_key_limit": 5, "messages_per_second": 80, "seat_limit": 5, "media_retention_days": 90, "created_at": "2026-11-01T09:00:00Z", "updated_at": "2026-11-01T09:00:00Z"}))]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub price: Money,
    /// ISO 4217 code, upper case (`INR`, `USD`).
    pub currency: String,
    pub monthly_message_limit: u64,
    pub contact_limit: u64,
    pub template_limit: u64,
    pub api_key_limit: u64,
    pub messages_per_second: u32,
    /// Active members (admins and agents) a tenant on this plan may have; `null`: no limit (plans
    /// made before members existed).
    #[serde(default)]
    pub seat_limit: Option<u64>,
    /// Days a tenant's stored media files are kept (then deleted; their messages show
    /// `media.status: "expired"`); `null`: kept (up to the storage's 400-day bound on AWS).
    #[serde(default)]
    pub media_retention_days: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Validated fields; `None` = not given (PATCH leaves it alone).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PlanChanges {
    pub name: Option<String>,
    pub price: Option<Money>,
    pub currency: Option<String>,
    pub monthly_message_limit: Option<u64>,
    pub contact_limit: Option<u64>,
    pub template_limit: Option<u64>,
    pub api_key_limit: Option<u64>,
    pub messages_per_second: Option<u32>,
    pub seat_limit: Option<u64>,
    pub media_retention_days: Option<u64>,
}

impl PlanChanges {
    pub fn is_empty(&self) -> bool {
        *self == PlanChanges::default()
    }
}
