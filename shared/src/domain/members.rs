//! A tenant's team (SPEC → Team): invite members (admins or agents) with a one-time password
//! emailed like the tenant's welcome email, list them, change their role, status or name, remove
//! them.
//!
//! Rules, all exact under concurrency (`store::members`: one transaction with the seat counter):
//! - the plan's `seat_limit` caps the *active* members (429 `seat_limit_reached` on an invitation
//!   or a reactivation past it);
//! - the last active admin cannot be removed, deactivated or demoted (409 `last_admin`);
//! - a role change, a deactivation or a removal ends every session of that member at once (their
//!   tokens get 401 `session_revoked`); a deactivated member cannot sign in.
//!
//! Another tenant's member id (or the super admin's) is 404, never 403.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::user::{MemberStatus, Role, User, normalize_email};
use crate::domain::{Error, FieldError, limits, password, sessions, tenants, welcome_mail};
use crate::ports::Ports;
use crate::ports::table::Update;
use crate::store::members::{Members, Refused};
use crate::store::users::Users;

pub const MAX_NAME_LEN: usize = 100;
/// Attempts before a member that keeps changing under us is reported as a conflict.
const ATTEMPTS: usize = 5;

/// A member as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "usr_01jd5x9q3r4s5t6v7w8x9y0z1a", "email": "ravi@sunrise.example", "name": "Ravi Kumar",
    "role": "TENANT_AGENT", "status": "active", "must_change_password": true, "created_at": "2026-11-21T08:00:00Z"}))]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: MemberStatus,
    /// True until the member has replaced the emailed one-time password (an invitation not yet
    /// taken up).
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for MemberView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            status: u.status,
            must_change_password: u.must_change_password,
            created_at: u.created_at,
        }
    }
}

/// `POST /members`. Fields are options so that a missing one is a 422 naming it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"email": "ravi@sunrise.example", "name": "Ravi Kumar", "role": "TENANT_AGENT"}))]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    #[schema(required = true, nullable = false)]
    pub email: Option<String>,
    #[schema(required = true, nullable = false)]
    pub name: Option<String>,
    /// `TENANT_ADMIN` or `TENANT_AGENT`.
    #[schema(required = true, nullable = false, example = "TENANT_AGENT")]
    pub role: Option<String>,
}

/// `PATCH /members/{id}`: any of the fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"role": "TENANT_ADMIN"}))]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// `TENANT_ADMIN` or `TENANT_AGENT`.
    #[schema(nullable = false)]
    pub role: Option<String>,
    /// `active` or `deactivated`.
    #[schema(nullable = false)]
    pub status: Option<String>,
    #[schema(nullable = false)]
    pub name: Option<String>,
}

fn parse_role(errors: &mut Vec<FieldError>, raw: Option<&str>) -> Option<Role> {
    match raw {
        Some("TENANT_ADMIN") => Some(Role::TenantAdmin),
        Some("TENANT_AGENT") => Some(Role::TenantAgent),
        Some(_) => {
            errors.push(FieldError::new("role", "invalid_role", "must be TENANT_ADMIN or TENANT_AGENT"));
            None
        }
        None => None,
    }
}

fn parse_status(errors: &mut Vec<FieldError>, raw: Option<&str>) -> Option<MemberStatus> {
    match raw {
        Some("active") => Some(MemberStatus::Active),
        Some("deactivated") => Some(MemberStatus::Deactivated),
        Some(_) => {
            errors.push(FieldError::new("status", "invalid_status", "must be active or deactivated"));
            None
        }
        None => None,
    }
}

fn name_field(errors: &mut Vec<FieldError>, raw: Option<&str>) -> Option<String> {
    crate::domain::text::name("name", raw, MAX_NAME_LEN).map_err(|e| errors.push(e)).ok()
}

fn seat_limit_reached(limit: Option<u64>) -> Error {
    let message = match limit {
        Some(l) => format!("your plan allows {l} active members; deactivate or remove one, or upgrade the plan"),
        None => "your plan's member limit is reached".to_string(),
    };
    Error::limit("seat_limit_reached", message)
}

fn last_admin() -> Error {
    Error::conflict("last_admin", "a tenant keeps at least one active admin: make another member an admin first")
}

fn email_taken() -> Error {
    Error::conflict("email_taken", "a user with this email already exists")
}

fn changed_concurrently() -> Error {
    Error::conflict("conflict", "the member was changed concurrently; retry")
}

/// `POST /members`: creates the member with a one-time password and emails it (after the commit,
/// through the mail queue, like the welcome email).
pub async fn invite(ports: &Ports, public_url: &str, tenant_id: &str, input: InviteInput) -> Result<MemberView, Error> {
    let mut errors = Vec::new();
    let email = match input.email.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("email", "required", "is required"));
            None
        }
        Some(raw) => {
            let e = normalize_email(raw);
            if e.is_none() {
                errors.push(FieldError::new("email", "invalid_email", "is not an email address"));
            }
            e
        }
    };
    let name = name_field(&mut errors, input.name.as_deref());
    if input.role.is_none() {
        errors.push(FieldError::new("role", "required", "is required"));
    }
    let role = parse_role(&mut errors, input.role.as_deref());
    let (Some(email), Some(name), Some(role), true) = (email, name, role, errors.is_empty()) else {
        return Err(Error::validation(errors));
    };

    let tenant = tenants::get(ports, tenant_id).await?;
    let members = Members::new(&*ports.table);
    members.ensure_seats(tenant_id).await?;
    let limit = limits::seat_limit(&*ports.table, tenant_id).await?;
    let now = ports.clock.now();
    let one_time: SecretString = password::generate();
    let user = User {
        id: ports.ids.new_id("usr"),
        email,
        name,
        role,
        tenant_id: Some(tenant_id.to_owned()),
        password_hash: password::hash(one_time.clone()).await.map_err(Error::internal)?,
        must_change_password: true,
        status: MemberStatus::Active,
        created_at: now,
        updated_at: now,
    };
    // Sealed before the commit, so that only the enqueue can fail after it.
    let mail = welcome_mail::WelcomeJob::seal(ports, &tenant, &user, &one_time, public_url).await?;
    match members.invite(&user, limit).await? {
        Ok(()) => {}
        Err(Refused::EmailTaken) => return Err(email_taken()),
        Err(_) => return Err(seat_limit_reached(limit)),
    }
    welcome_mail::enqueue(ports, &mail).await;
    Ok(MemberView::from(&user))
}

/// The tenant's member `member_id`; 404 for anyone else (another tenant's, the super admin).
async fn member(ports: &Ports, tenant_id: &str, member_id: &str) -> Result<User, Error> {
    Users::new(&*ports.table)
        .get(member_id)
        .await?
        .filter(|u| u.tenant_id.as_deref() == Some(tenant_id) && u.role.is_tenant_role())
        .ok_or_else(|| Error::not_found("member"))
}

/// `GET /members`: oldest first.
pub async fn page(
    ports: &Ports,
    tenant_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<MemberView>, Option<String>), crate::ports::table::TableError> {
    let (users, next) = Members::new(&*ports.table).page(tenant_id, limit, cursor).await?;
    Ok((users.iter().map(MemberView::from).collect(), next))
}

/// `PATCH /members/{id}`.
pub async fn patch(ports: &Ports, tenant_id: &str, member_id: &str, patch: MemberPatch) -> Result<MemberView, Error> {
    let mut errors = Vec::new();
    let role = parse_role(&mut errors, patch.role.as_deref());
    let status = parse_status(&mut errors, patch.status.as_deref());
    let name = match patch.name.as_deref() {
        Some(raw) => name_field(&mut errors, Some(raw)),
        None => None,
    };
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let members = Members::new(&*ports.table);
    members.ensure_seats(tenant_id).await?;
    for _ in 0..ATTEMPTS {
        let before = member(ports, tenant_id, member_id).await?;
        let (new_role, new_status) = (role.unwrap_or(before.role), status.unwrap_or(before.status));
        let mut update = Update::new().set("updated_at", ports.clock.now().to_rfc3339());
        if new_role != before.role {
            update = update.set("role", serde_json::to_value(new_role).map_err(Error::internal)?);
        }
        if new_status != before.status {
            update = update.set("status", serde_json::to_value(new_status).map_err(Error::internal)?);
        }
        if let Some(name) = &name {
            update = update.set("name", name.clone());
        }
        let limit = limits::seat_limit(&*ports.table, tenant_id).await?;
        match members.change(&before, new_role, new_status, update, limit).await? {
            Ok(()) => {
                // A new role or a deactivation applies at once: the member signs in again (or
                // cannot).
                if new_role != before.role || new_status != before.status {
                    sessions::end_all_for_user(ports, member_id, None).await?;
                }
                return Ok(MemberView::from(&member(ports, tenant_id, member_id).await?));
            }
            Err(Refused::Changed) => continue,
            Err(Refused::LastAdmin) => return Err(last_admin()),
            Err(_) => return Err(seat_limit_reached(limit)),
        }
    }
    Err(changed_concurrently())
}

/// `DELETE /members/{id}`.
pub async fn remove(ports: &Ports, tenant_id: &str, member_id: &str) -> Result<(), Error> {
    let members = Members::new(&*ports.table);
    members.ensure_seats(tenant_id).await?;
    for _ in 0..ATTEMPTS {
        let before = member(ports, tenant_id, member_id).await?;
        match members.remove(&before).await? {
            Ok(()) => {
                sessions::end_all_for_user(ports, member_id, None).await?;
                return Ok(());
            }
            Err(Refused::Changed) => continue,
            Err(Refused::LastAdmin) => return Err(last_admin()),
            Err(_) => return Err(Error::internal("a removal cannot take a seat")),
        }
    }
    Err(changed_concurrently())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_statuses_are_validated_per_field() {
        let mut errors = Vec::new();
        assert_eq!(parse_role(&mut errors, Some("TENANT_AGENT")), Some(Role::TenantAgent));
        assert_eq!(parse_role(&mut errors, Some("SUPER_ADMIN")), None);
        assert_eq!(parse_status(&mut errors, Some("deactivated")), Some(MemberStatus::Deactivated));
        assert_eq!(parse_status(&mut errors, Some("gone")), None);
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(fields, [("role", "invalid_role"), ("status", "invalid_status")]);
    }
}
