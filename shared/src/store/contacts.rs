//! Contacts repository. A contact is up to four items, always written together:
//! - the contact (`T#<t>#CONTACT#<id>`, in the tenant's GSI1 list, with a lower-case `search`
//!   attribute for `?q=`);
//! - its phone uniqueness item (`UNIQUE#T#<t>#PHONE#<e164>`) and/or its WhatsApp user id
//!   uniqueness item (`UNIQUE#T#<t>#WAUSER#<id>`), each holding the contact id;
//! - the tenant's contact counter (`TENANT#<t>` / `CONTACT_COUNT`), changed by every creation
//!   and deletion in the same transaction, so the count is exact and the plan's limit is a
//!   condition on it rather than a racy read-then-write.
//!
//! Beside them, the tenant's tag registry (`T#<t>#TAGS` / `TAG#<tag>`): every tag a contact write
//! adds is recorded there after the write, with idempotent puts, so "which tags exist" is one
//! small query. A tag stays listed after the last contact carrying it drops it (the list filter
//! then shows no contacts); a failed registry write is logged and costs a chip, never a contact.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use serde_json::Value;

use crate::domain::contacts::model::Contact;
use crate::ports::Table;
use crate::ports::table::{Cond, Item, Key, MAX_TRANSACTION_OPS, Query, TableError, TxOp, Update};

use super::keys;

/// Contacts read once to fill an empty tag list from contacts written before it existed.
const TAG_BACKFILL_SCAN: usize = 1000;
/// How often a transaction cancelled by a concurrent one (or throttled) is retried.
const MAX_CONTENTION_RETRIES: u32 = 8;

/// Which unique identity of a contact is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    Phone,
    WaUser,
}

impl Identity {
    pub fn label(self) -> &'static str {
        match self {
            Identity::Phone => "phone",
            Identity::WaUser => "WhatsApp user id",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a contact with this {} already exists: {contact_id}", identity.label())]
    Exists { identity: Identity, contact_id: String },
    #[error("the plan's contact limit is reached")]
    LimitReached,
    #[error(transparent)]
    Table(#[from] TableError),
}

/// What became of one contact of [`Contacts::create_batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchResult {
    Created,
    /// Its phone (or WhatsApp user id) belongs to this existing contact.
    Exists(String),
    /// Creating it would exceed the plan's contact limit.
    OverLimit,
}

/// The outcome of a conditional replace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplaceOutcome {
    Done,
    /// The contact changed (or was deleted) since it was read: read again and retry.
    Stale,
    /// A newly added identity belongs to another contact.
    IdentityTaken(Identity),
}

/// Optional list filters; both must match.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// A normalised tag (exact element of `tags`).
    pub tag: Option<String>,
    /// A normalised search (substring of the lower-case `search` attribute).
    pub search: Option<String>,
}

pub struct Contacts<'a> {
    table: &'a dyn Table,
}

fn identities(c: &Contact) -> Vec<(Identity, Key)> {
    let mut out = Vec::with_capacity(2);
    if let Some(phone) = &c.phone {
        out.push((Identity::Phone, keys::contact_phone(&c.tenant_id, phone)));
    }
    if let Some(wa) = &c.wa_user_id {
        out.push((Identity::WaUser, keys::contact_wa_user(&c.tenant_id, wa)));
    }
    out
}

fn contact_item(c: &Contact) -> Result<Item, TableError> {
    Ok(Item::from_entity(keys::contact(&c.tenant_id, &c.id), c)?
        .with_index(keys::LISTS, keys::contacts_list(&c.tenant_id), &c.id)
        .with("search", c.search_text()))
}

fn unique_put(key: Key, contact_id: &str) -> TxOp {
    TxOp::Put { item: Item::new(key).with("contact_id", contact_id), cond: Some(Cond::NotExists) }
}

/// `ADD count :n`, conditioned (for an increase under a limit) on the result staying within it.
/// The caller has checked `n <= limit`.
fn counter_op(tenant_id: &str, n: i64, limit: Option<u64>) -> TxOp {
    let cond = match limit {
        Some(limit) if n > 0 => {
            let room = i64::try_from(limit).unwrap_or(i64::MAX) - n;
            Some(Cond::Or(vec![Cond::AttrNotExists("count".into()), Cond::Le("count".into(), Value::from(room))]))
        }
        _ => None,
    };
    TxOp::Update { key: keys::contact_count(tenant_id), update: Update::new().add("count", n), cond }
}

/// Operations to create `c` (contact, then one uniqueness item per identity); the caller adds
/// the counter.
fn create_ops(c: &Contact) -> Result<Vec<(TxOp, Option<Identity>)>, TableError> {
    let mut ops = vec![(TxOp::Put { item: contact_item(c)?, cond: Some(Cond::NotExists) }, None)];
    for (identity, key) in identities(c) {
        ops.push((unique_put(key, &c.id), Some(identity)));
    }
    Ok(ops)
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(10u64 << attempt.min(6))).await;
}

fn is_contention(e: &TableError) -> bool {
    matches!(e, TableError::Throttled)
        || matches!(e, TableError::TransactionCanceled { failed_conditions } if failed_conditions.is_empty())
}

impl<'a> Contacts<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn get(&self, tenant_id: &str, contact_id: &str) -> Result<Option<Contact>, TableError> {
        self.table.get(&keys::contact(tenant_id, contact_id)).await?.map(|i| i.to_entity()).transpose()
    }

    /// The id of the contact holding `identity` = `value` (E.164 phone or WhatsApp user id).
    pub async fn find_id(
        &self,
        tenant_id: &str,
        identity: Identity,
        value: &str,
    ) -> Result<Option<String>, TableError> {
        let key = match identity {
            Identity::Phone => keys::contact_phone(tenant_id, value),
            Identity::WaUser => keys::contact_wa_user(tenant_id, value),
        };
        let Some(link) = self.table.get(&key).await? else { return Ok(None) };
        match link.get_str("contact_id") {
            Some(id) => Ok(Some(id.to_owned())),
            None => Err(TableError::Corrupt("contact uniqueness item without contact_id".into())),
        }
    }

    pub async fn find(&self, tenant_id: &str, identity: Identity, value: &str) -> Result<Option<Contact>, TableError> {
        match self.find_id(tenant_id, identity, value).await? {
            Some(id) => self.get(tenant_id, &id).await,
            None => Ok(None),
        }
    }

    /// The tenant's exact number of contacts.
    pub async fn count(&self, tenant_id: &str) -> Result<u64, TableError> {
        let item = self.table.get(&keys::contact_count(tenant_id)).await?;
        Ok(item.and_then(|i| i.get_i64("count")).map_or(0, |n| n.max(0) as u64))
    }

    /// Newest first, `limit` per page.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &ListFilter,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Contact>, Option<String>), TableError> {
        let mut conds = Vec::new();
        if let Some(tag) = &filter.tag {
            conds.push(Cond::contains("tags", tag.as_str()));
        }
        if let Some(q) = &filter.search {
            conds.push(Cond::contains("search", q.as_str()));
        }
        let mut query =
            Query::index(keys::LISTS, keys::contacts_list(tenant_id)).backward().limit(limit).cursor(cursor);
        if !conds.is_empty() {
            query = query.filter(Cond::And(conds));
        }
        let page = self.table.query(query).await?;
        let contacts = page.items.iter().map(Item::to_entity).collect::<Result<Vec<Contact>, _>>()?;
        Ok((contacts, page.next_cursor))
    }

    /// Creates one contact with its uniqueness items and counts it, within `limit` (None:
    /// unlimited).
    pub async fn create(&self, contact: &Contact, limit: Option<u64>) -> Result<(), CreateError> {
        if limit.is_some_and(|l| l < 1) {
            return Err(CreateError::LimitReached);
        }
        let (mut ops, roles): (Vec<TxOp>, Vec<Option<Identity>>) = create_ops(contact)?.into_iter().unzip();
        ops.push(counter_op(&contact.tenant_id, 1, limit));
        let counter_index = ops.len() - 1;
        let mut attempt = 0;
        loop {
            match self.table.transact(ops.clone()).await {
                Ok(()) => {
                    self.remember_tags(&contact.tenant_id, contact.tags.iter()).await;
                    return Ok(());
                }
                Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => {
                    // An identity conflict wins over the limit: "already exists" is the more useful answer.
                    for &i in &failed_conditions {
                        if let Some(Some(identity)) = roles.get(i) {
                            let value = match identity {
                                Identity::Phone => contact.phone.as_deref(),
                                Identity::WaUser => contact.wa_user_id.as_deref(),
                            };
                            if let Some(id) =
                                self.find_id(&contact.tenant_id, *identity, value.unwrap_or_default()).await?
                            {
                                return Err(CreateError::Exists { identity: *identity, contact_id: id });
                            }
                        }
                    }
                    if failed_conditions.contains(&counter_index) {
                        return Err(CreateError::LimitReached);
                    }
                    // The conflicting contact was deleted meanwhile: try again.
                }
                Err(e) if is_contention(&e) => {}
                Err(e) => return Err(e.into()),
            }
            attempt += 1;
            if attempt > MAX_CONTENTION_RETRIES {
                return Err(TableError::Throttled.into());
            }
            backoff(attempt).await;
        }
    }

    /// Creates many contacts of one tenant, in transactions of as many contacts as fit (each
    /// with its uniqueness items, plus the counter). A contact whose phone or WhatsApp user id is
    /// taken is reported as [`BatchResult::Exists`] and the others are retried without it; once
    /// the limit is reached, the rest are [`BatchResult::OverLimit`] unless they already exist.
    /// Results are in input order.
    pub async fn create_batch(
        &self,
        tenant_id: &str,
        contacts: &[Contact],
        limit: Option<u64>,
    ) -> Result<Vec<BatchResult>, TableError> {
        let mut results: Vec<Option<BatchResult>> = vec![None; contacts.len()];
        let mut pending: VecDeque<usize> = (0..contacts.len()).collect();
        let mut count = match limit {
            Some(_) => self.count(tenant_id).await?,
            None => 0,
        };
        let mut attempt = 0;
        while !pending.is_empty() {
            let room = limit.map(|l| l.saturating_sub(count));
            if room == Some(0) {
                // Full: whatever is left either exists already or does not fit.
                for i in pending.drain(..) {
                    results[i] = Some(match self.existing_id(&contacts[i]).await? {
                        Some(id) => BatchResult::Exists(id),
                        None => BatchResult::OverLimit,
                    });
                }
                break;
            }
            // Take contacts in order while their operations (and the counter) fit.
            let mut chunk = Vec::new();
            let mut ops = Vec::new();
            let mut roles = Vec::new();
            while let Some(&i) = pending.front() {
                let contact_ops = create_ops(&contacts[i])?;
                let fits = ops.len() + contact_ops.len() < MAX_TRANSACTION_OPS;
                if !fits || room.is_some_and(|r| chunk.len() as u64 >= r) {
                    break;
                }
                pending.pop_front();
                for (op, role) in contact_ops {
                    ops.push(op);
                    roles.push((chunk.len(), role));
                }
                chunk.push(i);
            }
            if chunk.is_empty() {
                return Err(TableError::Invalid("a contact needs more operations than a transaction holds".into()));
            }
            let n = chunk.len() as i64;
            ops.push(counter_op(tenant_id, n, limit));
            match self.table.transact(ops).await {
                Ok(()) => {
                    count += n as u64;
                    let tags: BTreeSet<&String> = chunk.iter().flat_map(|&i| &contacts[i].tags).collect();
                    self.remember_tags(tenant_id, tags.into_iter()).await;
                    for i in chunk {
                        results[i] = Some(BatchResult::Created);
                    }
                    attempt = 0;
                }
                Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => {
                    let mut taken = vec![false; chunk.len()];
                    for &f in &failed_conditions {
                        match roles.get(f) {
                            Some(&(pos, Some(_))) => taken[pos] = true,
                            Some(&(_, None)) => {
                                return Err(TableError::Invalid("contact id collision in a batch".into()));
                            }
                            // The counter: others added contacts meanwhile.
                            None => count = self.count(tenant_id).await?,
                        }
                    }
                    // Back to the front, in order; taken ones are resolved now.
                    for (pos, &i) in chunk.iter().enumerate().rev() {
                        if taken[pos] {
                            match self.existing_id(&contacts[i]).await? {
                                Some(id) => results[i] = Some(BatchResult::Exists(id)),
                                None => pending.push_front(i),
                            }
                        } else {
                            pending.push_front(i);
                        }
                    }
                }
                Err(e) if is_contention(&e) => {
                    chunk.iter().rev().for_each(|&i| pending.push_front(i));
                    attempt += 1;
                    if attempt > MAX_CONTENTION_RETRIES {
                        return Err(TableError::Throttled);
                    }
                    backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| TableError::Invalid("batch left a contact unresolved".into())))
            .collect()
    }

    /// The id of the contact that already holds one of `c`'s identities.
    async fn existing_id(&self, c: &Contact) -> Result<Option<String>, TableError> {
        if let Some(phone) = &c.phone
            && let Some(id) = self.find_id(&c.tenant_id, Identity::Phone, phone).await?
        {
            return Ok(Some(id));
        }
        if let Some(wa) = &c.wa_user_id {
            return self.find_id(&c.tenant_id, Identity::WaUser, wa).await;
        }
        Ok(None)
    }

    /// Replaces `previous` with `next` (same id) if nobody changed it since it was read; takes
    /// uniqueness items for identities `next` adds and frees those it drops, atomically.
    pub async fn replace(&self, previous: &Contact, next: &Contact) -> Result<ReplaceOutcome, TableError> {
        let mut next = next.clone();
        next.version = previous.version + 1;
        let guard = Cond::And(vec![Cond::Exists, Cond::eq("version", previous.version)]);
        let before = identities(previous);
        let after = identities(&next);
        let added_tags: Vec<&String> = next.tags.iter().filter(|t| !previous.tags.contains(t)).collect();
        if before == after {
            return match self.table.put(contact_item(&next)?, Some(guard)).await {
                Ok(()) => {
                    self.remember_tags(&next.tenant_id, added_tags.into_iter()).await;
                    Ok(ReplaceOutcome::Done)
                }
                Err(TableError::ConditionFailed { .. }) => Ok(ReplaceOutcome::Stale),
                Err(e) => Err(e),
            };
        }
        let mut ops = vec![TxOp::Put { item: contact_item(&next)?, cond: Some(guard) }];
        let mut roles = vec![None];
        for (identity, key) in &after {
            if !before.iter().any(|(_, k)| k == key) {
                ops.push(unique_put(key.clone(), &next.id));
                roles.push(Some(*identity));
            }
        }
        for (_, key) in &before {
            if !after.iter().any(|(_, k)| k == key) {
                ops.push(TxOp::Delete { key: key.clone(), cond: Some(owned_by(&next.id)) });
                roles.push(None);
            }
        }
        match self.table.transact(ops).await {
            Ok(()) => {
                self.remember_tags(&next.tenant_id, added_tags.into_iter()).await;
                Ok(ReplaceOutcome::Done)
            }
            Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => {
                match failed_conditions.iter().find_map(|&i| roles.get(i).copied().flatten()) {
                    Some(identity) => Ok(ReplaceOutcome::IdentityTaken(identity)),
                    None => Ok(ReplaceOutcome::Stale),
                }
            }
            Err(e) if is_contention(&e) => Ok(ReplaceOutcome::Stale),
            Err(e) => Err(e),
        }
    }

    /// The tags the tenant's contacts carry (or carried: see the module note), alphabetically,
    /// at most `limit`. A tenant whose contacts predate the tag list gets it filled once from
    /// its newest contacts.
    pub async fn tags(&self, tenant_id: &str, limit: usize) -> Result<Vec<String>, TableError> {
        let page = self
            .table
            .query(Query::table(keys::contact_tags(tenant_id)).begins_with(keys::CONTACT_TAG_PREFIX).limit(limit))
            .await?;
        let tags: Vec<String> = page.items.iter().filter_map(|i| i.get_str("tag").map(str::to_owned)).collect();
        if !tags.is_empty() || self.count(tenant_id).await? == 0 {
            return Ok(tags);
        }
        // Filled once: a tenant whose contacts carry no tag must not rescan on every read.
        let filled = keys::contact_tags_filled(tenant_id);
        if self.table.get(&filled).await?.is_some() {
            return Ok(tags);
        }
        let (recent, _) = self.list(tenant_id, &ListFilter::default(), TAG_BACKFILL_SCAN, None).await?;
        let found: BTreeSet<&String> = recent.iter().flat_map(|c| &c.tags).collect();
        self.remember_tags(tenant_id, found.iter().copied()).await;
        self.table.put(Item::new(filled), None).await?;
        Ok(found.into_iter().take(limit).cloned().collect())
    }

    /// Records tags as in use (idempotent puts). Called after the contact write that carries
    /// them succeeded: its failure must not turn that success into an error (a retry would then
    /// meet its own contact as a duplicate), so it is logged instead.
    pub async fn remember_tags<'t>(&self, tenant_id: &str, tags: impl Iterator<Item = &'t String>) {
        for tag in tags {
            let item = Item::new(keys::contact_tag(tenant_id, tag)).with("tag", tag.as_str());
            if let Err(e) = self.table.put(item, None).await {
                tracing::warn!(tenant_id, tag = %tag, error = %e, "contact tag not recorded in the tag list");
            }
        }
    }

    /// Deletes the contact, frees its phone and WhatsApp user id and uncounts it, in one
    /// transaction. Returns the deleted contact, or `None` when there was none.
    pub async fn delete(&self, tenant_id: &str, contact_id: &str) -> Result<Option<Contact>, TableError> {
        for attempt in 0..=MAX_CONTENTION_RETRIES {
            let Some(contact) = self.get(tenant_id, contact_id).await? else { return Ok(None) };
            let mut ops = vec![TxOp::Delete {
                key: keys::contact(tenant_id, contact_id),
                // Exactly the version read, so the identities freed below are its identities.
                cond: Some(Cond::eq("version", contact.version)),
            }];
            for (_, key) in identities(&contact) {
                ops.push(TxOp::Delete { key, cond: Some(owned_by(contact_id)) });
            }
            ops.push(counter_op(tenant_id, -1, None));
            match self.table.transact(ops).await {
                Ok(()) => return Ok(Some(contact)),
                Err(e) if e.is_condition_failure() || is_contention(&e) => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(TableError::Throttled)
    }
}

/// A uniqueness item that is absent or points at `contact_id` (never free another contact's).
fn owned_by(contact_id: &str) -> Cond {
    Cond::Or(vec![Cond::NotExists, Cond::eq("contact_id", contact_id)])
}
