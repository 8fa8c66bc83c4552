//! Inbox repositories: conversations (`T#<tenant>#CONV#<id>`) listed by latest activity, and
//! canned replies (`T#<tenant>#CANNED#<id>`, shortcut unique per tenant).
//!
//! A conversation is in three lists at once, all sorted by `<last activity ms>#<id>` so that a
//! backward query is "latest activity first" (see `docs/data-model.md`, #25):
//! GSI1 `T#<t>#CONVS` (all), GSI2 `T#<t>#CONVS#S#<status>` (open / resolved) and GSI3
//! `T#<t>#CONVS#A#<member | ->` (per assignee, `-` = unassigned). Each filter of the inbox picks
//! the narrowest partition; what is left (unread, the other of status/assignee) is a filter on
//! that query, never a scan.

use crate::domain::inbox::model::{CannedReply, Conversation, ConversationStatus};
use crate::ports::table::{Cond, Item, Query, SkCond, Table, TableError, TxOp};
use serde_json::Value;

use super::keys;

/// Which conversations a list asks for (after the caller's visibility is applied).
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    /// `Some(None)`: unassigned only; `Some(Some(id))`: assigned to that member.
    pub assignee: Option<Option<String>>,
    pub status: Option<ConversationStatus>,
    pub unread: bool,
    /// Only conversations assigned to this member or to nobody (an agent's view).
    pub mine_or_unassigned: Option<String>,
}

pub struct Conversations<'a> {
    table: &'a dyn Table,
}

impl<'a> Conversations<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn get(&self, tenant_id: &str, conversation_id: &str) -> Result<Option<Conversation>, TableError> {
        self.table.get(&keys::conversation(tenant_id, conversation_id)).await?.map(|i| i.to_entity()).transpose()
    }

    /// One page, latest activity first, after `cursor` (the previous page's last sort key,
    /// `<activity ms>#<id>`): every shard of the list and its unsharded partition merged.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &ConversationFilter,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Conversation>, Option<String>), TableError> {
        if cursor.as_deref().is_some_and(|c| !c.as_bytes().first().is_some_and(u8::is_ascii_digit)) {
            return Err(TableError::Invalid("not a conversation list position".into()));
        }
        let mut conds = Vec::new();
        let (index, list) = match (&filter.assignee, filter.status) {
            (Some(assignee), status) => {
                if let Some(s) = status {
                    conds.push(Cond::eq("status", s.as_str()));
                }
                (keys::SECONDARY, keys::conversations_by_assignee(tenant_id, assignee.as_deref()))
            }
            (None, Some(s)) => (keys::LOOKUPS, keys::conversations_by_status(tenant_id, s.as_str())),
            (None, None) => (keys::LISTS, keys::conversations_list(tenant_id)),
        };
        if filter.unread {
            conds.push(Cond::Gt("unread_count".into(), Value::from(0)));
        }
        if let Some(me) = &filter.mine_or_unassigned {
            conds.push(Cond::Or(vec![Cond::AttrNotExists("assignee_id".into()), Cond::eq("assignee_id", me.as_str())]));
        }
        let queries = keys::conversation_list_partitions(&list)
            .into_iter()
            .map(|pk| {
                let mut q = Query::index(index, pk);
                if let Some(c) = &cursor {
                    q = q.sk(SkCond::Lt(c.clone()));
                }
                if !conds.is_empty() {
                    q = q.filter(Cond::And(conds.clone()));
                }
                q
            })
            .collect();
        let (items, next) = super::shards::newest_first(self.table, queries, None, limit).await?;
        let items = items.iter().map(Item::to_entity).collect::<Result<_, _>>()?;
        Ok((items, next))
    }
}

/// Why a canned reply write did not happen.
#[derive(Debug)]
pub enum CannedWriteError {
    /// Another reply of the tenant has this shortcut.
    ShortcutTaken,
    /// The reply is gone.
    NotFound,
    /// The reply changed since it was read (a concurrent change): read it again.
    Stale,
    Table(TableError),
}

impl From<TableError> for CannedWriteError {
    fn from(e: TableError) -> Self {
        Self::Table(e)
    }
}

pub struct CannedReplies<'a> {
    table: &'a dyn Table,
}

fn canned_item(reply: &CannedReply) -> Result<Item, TableError> {
    Ok(Item::from_entity(keys::canned_reply(&reply.tenant_id, &reply.id), reply)?
        .with("search", format!("{}\n{}", reply.shortcut.to_lowercase(), reply.text.to_lowercase()))
        .with_index(keys::LISTS, keys::canned_replies_list(&reply.tenant_id), &reply.id))
}

fn unique_item(reply: &CannedReply) -> Item {
    Item::new(keys::unique_canned_shortcut(&reply.tenant_id, &reply.shortcut)).with("canned_id", reply.id.as_str())
}

fn canceled_at(e: &TableError, index: usize) -> bool {
    matches!(e, TableError::TransactionCanceled { failed_conditions } if failed_conditions.contains(&index))
}

impl<'a> CannedReplies<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<CannedReply>, TableError> {
        let reply: Option<CannedReply> =
            self.table.get(&keys::canned_reply(tenant_id, id)).await?.map(|i| i.to_entity()).transpose()?;
        // The tenant is the key's, not a stored attribute (the API never shows it).
        Ok(reply.map(|r| CannedReply { tenant_id: tenant_id.to_owned(), ..r }))
    }

    /// The reply and its shortcut's uniqueness item, in one transaction.
    pub async fn create(&self, reply: &CannedReply) -> Result<(), CannedWriteError> {
        let ops = vec![
            TxOp::Put { item: unique_item(reply), cond: Some(Cond::NotExists) },
            TxOp::Put { item: canned_item(reply)?, cond: Some(Cond::NotExists) },
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(e) if canceled_at(&e, 0) => Err(CannedWriteError::ShortcutTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces `previous` by `next` (same id), moving the shortcut's uniqueness item when it
    /// changed; conditioned on the stored reply still being `previous` (its `updated_at`).
    pub async fn replace(&self, previous: &CannedReply, next: &CannedReply) -> Result<(), CannedWriteError> {
        let unchanged = Cond::eq("updated_at", serde_json::to_value(previous.updated_at).expect("a time serializes"));
        let mut ops = vec![TxOp::Put { item: canned_item(next)?, cond: Some(unchanged) }];
        if previous.shortcut.to_lowercase() != next.shortcut.to_lowercase() {
            ops.push(TxOp::Put { item: unique_item(next), cond: Some(Cond::NotExists) });
            ops.push(TxOp::Delete {
                key: keys::unique_canned_shortcut(&previous.tenant_id, &previous.shortcut),
                cond: Some(Cond::eq("canned_id", previous.id.as_str())),
            });
        }
        match self.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(e) if canceled_at(&e, 0) => Err(CannedWriteError::Stale),
            Err(e) if canceled_at(&e, 1) => Err(CannedWriteError::ShortcutTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, reply: &CannedReply) -> Result<(), CannedWriteError> {
        let ops = vec![
            TxOp::Delete { key: keys::canned_reply(&reply.tenant_id, &reply.id), cond: Some(Cond::Exists) },
            TxOp::Delete {
                key: keys::unique_canned_shortcut(&reply.tenant_id, &reply.shortcut),
                cond: Some(Cond::eq("canned_id", reply.id.as_str())),
            },
        ];
        match self.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(e) if canceled_at(&e, 0) => Err(CannedWriteError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of the tenant's replies, newest first; `q` matches shortcut or text
    /// (case-insensitive).
    pub async fn list(
        &self,
        tenant_id: &str,
        q: Option<&str>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<CannedReply>, Option<String>), TableError> {
        let mut query =
            Query::index(keys::LISTS, keys::canned_replies_list(tenant_id)).backward().limit(limit).cursor(cursor);
        if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
            query = query.filter(Cond::contains("search", q.to_lowercase()));
        }
        let page = self.table.query(query).await?;
        let items = page
            .items
            .iter()
            .map(|i| i.to_entity().map(|r: CannedReply| CannedReply { tenant_id: tenant_id.to_owned(), ..r }))
            .collect::<Result<_, _>>()?;
        Ok((items, page.next_cursor))
    }
}
