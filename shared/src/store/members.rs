//! A tenant's members: its users (`USER#<id>`, listed through GSI1 `T#<tenant>#USERS`) and the
//! seat counter (`keys::tenant_seats`: `active`, `active_admins`).
//!
//! Every write that changes who is an active member or an active admin is one transaction with
//! the counter, conditioned on it (the plan's `seat_limit`; at least one active admin) and on the
//! member still being what the caller read (role and status), so concurrent invitations,
//! reactivations, demotions and removals can never overshoot the limit or leave the tenant
//! without an admin.

use crate::domain::user::model::{MemberStatus, Role, User};
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Query, TableError, TxOp, Update};

use super::keys;
use super::users::Users;

pub struct Members<'a> {
    table: &'a dyn Table,
}

/// The tenant's active members and active admins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seats {
    pub active: i64,
    pub active_admins: i64,
}

impl Seats {
    /// What `user` occupies: a seat when active, an admin seat when an active admin.
    pub fn of(role: Role, status: MemberStatus) -> Self {
        let active = status == MemberStatus::Active;
        Self { active: i64::from(active), active_admins: i64::from(active && role == Role::TenantAdmin) }
    }
}

/// Why a member write was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The plan's seat limit is reached.
    SeatLimit,
    /// It would leave the tenant without an active admin.
    LastAdmin,
    /// The email belongs to another user.
    EmailTaken,
    /// The member changed (or went) since it was read: read again.
    Changed,
}

/// The member's role and status as read: the condition for writing over them.
fn unchanged(user: &User) -> Cond {
    let role = serde_json::to_value(user.role).unwrap_or_default();
    let status = match user.status {
        // Users stored before members existed have no status: active.
        MemberStatus::Active => Cond::Or(vec![Cond::AttrNotExists("status".into()), Cond::eq("status", "active")]),
        MemberStatus::Deactivated => Cond::eq("status", "deactivated"),
    };
    Cond::And(vec![Cond::Exists, Cond::Eq("role".into(), role), status])
}

/// The counter's update for a change of `delta`, with its conditions: a new seat only below
/// `seat_limit`, an admin seat given up only while another admin remains.
fn counter_op(tenant_id: &str, delta: Seats, seat_limit: Option<u64>) -> TxOp {
    let mut conds = vec![Cond::Exists];
    if delta.active > 0
        && let Some(limit) = seat_limit
    {
        conds.push(Cond::Le("active".into(), (limit as i64 - delta.active).into()));
    }
    if delta.active_admins < 0 {
        conds.push(Cond::Ge("active_admins".into(), (1 - delta.active_admins).into()));
    }
    TxOp::Update {
        key: keys::tenant_seats(tenant_id),
        update: Update::new().add("active", delta.active).add("active_admins", delta.active_admins),
        cond: Some(Cond::And(conds)),
    }
}

/// What a failed counter condition means for a change of `delta`.
fn counter_refusal(delta: Seats) -> Refused {
    if delta.active_admins < 0 { Refused::LastAdmin } else { Refused::SeatLimit }
}

impl<'a> Members<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// The counter item of a new tenant with its first admin (for the provisioning transaction).
    pub fn first_admin_op(tenant_id: &str) -> TxOp {
        let item = Item::new(keys::tenant_seats(tenant_id)).with("active", 1).with("active_admins", 1);
        TxOp::Put { item, cond: Some(Cond::NotExists) }
    }

    pub async fn seats(&self, tenant_id: &str) -> Result<Option<Seats>, TableError> {
        Ok(self.table.get(&keys::tenant_seats(tenant_id)).await?.map(|i| Seats {
            active: i.get("active").and_then(|v| v.as_i64()).unwrap_or(0),
            active_admins: i.get("active_admins").and_then(|v| v.as_i64()).unwrap_or(0),
        }))
    }

    /// Makes sure the counter exists: a tenant provisioned before members existed (or made
    /// directly in the store) gets it counted from its users, once (the first writer wins).
    pub async fn ensure_seats(&self, tenant_id: &str) -> Result<(), TableError> {
        if self.seats(tenant_id).await?.is_some() {
            return Ok(());
        }
        let mut seats = Seats::default();
        for user in self.all(tenant_id).await? {
            let s = Seats::of(user.role, user.status);
            seats.active += s.active;
            seats.active_admins += s.active_admins;
        }
        let item = Item::new(keys::tenant_seats(tenant_id))
            .with("active", seats.active)
            .with("active_admins", seats.active_admins);
        match self.table.put(item, Some(Cond::NotExists)).await {
            Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A page of the tenant's users, oldest first.
    pub async fn page(
        &self,
        tenant_id: &str,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<User>, Option<String>), TableError> {
        let q = Query::index(keys::LISTS, keys::tenant_users_list(tenant_id)).limit(limit).cursor(cursor);
        let page = self.table.query(q).await?;
        Ok((page.items.iter().map(Item::to_entity).collect::<Result<_, _>>()?, page.next_cursor))
    }

    /// Every user of the tenant.
    pub async fn all(&self, tenant_id: &str) -> Result<Vec<User>, TableError> {
        let mut users = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.page(tenant_id, 100, cursor).await?;
            users.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(users),
            }
        }
    }

    /// Creates `user` (a new member of its tenant) and takes its seat.
    pub async fn invite(&self, user: &User, seat_limit: Option<u64>) -> Result<Result<(), Refused>, TableError> {
        let tenant_id = user.tenant_id.as_deref().ok_or_else(|| TableError::Corrupt("member without tenant".into()))?;
        let delta = Seats::of(user.role, user.status);
        let mut ops = vec![counter_op(tenant_id, delta, seat_limit)];
        ops.extend(Users::create_ops(user)?);
        match self.table.transact(ops).await {
            Ok(()) => Ok(Ok(())),
            // The email item (op 2) first: a taken email is the more useful answer.
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&2) => {
                Ok(Err(Refused::EmailTaken))
            }
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
                Ok(Err(counter_refusal(delta)))
            }
            Err(e) => Err(e),
        }
    }

    /// Writes `update` over `before` (as read), moving the counter by the change from `before`'s
    /// role and status to `role` and `status`.
    pub async fn change(
        &self,
        before: &User,
        role: Role,
        status: MemberStatus,
        update: Update,
        seat_limit: Option<u64>,
    ) -> Result<Result<(), Refused>, TableError> {
        let tenant_id =
            before.tenant_id.as_deref().ok_or_else(|| TableError::Corrupt("member without tenant".into()))?;
        let (old, new) = (Seats::of(before.role, before.status), Seats::of(role, status));
        let delta = Seats { active: new.active - old.active, active_admins: new.active_admins - old.active_admins };
        let mut ops = vec![TxOp::Update { key: keys::user(&before.id), update, cond: Some(unchanged(before)) }];
        if delta != Seats::default() {
            ops.push(counter_op(tenant_id, delta, seat_limit));
        }
        self.run(ops, delta).await
    }

    /// Deletes `before` (as read) and its email item, and frees its seat.
    pub async fn remove(&self, before: &User) -> Result<Result<(), Refused>, TableError> {
        let tenant_id =
            before.tenant_id.as_deref().ok_or_else(|| TableError::Corrupt("member without tenant".into()))?;
        let old = Seats::of(before.role, before.status);
        let delta = Seats { active: -old.active, active_admins: -old.active_admins };
        let mut ops = vec![
            TxOp::Delete { key: keys::user(&before.id), cond: Some(unchanged(before)) },
            TxOp::Delete { key: keys::user_email(&before.email), cond: Some(Cond::eq("user_id", before.id.clone())) },
        ];
        if delta != Seats::default() {
            ops.push(counter_op(tenant_id, delta, None));
        }
        self.run(ops, delta).await
    }

    async fn run(&self, ops: Vec<TxOp>, delta: Seats) -> Result<Result<(), Refused>, TableError> {
        let counter_at = ops.len() - 1;
        let has_counter = delta != Seats::default();
        match self.table.transact(ops).await {
            Ok(()) => Ok(Ok(())),
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
                Ok(Err(Refused::Changed))
            }
            Err(TableError::TransactionCanceled { failed_conditions })
                if has_counter && failed_conditions.contains(&counter_at) =>
            {
                Ok(Err(counter_refusal(delta)))
            }
            Err(e) => Err(e),
        }
    }
}
