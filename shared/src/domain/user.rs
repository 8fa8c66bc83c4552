//! Users: people who log in with an email and password (super admins and tenant admins).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    SuperAdmin,
    TenantAdmin,
}

/// The stored user. `password_hash` is an argon2id PHC string; it never leaves the store
/// (responses use [`UserView`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// What the API shows of a user.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub must_change_password: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            tenant_id: u.tenant_id.clone(),
            must_change_password: u.must_change_password,
        }
    }
}

/// Normalises an email for storage and comparison: trimmed, and validated loosely (one `@`,
/// something on both sides, a dot in the domain). Full RFC 5322 validation rejects real
/// addresses more often than it catches typos; the welcome email is the real check.
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim();
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| format!("{local}@{}", domain.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(normalize_email("  Ana@Example.COM "), Some("Ana@example.com".into()));
        for bad in ["", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@b@c.d", "a@.com", "a@com."] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_hash() {
        let now = Utc::now();
        let u = User {
            id: "usr_1".into(),
            email: "a@b.c".into(),
            name: "A".into(),
            role: Role::SuperAdmin,
            tenant_id: None,
            password_hash: "$argon2id$secret".into(),
            must_change_password: false,
            created_at: now,
            updated_at: now,
        };
        assert!(!format!("{u:?}").contains("argon2"));
    }
}
