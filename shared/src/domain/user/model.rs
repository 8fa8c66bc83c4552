//! A user as stored and shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    SuperAdmin,
    TenantAdmin,
    /// A tenant's team member who talks to customers (SPEC → Roles): the inbox, contacts (not
    /// import or delete), one-off messages, canned replies. `http::access` lists their routes.
    TenantAgent,
}

impl Role {
    /// A role of a tenant's user (admin or agent).
    pub fn is_tenant_role(self) -> bool {
        matches!(self, Role::TenantAdmin | Role::TenantAgent)
    }
}

/// Whether a tenant's member may sign in. A deactivated member keeps their account (and their
/// place in conversations' history) but has no session and cannot start one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    #[default]
    Active,
    Deactivated,
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
    /// Absent on users stored before members existed: active.
    #[serde(default)]
    pub status: MemberStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }
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
