//! A tenant as stored and shown, and whether it may send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Users and API keys get 403 `tenant_suspended` (checked by the auth layers on the
    /// `status` attribute of the tenant item); queued sends are held, not dropped.
    Suspended,
}

/// The stored tenant, with its current subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: TenantStatus,
    pub plan_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub admin_user_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub plan_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Within its dates and not suspended: the tenant may send.
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: TenantStatus,
    pub plan_id: String,
    pub subscription: SubscriptionView,
    pub admin_user_id: String,
    pub created_at: DateTime<Utc>,
}

impl Tenant {
    pub fn view(&self, now: DateTime<Utc>) -> TenantView {
        TenantView {
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            status: self.status,
            plan_id: self.plan_id.clone(),
            subscription: SubscriptionView {
                plan_id: self.plan_id.clone(),
                starts_at: self.starts_at,
                ends_at: self.ends_at,
                active: sending_state(self, now) == SendingState::Active,
            },
            admin_user_id: self.admin_user_id.clone(),
            created_at: self.created_at,
        }
    }
}

/// Whether a tenant may send right now. Reading (lists, the inbox, the ledger) is never blocked
/// by the subscription dates, only by suspension (at the auth layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendingState {
    Active,
    /// Held: the send worker re-queues the tenant's messages with a delay instead of sending or
    /// failing them, so reactivation releases them in order.
    Suspended,
    /// Past `ends_at`: sends are refused with [`SendingState::error_code`] `subscription_expired`.
    Expired,
    /// Before `starts_at`.
    NotStarted,
}

impl SendingState {
    /// The stable error code an API send gets in this state.
    pub fn error_code(self) -> Option<&'static str> {
        match self {
            SendingState::Active => None,
            SendingState::Suspended => Some("tenant_suspended"),
            SendingState::Expired => Some("subscription_expired"),
            SendingState::NotStarted => Some("subscription_not_started"),
        }
    }
}

/// The rule the send pipeline applies before every send. Suspension wins over the dates.
pub fn sending_state(tenant: &Tenant, now: DateTime<Utc>) -> SendingState {
    if tenant.status == TenantStatus::Suspended {
        SendingState::Suspended
    } else if tenant.ends_at.is_some_and(|end| now >= end) {
        SendingState::Expired
    } else if now < tenant.starts_at {
        SendingState::NotStarted
    } else {
        SendingState::Active
    }
}

/// A tenant's own settings (`GET|PATCH /tenant/settings`), as stored and shown. Defaults for a
/// tenant that never saved any: [`TenantSettings::default`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"default_country": "IN", "time_zone": "Asia/Kolkata", "opt_out_keywords": ["BAND KARO"],
    "opt_in_keywords": ["SHURU"], "brand": {"name": "Sunrise College", "color": "#0b5fff", "logo_media_id": null}}))]
pub struct TenantSettings {
    /// ISO 3166 alpha-2: national-format phone numbers (`098765 43210`) are read as this country's.
    /// `null`: every number must carry its country code.
    pub default_country: Option<String>,
    /// IANA time zone name; the tenant's days (analytics) follow it.
    pub time_zone: String,
    /// Extra inbound words (besides STOP, UNSUBSCRIBE …) that opt a contact out.
    pub opt_out_keywords: Vec<String>,
    /// Extra inbound words (besides START, UNSTOP) that opt a contact back in.
    pub opt_in_keywords: Vec<String>,
    /// Themes the tenant's console.
    pub brand: Option<Brand>,
}

pub const DEFAULT_TIME_ZONE: &str = "UTC";

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            default_country: None,
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            opt_out_keywords: Vec::new(),
            opt_in_keywords: Vec::new(),
            brand: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, lower case.
    #[schema(example = "#0b5fff")]
    pub color: String,
    /// An uploaded image (see the media routes); `null`: no logo.
    pub logo_media_id: Option<String>,
}
