//! Users: people who log in with an email and password (super admins, tenant admins and agents).

pub mod model;
pub use model::{MemberStatus, Role, User, UserView};

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
    use chrono::Utc;

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
            status: Default::default(),
            created_at: now,
            updated_at: now,
        };
        assert!(!format!("{u:?}").contains("argon2"));
    }
}
