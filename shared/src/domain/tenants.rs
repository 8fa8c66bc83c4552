//! Tenants and their subscription: provisioning (tenant + subscription + admin user in one
//! transaction, then the welcome email through the mail queue), the admin's changes (plan,
//! end date, suspension), and the rule the send pipeline applies before sending.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::password;
use crate::domain::user::{Role, User, normalize_email};
use crate::domain::welcome_mail;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::Update;
use crate::store::plans::Plans;
use crate::store::tenants::{ProvisionConflict, Tenants};
use crate::store::users::Users;

pub mod model;
pub mod settings;
pub use model::{
    Brand, SendingState, SubscriptionView, Tenant, TenantSettings, TenantStatus, TenantView, sending_state,
};

pub const MAX_NAME_LEN: usize = 100;
pub const MIN_SLUG_LEN: usize = 3;
pub const MAX_SLUG_LEN: usize = 40;

/// Lower-case letters, digits and single hyphens inside; 3 to 40 characters. Slugs end up in
/// URLs and email subjects, so nothing that needs escaping.
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    (MIN_SLUG_LEN..=MAX_SLUG_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && !slug.contains("--")
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "Sunrise College", "slug": "sunrise-college", "admin_email": "admin@sunrise.example", "admin_name": "Asha Rao", "plan_id": "plan_01jd5x8m2kq7v9c3t4w6y8z0ab", "ends_at": "2027-11-01T00:00:00Z"}))]
#[serde(deny_unknown_fields)]
pub struct ProvisionInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub admin_email: Option<String>,
    pub admin_name: Option<String>,
    pub plan_id: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminUserRef {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Provisioned {
    pub tenant: TenantView,
    pub admin_user: AdminUserRef,
}

fn text_field(errors: &mut Vec<FieldError>, field: &str, value: Option<String>) -> String {
    crate::domain::text::name(field, value.as_deref(), MAX_NAME_LEN).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    })
}

/// `POST /admin/tenants`.
pub async fn provision(ports: &Ports, public_url: &str, input: ProvisionInput) -> Result<Provisioned, Error> {
    let now = ports.clock.now();
    let mut errors = Vec::new();
    let name = text_field(&mut errors, "name", input.name);
    let admin_name = text_field(&mut errors, "admin_name", input.admin_name);
    let slug = input.slug.unwrap_or_default();
    if slug.is_empty() {
        errors.push(FieldError::new("slug", "required", "is required"));
    } else if !is_valid_slug(&slug) {
        errors.push(FieldError::new(
            "slug",
            "invalid_slug",
            format!("must be {MIN_SLUG_LEN} to {MAX_SLUG_LEN} lower-case letters, digits and single inner hyphens"),
        ));
    }
    let email = match input.admin_email.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("admin_email", "required", "is required"));
            None
        }
        Some(raw) => {
            let e = normalize_email(raw);
            if e.is_none() {
                errors.push(FieldError::new("admin_email", "invalid_email", "is not an email address"));
            }
            e
        }
    };
    let starts_at = input.starts_at.unwrap_or(now);
    if input.ends_at.is_some_and(|end| end <= starts_at) {
        errors.push(FieldError::new("ends_at", "before_start", "must be after starts_at"));
    }
    let plan_id = input.plan_id.unwrap_or_default();
    if plan_id.is_empty() {
        errors.push(FieldError::new("plan_id", "required", "is required"));
    } else if Plans::new(&*ports.table).get(&plan_id).await?.is_none() {
        errors.push(unknown_plan());
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let email = email.ok_or_else(|| Error::internal("validated email missing"))?;

    let tenant = Tenant {
        id: ports.ids.new_id("ten"),
        name,
        slug,
        status: TenantStatus::Active,
        plan_id,
        starts_at,
        ends_at: input.ends_at,
        admin_user_id: ports.ids.new_id("usr"),
        created_at: now,
        updated_at: now,
    };
    let one_time = password::generate();
    let admin = User {
        id: tenant.admin_user_id.clone(),
        email,
        name: admin_name,
        role: Role::TenantAdmin,
        tenant_id: Some(tenant.id.clone()),
        password_hash: password::hash(one_time.clone()).await.map_err(Error::internal)?,
        must_change_password: true,
        status: Default::default(),
        created_at: now,
        updated_at: now,
    };
    // Sealed before the commit so that nothing can fail between the commit and the enqueue
    // except the enqueue itself.
    let mail = welcome_mail::WelcomeJob::seal(ports, &tenant, &admin, &one_time, public_url).await?;
    match Tenants::new(&*ports.table).provision(&tenant, &admin).await? {
        Ok(()) => {}
        Err(conflicts) => return Err(provision_conflict(&conflicts)),
    }
    welcome_mail::enqueue(ports, &mail).await;
    Ok(Provisioned { tenant: tenant.view(now), admin_user: AdminUserRef { id: admin.id, email: admin.email } })
}

fn unknown_plan() -> FieldError {
    FieldError::new("plan_id", "unknown_plan", "no plan with this id")
}

fn provision_conflict(conflicts: &[ProvisionConflict]) -> Error {
    if conflicts.contains(&ProvisionConflict::SlugTaken) {
        Error::conflict("slug_taken", "a tenant with this slug already exists")
    } else if conflicts.contains(&ProvisionConflict::EmailTaken) {
        Error::conflict("email_taken", "a user with this email already exists")
    } else {
        // The plan was deleted between our check and the commit.
        Error::validation(vec![unknown_plan()])
    }
}

pub async fn get(ports: &Ports, tenant_id: &str) -> Result<Tenant, Error> {
    Tenants::new(&*ports.table).get(tenant_id).await?.ok_or_else(|| Error::not_found("tenant"))
}

/// `PATCH /admin/tenants/{id}`. `ends_at: null` removes the end date.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "suspended"}))]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub plan_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub status: Option<TenantStatus>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Attempts before a concurrently changing tenant is reported as a conflict.
const PATCH_ATTEMPTS: usize = 5;

pub async fn patch(ports: &Ports, tenant_id: &str, patch: TenantPatch) -> Result<Tenant, Error> {
    let repo = Tenants::new(&*ports.table);
    for _ in 0..PATCH_ATTEMPTS {
        let tenant = get(ports, tenant_id).await?;
        let mut errors = Vec::new();
        if let Some(Some(end)) = patch.ends_at
            && end <= tenant.starts_at
        {
            errors.push(FieldError::new("ends_at", "before_start", "must be after starts_at"));
        }
        if patch.plan_id.as_deref() == Some("") {
            errors.push(FieldError::new("plan_id", "required", "must not be empty"));
        }
        if !errors.is_empty() {
            return Err(Error::validation(errors));
        }
        let now = ports.clock.now();
        let mut update = Update::new().set("updated_at", now.to_rfc3339());
        match patch.ends_at {
            Some(Some(end)) => update = update.set("ends_at", end.to_rfc3339()),
            Some(None) => update = update.set("ends_at", serde_json::Value::Null),
            None => {}
        }
        if let Some(status) = patch.status {
            update = update.set("status", serde_json::to_value(status).map_err(Error::internal)?);
        }
        let new_plan = patch.plan_id.clone().unwrap_or_else(|| tenant.plan_id.clone());
        match repo.update(tenant_id, &tenant.plan_id, &new_plan, update).await? {
            Ok(true) => {
                if patch.status == Some(TenantStatus::Suspended) {
                    // Its users are out at once: every session ends (they get 401
                    // `session_revoked`; a new sign-in meets 403 `tenant_suspended`).
                    crate::domain::sessions::end_all_for_tenant(ports, tenant_id).await?;
                }
                if patch.status.is_some() || patch.ends_at.is_some() {
                    // Reactivated or renewed: the sends held meanwhile go out now (sending::hold).
                    crate::domain::campaigns::fanout::release_held_after_change(ports, tenant_id).await;
                }
                return get(ports, tenant_id).await;
            }
            Ok(false) => continue,
            Err(_) => return Err(Error::validation(vec![unknown_plan()])),
        }
    }
    Err(Error::conflict("conflict", "the tenant was changed concurrently; retry"))
}

/// `POST /admin/tenants/{id}/resend-welcome`: a new one-time password for the tenant's admin
/// (the old one stops working at once), emailed like the first. Only while the admin has not
/// chosen a password yet (409 `welcome_already_used`: from then on it is theirs, and a lost one
/// is what forgot-password is for).
pub async fn resend_welcome(ports: &Ports, public_url: &str, tenant_id: &str) -> Result<AdminUserRef, Error> {
    let tenant = get(ports, tenant_id).await?;
    let users = Users::new(&*ports.table);
    let admin = users.get(&tenant.admin_user_id).await?.ok_or_else(|| Error::not_found("tenant admin user"))?;
    if !admin.must_change_password {
        return Err(welcome_already_used());
    }
    let one_time: SecretString = password::generate();
    let hash = password::hash(one_time.clone()).await.map_err(Error::internal)?;
    let mail = welcome_mail::WelcomeJob::seal(ports, &tenant, &admin, &one_time, public_url).await?;
    // Conditional on the one-time password still being in place: an admin who changes it while
    // this runs keeps theirs.
    if !users.set_one_time_password(&admin.id, &hash, ports.clock.now()).await? {
        return Err(welcome_already_used());
    }
    // A re-issued password is a reset: whoever was signed in as that user is signed out.
    crate::domain::sessions::end_all_for_user(ports, &admin.id, None).await?;
    welcome_mail::enqueue(ports, &mail).await;
    Ok(AdminUserRef { id: admin.id, email: admin.email })
}

fn welcome_already_used() -> Error {
    Error::conflict(
        "welcome_already_used",
        "the tenant admin has already chosen a password; they can use forgot-password to reset it",
    )
}

/// What a tenant has used this period and its credit balance: `GET /tenant` and the super
/// admin's `GET /admin/tenants/{id}` show the same.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub usage: crate::domain::usage::Usage,
    pub balance: crate::domain::money::Money,
}

pub async fn standing(ports: &Ports, tenant: &Tenant) -> Result<Standing, Error> {
    Ok(Standing {
        usage: crate::domain::usage::current(ports, &tenant.id, tenant.starts_at).await?,
        balance: crate::domain::billing::balance(ports, &tenant.id).await?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn tenant(now: DateTime<Utc>) -> Tenant {
        Tenant {
            id: "ten_1".into(),
            name: "Acme".into(),
            slug: "acme".into(),
            status: TenantStatus::Active,
            plan_id: "plan_1".into(),
            starts_at: now - Duration::days(1),
            ends_at: Some(now + Duration::days(1)),
            admin_user_id: "usr_1".into(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn sending_state_follows_status_then_dates() {
        let now = Utc::now();
        let mut t = tenant(now);
        assert_eq!(sending_state(&t, now), SendingState::Active);
        assert_eq!(sending_state(&t, now + Duration::days(1)), SendingState::Expired);
        assert_eq!(sending_state(&t, now - Duration::days(2)), SendingState::NotStarted);
        t.status = TenantStatus::Suspended;
        assert_eq!(sending_state(&t, now + Duration::days(2)), SendingState::Suspended);
        assert_eq!(SendingState::Expired.error_code(), Some("subscription_expired"));
        t.status = TenantStatus::Active;
        t.ends_at = None;
        assert_eq!(sending_state(&t, now + Duration::days(3650)), SendingState::Active);
        assert!(t.view(now).subscription.active);
    }

    #[test]
    fn slugs() {
        for ok in ["acme", "acme-2", "a1b", "0-0"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["", "ab", "Acme", "-acme", "acme-", "ac--me", "ac me", "acmé", &"a".repeat(41)] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}
