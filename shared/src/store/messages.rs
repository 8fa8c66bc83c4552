//! Messages repository: `T#<tenant>#MSG#<id>`, listed per tenant (GSI1 over
//! [`keys::MESSAGE_LIST_SHARDS`] partitions, by id, merged newest first), found by wamid (GSI2)
//! and per conversation (GSI3).

use serde_json::Value;

use crate::domain::messages::model::{Direction, Message, MessageStatus, MessageView};
use crate::domain::money::Money;
use crate::ports::table::{Cond, Item, Key, Page, Query, SkCond, Table, TableError, Update};

/// Every message id starts with this.
const ID_PREFIX: &str = "msg_";
/// What an outbound message cost (an exact decimal string), stored when it is known.
const COST: &str = "cost";

use super::keys;

pub fn key(tenant_id: &str, message_id: &str) -> Key {
    keys::message(tenant_id, message_id)
}

/// The stored item for a new message (indexes set from what is known).
pub fn item(message: &Message) -> Result<Item, TableError> {
    let mut item = Item::from_entity(key(&message.tenant_id, &message.id), message)?
        .with(message.status.at_attr(), message.created_at.timestamp_millis())
        .with("status_rank", message.status.rank());
    // Notes and system entries live in their conversation only, not in the messages log.
    if message.direction != Direction::Internal {
        item = item.with_index(keys::LISTS, keys::messages_list_of(&message.tenant_id, &message.id), &message.id);
    }
    // Only outbound messages are found by wamid: status webhooks are about what we sent (an
    // inbound message is deduplicated by its own uniqueness item).
    if let (Some(wamid), Direction::Outbound) = (&message.wamid, message.direction) {
        item = item.with_index(keys::LOOKUPS, keys::wamid_lookup(wamid), format!("T#{}", message.tenant_id));
    }
    if let Some(conversation_id) = &message.conversation_id {
        // By the message's own time (an inbound message's is Meta's), then id.
        item = item.with_index(
            keys::SECONDARY,
            keys::conversation_messages(&message.tenant_id, conversation_id),
            format!("{:013}#{}", message.created_at.timestamp_millis(), message.id),
        );
    } else if let Some(campaign_id) = &message.campaign_id {
        // A campaign's messages are not in the inbox; they are found per campaign (cancel).
        let shard = keys::shard_of(&message.id, keys::CAMPAIGN_MESSAGE_SHARDS);
        item = item.with_index(
            keys::SECONDARY,
            keys::campaign_messages(&message.tenant_id, campaign_id, shard),
            &message.id,
        );
    }
    // A scheduled message waits in the due index until the scheduler releases it.
    if let (MessageStatus::Scheduled, Some(at)) = (message.status, message.schedule_at) {
        let k = key(&message.tenant_id, &message.id);
        item = super::campaigns::due(item, &k, at.timestamp_millis());
    }
    Ok(item)
}

/// What a tenant's message list is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub status: Option<MessageStatus>,
    pub campaign_id: Option<String>,
}

fn views(page: Page) -> Result<(Vec<MessageView>, Option<String>), TableError> {
    let items = page.items.iter().map(MessageView::from_item).collect::<Result<_, _>>()?;
    Ok((items, page.next_cursor))
}

/// The repository over the table (as the other stores): `Messages::new(&*ports.table)`.
pub struct Messages<'a> {
    table: &'a dyn Table,
}

impl<'a> Messages<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// Creates the message; `Ok(false)` if one with this id exists already (idempotent retries).
    pub async fn create(&self, message: &Message) -> Result<bool, TableError> {
        match self.table.put(item(message)?, Some(Cond::NotExists)).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, tenant_id: &str, message_id: &str) -> Result<Option<Item>, TableError> {
        self.table.get(&key(tenant_id, message_id)).await
    }

    /// The message as `GET /messages/{id}` shows it: an outbound message's `cost` is what its
    /// debit took, net of its refund (`0.00` when refunded, or never debited: a tenant without
    /// prepaid credits, a free category, not dispatched yet), read from the ledger's per-message
    /// markers in its partition.
    pub async fn view(&self, tenant_id: &str, message_id: &str) -> Result<Option<MessageView>, TableError> {
        let Some(item) = self.get(tenant_id, message_id).await? else { return Ok(None) };
        let mut view = MessageView::from_item(&item)?;
        if view.direction == Direction::Outbound {
            view.cost = Some(self.cost(tenant_id, message_id).await?.to_string());
        }
        Ok(Some(view))
    }

    /// What the message's debit took, net of its refund, from the ledger's markers.
    async fn cost(&self, tenant_id: &str, message_id: &str) -> Result<Money, TableError> {
        let ledger = super::ledger::Ledger::new(self.table);
        let (debit, refunded) =
            tokio::try_join!(ledger.debit_marker(tenant_id, message_id), ledger.is_refunded(tenant_id, message_id))?;
        Ok(match debit {
            Some(d) if !refunded => d.amount,
            _ => Money::ZERO,
        })
    }

    /// Sets the message's stored `cost` (after a refund: zero), if the message exists.
    pub async fn set_cost(&self, tenant_id: &str, message_id: &str, cost: Money) -> Result<(), TableError> {
        let update = Update::new().set(COST, cost.to_string());
        match self.table.update(&key(tenant_id, message_id), update, Some(Cond::Exists)).await {
            Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The message a wamid belongs to, within a tenant.
    pub async fn find_by_wamid(&self, tenant_id: &str, wamid: &str) -> Result<Option<Item>, TableError> {
        let page = self
            .table
            .query(
                Query::index(keys::LOOKUPS, keys::wamid_lookup(wamid))
                    .sk(SkCond::Eq(format!("T#{tenant_id}")))
                    .limit(1),
            )
            .await?;
        Ok(page.items.into_iter().next())
    }

    /// Records the wamid Meta gave the message, making it findable by wamid. The statuses parked
    /// for that wamid are the caller's to apply (`domain::messages::status::record_wamid`).
    /// `cost`, when given, is what the message was debited (its `cost` in lists).
    pub async fn set_wamid(
        &self,
        tenant_id: &str,
        message_id: &str,
        wamid: &str,
        cost: Option<Money>,
    ) -> Result<(), TableError> {
        let k = key(tenant_id, message_id);
        let mut update = Update::new();
        if let Some(cost) = cost {
            update = update.set(COST, cost.to_string());
        }
        let update = update
            .set("wamid", wamid)
            .set(keys::LOOKUPS.pk_attr(), keys::wamid_lookup(wamid))
            .set(keys::LOOKUPS.sk_attr(), Value::from(format!("T#{tenant_id}")));
        self.table.update(&k, update, Some(Cond::Exists)).await.map(|_| ())
    }

    /// One page of the tenant's messages, newest first (by id), after `cursor` (the last message
    /// id of the previous page). Every list shard is read from just below the cursor, and the
    /// unsharded partition of the messages written before the sharding with them.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &ListFilter,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<MessageView>, Option<String>), TableError> {
        if cursor.as_deref().is_some_and(|c| !c.starts_with(ID_PREFIX)) {
            return Err(TableError::Invalid("not a message list position".into()));
        }
        let mut conds = Vec::new();
        if let Some(status) = filter.status {
            conds.push(Cond::eq("status", status.as_str()));
        }
        if let Some(c) = &filter.campaign_id {
            conds.push(Cond::eq("campaign_id", c.as_str()));
        }
        let sk = match &cursor {
            Some(c) => SkCond::Lt(c.clone()),
            None => SkCond::BeginsWith(ID_PREFIX.into()),
        };
        let partitions = (0..keys::MESSAGE_LIST_SHARDS)
            .map(|shard| keys::messages_list(tenant_id, shard))
            .chain([keys::messages_list_unsharded(tenant_id)]);
        let queries = partitions
            .map(|pk| {
                let q = Query::index(keys::LISTS, pk).sk(sk.clone());
                if conds.is_empty() { q } else { q.filter(Cond::And(conds.clone())) }
            })
            .collect();
        let (items, next) = super::shards::newest_first(self.table, queries, None, limit).await?;
        let (mut views, next) = views(Page { items, next_cursor: next })?;
        // `cost` as GET /messages/{id} gives it: stored on the message by the send worker (with
        // its wamid) and by a refund; read from the ledger's markers only for an outbound message
        // without it (not sent yet, or written before `cost` was stored).
        let missing: Vec<usize> = (0..views.len())
            .filter(|&i| views[i].direction == Direction::Outbound && views[i].cost.is_none())
            .collect();
        let costs =
            futures_util::future::try_join_all(missing.iter().map(|&i| self.cost(tenant_id, &views[i].id))).await?;
        for (i, cost) in missing.into_iter().zip(costs) {
            views[i].cost = Some(cost.to_string());
        }
        Ok((views, next))
    }

    /// One page of a conversation's messages, newest first.
    pub async fn conversation_page(
        &self,
        tenant_id: &str,
        conversation_id: &str,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<MessageView>, Option<String>), TableError> {
        let query = Query::index(keys::SECONDARY, keys::conversation_messages(tenant_id, conversation_id))
            .backward()
            .limit(limit)
            .cursor(cursor);
        views(self.table.query(query).await?)
    }
}
