//! The fan-out: turning a campaign's audience into messages, as queued work (queue `fanout`).
//!
//! One job = one page of the audience ([`PAGE_SIZE`] contacts). A page:
//! 1. reads the campaign; only the page it is at (`fanout_page`) is done, so a late or duplicate
//!    job does nothing;
//! 2. reads the page of contacts (the tenant's contact list up to the campaign's snapshot bound,
//!    tag-filtered; or the explicit ids), skipping and counting opted-out contacts and contacts
//!    missing a mapped value;
//! 3. writes the messages in transactions of up to 98 puts, each put `attribute_not_exists` on a
//!    deterministic id per (campaign, contact) — nobody gets a message twice, however often a
//!    page is redone — with `ADD created` on the campaign (conditioned on it still running at
//!    this page: a cancel stops the fan-out at the next transaction) and `ADD queued` on a
//!    counter shard;
//! 4. queues their send jobs on the bulk lane (`send_bulk`);
//! 5. checkpoints (`fanout_page` + 1, the next cursor, the skip counts; on the last page the
//!    campaign is `completed` and the unused quota reservation given back, in one transaction);
//! 6. queues the next page's job.
//!
//! A worker dying anywhere is healed by the queue's redelivery: before step 5 the page is simply
//! redone (existing messages are found by their failed conditions, and their send jobs queued
//! again because the first attempt may have died before queueing them; the send worker ignores
//! a job whose message is no longer `queued`); after step 5 the redelivered job only queues the
//! next page's job (step 6), which a duplicate job of the next page finds done.

use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Campaign, CampaignStatus, counters, mapping};
use crate::domain::Error;
use crate::domain::contacts::Contact;
use crate::domain::contacts::service::ID_PREFIX as CONTACT_PREFIX;
use crate::domain::media::{MediaStatus, MessageMedia};
use crate::domain::messages::dispatch::{self, SendJob};
use crate::domain::messages::header::{self, TemplateHeader};
use crate::domain::messages::{Direction, Message, MessageStatus};
use crate::domain::templates::schema;
use crate::domain::usage;
use crate::ports::Ports;
use crate::ports::queue::{OutMessage, QueueError};
use crate::ports::table::{Cond, MAX_TRANSACTION_OPS, Query, SkCond, TableError, TxOp, Update};
use crate::store::{campaigns, keys, messages};

/// Contacts per fan-out job.
pub const PAGE_SIZE: usize = 500;
/// Message puts per transaction: the rest of the 100 operations are the campaign's progress and
/// one counter shard.
const PUTS_PER_TX: usize = MAX_TRANSACTION_OPS - 2;
/// Transactions cancelled by contention (not by a condition) are retried this often.
const MAX_CONTENTION_RETRIES: u32 = 8;
/// The cancel sweep waits this long before reading the campaign's message index, which on
/// DynamoDB is eventually consistent (a message written just before the cancel must be visible).
pub const SWEEP_DELAY: Duration = Duration::from_secs(2);
/// Messages cancelled per sweep transaction (plus at most one counter op per shard and the usage).
pub fn sweep_batch() -> usize {
    MAX_TRANSACTION_OPS - keys::CAMPAIGN_COUNTER_SHARDS as usize - 1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FanoutJob {
    Page {
        tenant_id: String,
        campaign_id: String,
        page: i64,
        /// Queued again by the reconciler for a campaign whose fan-out stalled: do the page as a
        /// redelivery would (its messages' send jobs queued again, the next page queued again).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resume: bool,
    },
    /// Cancels a cancelled campaign's unsent messages, one index shard, a page at a time.
    CancelSweep {
        tenant_id: String,
        campaign_id: String,
        shard: u64,
        #[serde(default)]
        cursor: Option<String>,
    },
    /// Queues a tenant's parked (held) messages again, one index shard, a page at a time
    /// (`sending::hold`): queued when the tenant may send again.
    ReleaseHeld {
        tenant_id: String,
        shard: u64,
        #[serde(default)]
        cursor: Option<String>,
    },
}

pub async fn enqueue(ports: &Ports, job: &FanoutJob, delay: Duration) -> Result<(), QueueError> {
    let body = serde_json::to_string(job).expect("job serializes");
    ports.queue.send(crate::queues::FANOUT, OutMessage::new(body).delayed(delay)).await
}

pub async fn enqueue_page(ports: &Ports, tenant_id: &str, campaign_id: &str, page: i64) -> Result<(), QueueError> {
    let job = FanoutJob::Page { tenant_id: tenant_id.into(), campaign_id: campaign_id.into(), page, resume: false };
    enqueue(ports, &job, Duration::ZERO).await
}

/// Queues the release of a tenant's parked messages: one job per held-index shard, in one batch.
pub async fn enqueue_release(ports: &Ports, tenant_id: &str) -> Result<(), QueueError> {
    let jobs = (0..keys::HELD_SHARDS)
        .map(|shard| {
            let job = FanoutJob::ReleaseHeld { tenant_id: tenant_id.into(), shard, cursor: None };
            OutMessage::new(serde_json::to_string(&job).expect("job serializes"))
        })
        .collect();
    ports.queue.send_batch(crate::queues::FANOUT, jobs).await
}

/// After a change that may let a tenant send again (reactivation, a later end date, a completed
/// WhatsApp connect): queues the release of its parked messages. Not the caller's failure when
/// that cannot be queued (the change itself is committed): the reconciler releases them then.
pub async fn release_held_after_change(ports: &Ports, tenant_id: &str) {
    use crate::domain::sending::hold;
    let releasable =
        async { Ok::<_, Error>(hold::has_held(ports, tenant_id).await? && hold::may_release(ports, tenant_id).await?) };
    match releasable.await {
        Ok(true) => {
            if let Err(e) = enqueue_release(ports, tenant_id).await {
                tracing::warn!(error = %e, tenant_id, "release of held messages not queued; the reconciler will");
            }
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, tenant_id, "could not check whether held messages may go"),
    }
}

/// The contacts of a tag or "all" audience, in a stable order (oldest first), bounded to the
/// contacts that existed when the campaign was created: ids are ULIDs, so every contact created
/// before the campaign has an id below `con_<the campaign's ULID>`. `None` for an explicit list.
pub fn audience_query(
    tenant_id: &str,
    campaign_id: &str,
    audience: &super::Audience,
    limit: usize,
    cursor: Option<String>,
) -> Option<Query> {
    if !audience.contact_ids.is_empty() {
        return None;
    }
    let ulid = campaign_id.split_once('_').map(|(_, u)| u).unwrap_or(campaign_id);
    let bound = format!("{CONTACT_PREFIX}_{ulid}");
    let mut query =
        Query::index(keys::LISTS, keys::contacts_list(tenant_id)).sk(SkCond::Lt(bound)).limit(limit).cursor(cursor);
    if !audience.tags.is_empty() {
        query = query.filter(Cond::Or(audience.tags.iter().map(|t| Cond::contains("tags", t.as_str())).collect()));
    }
    Some(query)
}

pub struct FanoutWorker {
    pub ports: Ports,
}

/// One page of a tenant's parked messages back to the send lanes; queues the next page.
pub async fn release_held(ports: &Ports, tenant_id: &str, shard: u64, cursor: Option<String>) -> Result<(), Error> {
    let (released, next) = crate::domain::sending::hold::release_page(ports, tenant_id, shard, cursor).await?;
    if released > 0 {
        tracing::info!(tenant_id, shard, released, "held messages released");
    }
    if let Some(cursor) = next {
        let job = FanoutJob::ReleaseHeld { tenant_id: tenant_id.into(), shard, cursor: Some(cursor) };
        enqueue(ports, &job, Duration::ZERO).await?;
    }
    Ok(())
}

/// What one page job did (for tests and logs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageReport {
    /// Messages this attempt created.
    pub created: usize,
    /// Messages of this page that existed already (a redone page).
    pub existing: usize,
    pub skipped_opted_out: i64,
    pub skipped_missing_data: i64,
    /// The page was not at the campaign's checkpoint (done before, or the campaign stopped).
    pub nothing_to_do: bool,
    pub last: bool,
}

/// Does page `page` of the campaign (see the module documentation). `redelivered`: this job
/// may have been attempted before.
pub async fn run_page(
    ports: &Ports,
    tenant_id: &str,
    campaign_id: &str,
    page: i64,
    redelivered: bool,
) -> Result<PageReport, Error> {
    let idle = PageReport { nothing_to_do: true, ..PageReport::default() };
    let Some(campaign) = campaigns::Campaigns::new(&*ports.table).get(tenant_id, campaign_id).await? else {
        return Ok(idle);
    };
    match campaign.status {
        CampaignStatus::Cancelled => {
            super::cancel::settle(ports, tenant_id, campaign_id).await?;
            return Ok(idle);
        }
        CampaignStatus::Running => {}
        CampaignStatus::Scheduled | CampaignStatus::Completed => return Ok(idle),
    }
    if campaign.fanout_page == page + 1 {
        // Checkpointed before; the attempt may have died before queueing the next page.
        if redelivered {
            enqueue_page(ports, tenant_id, campaign_id, page + 1).await?;
        }
        return Ok(idle);
    }
    if campaign.fanout_page != page {
        return Ok(idle);
    }

    let (contacts, next_cursor) = read_page(ports, &campaign).await?;
    let mut report = PageReport::default();
    let mut outgoing = Vec::with_capacity(contacts.len());
    for contact in contacts {
        match message_for(ports, &campaign, contact.as_ref()) {
            Recipient::Message(m) => outgoing.push(*m),
            Recipient::OptedOut => report.skipped_opted_out += 1,
            Recipient::MissingData => report.skipped_missing_data += 1,
        }
    }

    // Each chunk's send jobs are queued while the next chunk is written (the queue and the table
    // are separate stores, locally and on AWS); all are queued before the checkpoint.
    let mut sends = Vec::new();
    for (i, chunk) in outgoing.chunks(PUTS_PER_TX).enumerate() {
        let Some(written) = write_chunk(ports, &campaign, page, chunk, i as u64).await? else {
            // The campaign stopped (cancelled) under us: nothing more is created.
            super::cancel::settle(ports, tenant_id, campaign_id).await?;
            return Ok(idle);
        };
        report.created += written.created.len();
        report.existing += written.existing.len();
        let mut ids = written.created;
        if redelivered {
            ids.extend(written.existing);
        }
        if !ids.is_empty() {
            let jobs: Vec<SendJob> =
                ids.into_iter().map(|id| SendJob { tenant_id: tenant_id.to_owned(), message_id: id }).collect();
            // Queued while the next chunk is written; the bulk lane, in the tenant's message group.
            let ports = ports.clone();
            sends.push(tokio::spawn(async move { dispatch::enqueue_bulk(&ports, &jobs).await }));
        }
    }
    for send in sends {
        send.await.map_err(|e| Error::internal(format!("send job task: {e}")))??;
    }

    report.last = next_cursor.is_none();
    if !checkpoint(ports, tenant_id, campaign_id, page, next_cursor, &report).await? {
        return Ok(PageReport { nothing_to_do: true, ..report });
    }
    if !report.last {
        enqueue_page(ports, tenant_id, campaign_id, page + 1).await?;
    }
    Ok(report)
}

/// The page's contacts; `None` for an explicit id whose contact was deleted since.
async fn read_page(ports: &Ports, c: &Campaign) -> Result<(Vec<Option<Contact>>, Option<String>), Error> {
    if !c.audience.contact_ids.is_empty() {
        let start = (c.fanout_page.max(0) as usize).saturating_mul(PAGE_SIZE).min(c.audience.contact_ids.len());
        let end = (start + PAGE_SIZE).min(c.audience.contact_ids.len());
        let gets = c.audience.contact_ids[start..end]
            .iter()
            .map(|id| async move { ports.table.get(&keys::contact(&c.tenant_id, id)).await });
        let mut contacts = Vec::with_capacity(end - start);
        for item in join_all(gets).await {
            contacts.push(item?.map(|i| i.to_entity::<Contact>()).transpose()?);
        }
        let next = (end < c.audience.contact_ids.len()).then(|| end.to_string());
        return Ok((contacts, next));
    }
    let query = audience_query(&c.tenant_id, &c.id, &c.audience, PAGE_SIZE, c.fanout_cursor.clone())
        .ok_or_else(|| Error::internal("audience without a query"))?;
    let page = ports.table.query(query).await?;
    let contacts = page.items.iter().map(|i| i.to_entity::<Contact>().map(Some)).collect::<Result<_, _>>()?;
    Ok((contacts, page.next_cursor))
}

enum Recipient {
    Message(Box<Message>),
    OptedOut,
    MissingData,
}

/// The message `contact` gets from this campaign, or why it gets none.
fn message_for(ports: &Ports, c: &Campaign, contact: Option<&Contact>) -> Recipient {
    let Some(contact) = contact else { return Recipient::MissingData };
    if contact.opted_out {
        return Recipient::OptedOut;
    }
    let Some(to) = contact.phone.clone().or_else(|| contact.wa_user_id.clone()) else {
        return Recipient::MissingData;
    };
    // Validated at creation; a mapping that no longer parses is the contact's loss, not a crash.
    let Ok(mappings) = c.variables.iter().map(mapping::Mapping::parse).collect::<Result<Vec<_>, _>>() else {
        return Recipient::MissingData;
    };
    let (values, media) = match &c.header {
        // Created before media headers were given apart (or a template without one).
        None => (mapping::render_all(&c.schema, &mappings, contact), None),
        Some(h) => {
            let Some(value) = header_for(h, contact) else { return Recipient::MissingData };
            let rest = mapping::render_all(&header::without_header(&c.schema), &mappings, contact);
            (rest.map(|rest| header::full_variables(Some(value), &rest)), header_media(h))
        }
    };
    let Some(values) = values else { return Recipient::MissingData };
    let template = json!({
        "name": c.template.name,
        "language": {"code": c.template.language},
        "components": schema::build(&c.schema, &values),
    });
    let id = keys::campaign_message_id(&c.id, &contact.id);
    Recipient::Message(Box::new(Message {
        contact_id: Some(contact.id.clone()),
        to: Some(to),
        template: Some(template),
        category: Some(c.template.category.clone()),
        campaign_id: Some(c.id.clone()),
        media,
        ..Message::new(id, &c.tenant_id, Direction::Outbound, "template", MessageStatus::Queued, ports.clock.now())
    }))
}

/// A campaign's header for one recipient: its link mapping rendered (`None`: the contact has no
/// https link there), or the same file or link for all.
fn header_for(h: &TemplateHeader, contact: &Contact) -> Option<Value> {
    match h.link.as_deref().map(|l| mapping::Mapping::parse(&json!(l))) {
        Some(Ok(m @ mapping::Mapping::Attribute(_))) => {
            let link = m.render(contact)?;
            let link = link.as_str().filter(|l| l.starts_with("https://") && !l.contains(char::is_whitespace))?;
            Some(header::variable(h, Some(link)))
        }
        _ => Some(header::variable(h, None)),
    }
}

/// The file a header by `media_id` sends (uploaded to Meta by the send worker, like a reply's).
fn header_media(h: &TemplateHeader) -> Option<MessageMedia> {
    Some(MessageMedia {
        id: h.media_id.clone()?,
        kind: h.kind,
        status: MediaStatus::Ready,
        mime_type: None,
        filename: h.filename.clone(),
        error: None,
    })
}

struct Written {
    created: Vec<String>,
    existing: Vec<String>,
}

/// Puts one chunk of messages; `None` when the campaign is no longer running at this page.
async fn write_chunk(
    ports: &Ports,
    c: &Campaign,
    page: i64,
    chunk: &[Message],
    shard: u64,
) -> Result<Option<Written>, Error> {
    let mut pending: Vec<&Message> = chunk.iter().collect();
    let mut existing = Vec::new();
    let mut contention = 0;
    while !pending.is_empty() {
        let n = pending.len() as i64;
        let mut ops = vec![
            TxOp::Update {
                key: campaigns::key(&c.tenant_id, &c.id),
                update: Update::new().add("created", n),
                cond: Some(Cond::And(vec![
                    Cond::eq("status", CampaignStatus::Running.as_str()),
                    Cond::eq("fanout_page", page),
                ])),
            },
            counters::created_op(&c.tenant_id, &c.id, shard, n),
        ];
        for m in &pending {
            ops.push(TxOp::Put { item: messages::item(m)?, cond: Some(Cond::NotExists) });
        }
        match ports.table.transact(ops).await {
            Ok(()) => {
                return Ok(Some(Written { created: pending.iter().map(|m| m.id.clone()).collect(), existing }));
            }
            Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
                return Ok(None);
            }
            Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => {
                // These messages exist: a previous attempt at this page wrote them.
                let mut keep = Vec::with_capacity(pending.len());
                for (i, m) in pending.into_iter().enumerate() {
                    if failed_conditions.contains(&(i + 2)) {
                        existing.push(m.id.clone());
                    } else {
                        keep.push(m);
                    }
                }
                pending = keep;
            }
            Err(e @ (TableError::TransactionCanceled { .. } | TableError::Throttled))
                if contention < MAX_CONTENTION_RETRIES =>
            {
                tracing::debug!(error = %e, "fan-out transaction contended; retrying");
                contention += 1;
                tokio::time::sleep(Duration::from_millis(10 << contention.min(6))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(Written { created: Vec::new(), existing }))
}

/// Moves the campaign past `page`; on the last page it is `completed` and the quota reserved but
/// not used (skipped contacts, contacts deleted since) is given back in the same transaction.
/// `Ok(false)`: someone else moved it (a duplicate job) or it was cancelled (then settled here).
async fn checkpoint(
    ports: &Ports,
    tenant_id: &str,
    campaign_id: &str,
    page: i64,
    next_cursor: Option<String>,
    report: &PageReport,
) -> Result<bool, Error> {
    for _ in 0..MAX_CONTENTION_RETRIES {
        // Read fresh: `created` now includes this page's messages (and a duplicate job's).
        let Some(c) = campaigns::Campaigns::new(&*ports.table).get(tenant_id, campaign_id).await? else {
            return Ok(false);
        };
        if c.status == CampaignStatus::Cancelled {
            super::cancel::settle(ports, tenant_id, campaign_id).await?;
            return Ok(false);
        }
        if c.status != CampaignStatus::Running || c.fanout_page != page {
            return Ok(false);
        }
        let mut update = Update::new()
            .set("fanout_page", page + 1)
            .add("skipped_opted_out", report.skipped_opted_out)
            .add("skipped_missing_data", report.skipped_missing_data);
        update = match &next_cursor {
            Some(cursor) => update.set("fanout_cursor", cursor.as_str()),
            None => update.remove("fanout_cursor"),
        };
        // Progress confirmed: the campaign's time in the hand-off index moves to now (the
        // reconciler resumes a fan-out only when no checkpoint came for its grace), and the last
        // page takes it out.
        let (gsi_pk, gsi_sk) =
            keys::handoff(&campaigns::key(tenant_id, campaign_id).pk, ports.clock.now().timestamp_millis());
        update = if report.last {
            update.remove(keys::HANDOFF.pk_attr()).remove(keys::HANDOFF.sk_attr())
        } else {
            update.set(keys::HANDOFF.pk_attr(), gsi_pk).set(keys::HANDOFF.sk_attr(), gsi_sk)
        };
        let mut ops = Vec::with_capacity(2);
        if report.last {
            let total = c.created
                + c.skipped_opted_out
                + c.skipped_missing_data
                + report.skipped_opted_out
                + report.skipped_missing_data;
            update = update
                .set("status", CampaignStatus::Completed.as_str())
                .set("completed_at", Value::String(ports.clock.now().to_rfc3339()))
                .set("total", total)
                .set("settled", true);
            let unused = c.reserved - c.created;
            if unused != 0 {
                ops.push(usage::adjust_op(tenant_id, &c.usage_period, -unused));
            }
        }
        let cond = Cond::And(vec![
            Cond::eq("status", CampaignStatus::Running.as_str()),
            Cond::eq("fanout_page", page),
            Cond::eq("created", c.created),
        ]);
        ops.insert(0, TxOp::Update { key: campaigns::key(tenant_id, campaign_id), update, cond: Some(cond) });
        match ports.table.transact(ops).await {
            Ok(()) => return Ok(true),
            Err(TableError::TransactionCanceled { .. } | TableError::Throttled) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::unavailable("the campaign kept changing during its checkpoint"))
}
