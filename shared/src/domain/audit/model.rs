//! The audit log's values: an entry (who, what, on what, from where, what changed), its
//! actor and target, the changes (never a secret), ids that sort by time, and what a list asks
//! for. The use cases that record and list them are the parent module's.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::user::model::{Role, User};

/// SPEC: "kept 400 days".
pub const RETENTION_DAYS: i64 = 400;

/// Every action SPEC lists, with its stable name. The list route's `action` filter takes these.
pub const ACTIONS: &[&str] = &[
    "auth.sign_in",
    "auth.sign_in_failed",
    "auth.logout",
    "auth.password_changed",
    "auth.password_reset",
    "member.invited",
    "member.changed",
    "member.removed",
    "api_key.created",
    "api_key.revoked",
    "callback.settings_changed",
    "whatsapp.connected",
    "whatsapp.disconnected",
    "whatsapp.banned",
    "whatsapp.reinstated",
    "template.created",
    "template.edited",
    "template.deleted",
    "contacts.imported",
    "contact.deleted",
    "campaign.created",
    "campaign.cancelled",
    "campaign.retried",
    "credits.added",
    "credits.corrected",
    "plan.created",
    "plan.changed",
    "plan.deleted",
    "tenant.created",
    "tenant.changed",
    "tenant.suspended",
    "tenant.reactivated",
    "tenant.welcome_resent",
    "tenant.settings_changed",
    "message.triggered",
];

/// Field names that are never recorded, whatever a caller passes (lower-case, compared as such).
pub const SECRET_FIELDS: &[&str] =
    &["password", "current_password", "new_password", "password_hash", "token", "secret", "key", "pin", "code"];

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditActorType)]
pub enum ActorType {
    User,
    SuperAdmin,
    ApiKey,
    /// The platform itself: a worker, a schedule, an event from Meta.
    System,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditActor, example = json!({"type": "user", "id": "usr_01jd5x…", "name": "Ana Silva", "email": "ana@sunrise.example"}))]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// The user's or API key's id; `system` for the platform; null for a failed sign-in with an
    /// email that has no account.
    pub id: Option<String>,
    /// The user's name, the API key's name, or `Miping` for the platform.
    pub name: Option<String>,
    /// A user's email (the email tried, for a failed sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// An API key's visible prefix (never enough to use it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
}

impl Actor {
    pub fn user(user: &User) -> Self {
        let kind = if user.role == Role::SuperAdmin { ActorType::SuperAdmin } else { ActorType::User };
        Self {
            kind,
            id: Some(user.id.clone()),
            name: Some(user.name.clone()),
            email: Some(user.email.clone()),
            key_prefix: None,
        }
    }
    pub fn api_key(key_id: &str, name: Option<String>, prefix: Option<String>) -> Self {
        Self { kind: ActorType::ApiKey, id: Some(key_id.to_owned()), name, email: None, key_prefix: prefix }
    }
    pub fn system() -> Self {
        Self {
            kind: ActorType::System,
            id: Some("system".into()),
            name: Some("Miping".into()),
            email: None,
            key_prefix: None,
        }
    }
    /// Someone not signed in (a sign-in attempt, a password reset by emailed link), until known.
    pub fn anonymous(email: Option<&str>) -> Self {
        Self { kind: ActorType::User, id: None, name: None, email: email.map(str::to_owned), key_prefix: None }
    }
}

/// What was acted on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditTarget)]
pub struct Target {
    /// `user`, `member`, `api_key`, `tenant`, `plan`, `template`, `campaign`, `contact`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

impl Target {
    pub fn new(kind: &str, id: impl Into<String>) -> Self {
        Self { kind: kind.to_owned(), id: Some(id.into()) }
    }
}

/// The fields an action changed: `{field: [before, after]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Changes(pub BTreeMap<String, (Value, Value)>);

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One field's change (nothing when equal; never a secret field).
    pub fn field(mut self, name: &str, before: impl Serialize, after: impl Serialize) -> Self {
        let (b, a) = (to_value(before), to_value(after));
        if b != a && !is_secret(name) {
            self.0.insert(name.to_owned(), (b, a));
        }
        self
    }

    /// A field set where there was none (a creation): `[null, value]`.
    pub fn set(self, name: &str, value: impl Serialize) -> Self {
        self.field(name, Value::Null, value)
    }

    /// The named fields that differ between two serializations of the same thing (top-level keys
    /// of their JSON objects).
    pub fn diff(before: &impl Serialize, after: &impl Serialize, fields: &[&str]) -> Self {
        let (b, a) = (to_value(before), to_value(after));
        fields.iter().fold(Self::default(), |acc, f| {
            acc.field(f, b.get(*f).cloned().unwrap_or(Value::Null), a.get(*f).cloned().unwrap_or(Value::Null))
        })
    }
}

impl Changes {
    /// Every top-level field that differs between two serializations of the same thing.
    pub fn diff_all(before: &impl Serialize, after: &impl Serialize) -> Self {
        let (b, a) = (to_value(before), to_value(after));
        let mut names: Vec<&String> = b.as_object().into_iter().chain(a.as_object()).flat_map(|o| o.keys()).collect();
        names.sort();
        names.dedup();
        names.into_iter().fold(Self::default(), |acc, f| {
            acc.field(f, b.get(f).cloned().unwrap_or(Value::Null), a.get(f).cloned().unwrap_or(Value::Null))
        })
    }
}

fn to_value(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn is_secret(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    SECRET_FIELDS.iter().any(|s| f == *s || f.ends_with(&format!("_{s}")))
}

/// One entry, as stored and as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditEntry, example = json!({"id": "aud_01jd5xa1b2c3d4e5f6g7h8j9k0", "at": "2026-11-21T08:00:00Z", "tenant_id": "ten_01jd…",
    "actor": {"type": "user", "id": "usr_01jd…", "name": "Ana Silva", "email": "ana@sunrise.example"},
    "action": "member.changed", "target": {"type": "member", "id": "usr_01je…"}, "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0", "request_id": "req_01jd…", "changes": {"role": ["TENANT_AGENT", "TENANT_ADMIN"]}}))]
pub struct Entry {
    /// `aud_<ULID>`: sorts by time.
    pub id: String,
    pub at: DateTime<Utc>,
    /// The tenant the action concerns (null for platform actions such as plan changes).
    pub tenant_id: Option<String>,
    pub actor: Actor,
    /// A stable dotted name: `auth.sign_in`, `auth.sign_in_failed`, `auth.logout`, `auth.password_changed`,
    /// `auth.password_reset`, `member.invited`, `member.changed`, `member.removed`, `api_key.created`,
    /// `api_key.revoked`, `callback.settings_changed`, `whatsapp.connected`, `whatsapp.disconnected`,
    /// `whatsapp.banned`, `whatsapp.reinstated`, `template.created`, `template.edited`,
    /// `template.deleted`, `contacts.imported`, `contact.deleted`, `campaign.created`,
    /// `campaign.cancelled`, `campaign.retried`, `credits.added`, `credits.corrected`, `plan.created`, `plan.changed`,
    /// `plan.deleted`, `tenant.created`, `tenant.changed`, `tenant.suspended`, `tenant.reactivated`,
    /// `tenant.welcome_resent`, `tenant.settings_changed`, `message.triggered` (by an API key).
    #[schema(example = "member.invited")]
    pub action: String,
    pub target: Target,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// `{field: [before, after]}` of the fields the action changed; never a secret.
    #[serde(default, skip_serializing_if = "Changes::is_empty")]
    #[schema(value_type = Option<Object>)]
    pub changes: Changes,
}

impl Entry {
    /// Changes recorded with the entry.
    pub fn changes(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }

    /// Makes the id a function of `key` (and the entry's time to the millisecond given by
    /// `at`), so the same action recorded twice is one entry.
    pub fn dedup(mut self, key: &str, at: DateTime<Utc>) -> Self {
        let at = DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at);
        self.at = at;
        self.id = deterministic_id(at, &format!("{}\0{key}", self.action));
        self
    }

    /// The entry's `ttl` (epoch seconds).
    pub fn expires_at(&self) -> i64 {
        (self.at + Duration::days(RETENTION_DAYS)).timestamp()
    }
}

/// `aud_<ULID>` at `at`: a process-wide counter in the random part's high bits keeps the entries
/// one process makes in the same millisecond in the order it made them.
pub fn new_id(at: DateTime<Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    const LOW: u128 = (1 << 40) - 1;
    let seq = u128::from(SEQ.fetch_add(1, Ordering::Relaxed)) & LOW;
    let random = u128::from(rand::random::<u64>()) & LOW;
    let ulid = ulid::Ulid::from_parts(at.timestamp_millis().max(0) as u64, (seq << 40) | random);
    format!("aud_{}", ulid.to_string().to_ascii_lowercase())
}

fn deterministic_id(at: DateTime<Utc>, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ulid = ulid::Ulid::from_parts(at.timestamp_millis().max(0) as u64, u128::from_be_bytes(random));
    format!("aud_{}", ulid.to_string().to_ascii_lowercase())
}

/// The lowest and highest entry ids at `at` (the bounds of a time filter).
pub fn id_bounds(at: DateTime<Utc>) -> (String, String) {
    let ms = at.timestamp_millis().max(0) as u64;
    let low = ulid::Ulid::from_parts(ms, 0);
    let high = ulid::Ulid::from_parts(ms, u128::MAX);
    (format!("aud_{}", low.to_string().to_ascii_lowercase()), format!("aud_{}", high.to_string().to_ascii_lowercase()))
}

/// What a list asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Whose entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One tenant's (including what the super admin did to it).
    Tenant(&'a str),
    /// Every entry, tenants' and the platform's.
    Platform,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn secret_fields_are_never_recorded() {
        let c = Changes::default()
            .field("secret", "old", "new")
            .field("callback_secret", "a", "b")
            .field("new_password", "x", "y")
            .field("url", "https://a.example", "https://b.example")
            .field("name", "same", "same");
        assert_eq!(c.0.keys().collect::<Vec<_>>(), vec!["url"]);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"url": ["https://a.example", "https://b.example"]})
        );
    }

    #[test]
    fn diff_names_only_the_fields_asked_for() {
        let before = serde_json::json!({"role": "TENANT_AGENT", "name": "A", "status": "active"});
        let after = serde_json::json!({"role": "TENANT_ADMIN", "name": "A", "status": "active"});
        let c = Changes::diff(&before, &after, &["role", "name"]);
        assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!({"role": ["TENANT_AGENT", "TENANT_ADMIN"]}));
    }

    #[test]
    fn deterministic_ids_sort_by_time_and_depend_on_the_key() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let a = deterministic_id(at, "x");
        assert_eq!(a, deterministic_id(at, "x"));
        assert_ne!(a, deterministic_id(at, "y"));
        let (low, high) = id_bounds(at);
        assert!(low <= a && a <= high, "{low} {a} {high}");
        assert!(high < deterministic_id(at + Duration::milliseconds(1), "x"));
    }
}
