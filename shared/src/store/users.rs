//! Users repository. A user is two items: the user (`USER#<id>`) and its email uniqueness item
//! (`UNIQUE#EMAIL#<email>`, holding the id), always written together in one transaction.

use crate::domain::user::model::User;
use crate::ports::Table;
use crate::ports::table::{Cond, Item, TableError, TxOp, Update};

use super::keys;

pub struct Users<'a> {
    table: &'a dyn Table,
}

impl<'a> Users<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// The operations that create `user` (for callers composing a larger transaction, such as
    /// tenant provisioning). The email item's condition fails when the email is taken.
    pub fn create_ops(user: &User) -> Result<Vec<TxOp>, TableError> {
        let mut item = Item::from_entity(keys::user(&user.id), user)?;
        if let Some(tenant_id) = &user.tenant_id {
            item = item.with_index(keys::LISTS, keys::tenant_users_list(tenant_id), &user.id);
        }
        let email = Item::new(keys::user_email(&user.email)).with("user_id", user.id.clone());
        Ok(vec![
            TxOp::Put { item, cond: Some(Cond::NotExists) },
            TxOp::Put { item: email, cond: Some(Cond::NotExists) },
        ])
    }

    /// Creates the user; `Ok(false)` when the email is already taken.
    pub async fn create(&self, user: &User) -> Result<bool, TableError> {
        match self.table.transact(Self::create_ops(user)?).await {
            Ok(()) => Ok(true),
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&1) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, user_id: &str) -> Result<Option<User>, TableError> {
        self.table.get(&keys::user(user_id)).await?.map(|i| i.to_entity()).transpose()
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<User>, TableError> {
        let Some(link) = self.table.get(&keys::user_email(email)).await? else { return Ok(None) };
        let Some(user_id) = link.get_str("user_id") else {
            return Err(TableError::Corrupt("email item without user_id".into()));
        };
        self.get(user_id).await
    }

    /// Replaces the password hash and sets `must_change_password`.
    pub async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        must_change_password: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), TableError> {
        let update = Update::new()
            .set("password_hash", password_hash)
            .set("must_change_password", must_change_password)
            .set("updated_at", now.to_rfc3339());
        self.table.update(&keys::user(user_id), update, Some(Cond::Exists)).await.map(|_| ())
    }

    /// Replaces a one-time password with another, only while the user still has to change it;
    /// `Ok(false)` once they have chosen their own.
    pub async fn set_one_time_password(
        &self,
        user_id: &str,
        password_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, TableError> {
        let update = Update::new().set("password_hash", password_hash).set("updated_at", now.to_rfc3339());
        let cond = Cond::And(vec![Cond::Exists, Cond::eq("must_change_password", true)]);
        match self.table.update(&keys::user(user_id), update, Some(cond)).await {
            Ok(_) => Ok(true),
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
