//! A contact as stored and shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The stored contact. Optional fields are left out of the item when absent, so conditions
/// can say "no phone" as `attribute_not_exists`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub opted_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<DateTime<Utc>>,
    /// How the contact opted out: `keyword` (an inbound STOP...), `meta` (Meta's marketing
    /// preference) or `api` (a PATCH, the console). Cleared when it opts back in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency: every replace is conditioned on the version it read.
    #[serde(default)]
    pub version: i64,
}

impl Contact {
    /// A new contact with nothing but its identity.
    pub fn new(id: String, tenant_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            id,
            tenant_id: tenant_id.to_owned(),
            phone: None,
            wa_user_id: None,
            username: None,
            name: None,
            attributes: Map::new(),
            tags: Vec::new(),
            opted_out: false,
            opted_out_at: None,
            opt_out_source: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// What `?q=` searches: name, phone, username and WhatsApp user id, lower-cased, one per
    /// line (a newline never occurs in a query, so a match never spans two fields).
    pub fn search_text(&self) -> String {
        [self.name.as_deref(), self.phone.as_deref(), self.username.as_deref(), self.wa_user_id.as_deref()]
            .into_iter()
            .flatten()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A contact as the API shows it: every field present (`null` when unknown), no internals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: String,
    pub phone: Option<String>,
    pub wa_user_id: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub attributes: Map<String, Value>,
    pub tags: Vec<String>,
    pub opted_out: bool,
    pub opted_out_at: Option<DateTime<Utc>>,
    /// `keyword`, `meta` or `api` while opted out.
    pub opt_out_source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Contact> for ContactView {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id,
            phone: c.phone,
            wa_user_id: c.wa_user_id,
            username: c.username,
            name: c.name,
            attributes: c.attributes,
            tags: c.tags,
            opted_out: c.opted_out,
            opted_out_at: c.opted_out_at,
            opt_out_source: c.opt_out_source,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}
