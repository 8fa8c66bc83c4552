//! Held sends: what happens to a message whose tenant may not send right now (suspended, the
//! subscription ended or has not started, or its WhatsApp connection is being changed with no
//! working one to send through).
//!
//! **Parked, not handed back.** Handing the job back to the queue with a delay counts as a
//! receive on SQS (and in the embedded queue), so after the lane's `maxReceiveCount` (50) holds a
//! suspended tenant's job would go to the dead-letter queue and its message stay `queued`
//! forever. Instead the send worker *parks* the message — one conditional update that marks it
//! `held` (the reason) and puts it in the tenant's part of the held index (`keys::HELD`) — and
//! acknowledges the job. Nothing of it is left on the queue, so a suspension can last any time.
//! The message keeps its status (`queued`), so the campaign counts, the cancel sweep and the API
//! see it as what it is; `GET /messages/{id}` shows `held`.
//!
//! **Released on reactivation.** A change that lets the tenant send again (PATCH
//! `/admin/tenants/{id}` to `active` or a later `ends_at`; a WhatsApp connect that completes)
//! queues [`FanoutJob::ReleaseHeld`](crate::domain::campaigns::fanout::FanoutJob) jobs, one per
//! index shard: each walks a page of the tenant's parked messages, queues their send jobs again
//! (one-off lane or bulk lane, as they came) and only then takes them off the index, so a crash
//! in between queues a job twice (the worker sends once), never zero times. The reconciler is
//! the safety net for a release job that was never queued or a tenant whose start date simply
//! came: it finds the tenants with parked messages by skipping through the index from tenant to
//! tenant, and queues the release for those that may send again.
//!
//! The race with a release that runs while a message is being parked (the release reads the
//! index before the park is visible in it) is closed by the worker: after parking, it reads the
//! tenant again and releases the message itself if the tenant may send by then.

use serde_json::Value;

use crate::domain::Error;
use crate::domain::messages::MessageStatus;
use crate::domain::messages::dispatch;
use crate::domain::tenants::{self, SendingState};
use crate::domain::whatsapp::connection::{ConnectionStatus, in_service};
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, SkCond, TableError, Update};
use crate::store::keys;
use crate::store::tenants::Tenants;

/// The attribute holding why a message is parked (the tenant's sending state code, or
/// `whatsapp_connecting`). Present exactly while the message is in the held index.
pub const HELD_ATTR: &str = "held";
/// The reason a message is parked while its tenant's WhatsApp connection is being changed.
pub const CONNECTING: &str = "whatsapp_connecting";
/// Parked messages released per page.
const PAGE: usize = 100;

/// Parks a message the worker may not send now. `Ok(false)`: it is no longer parkable (sent,
/// cancelled, finished or claimed meanwhile; nothing to do).
pub async fn park(ports: &Ports, item: &Item, reason: &str) -> Result<bool, TableError> {
    let (Some(key), Some(tenant_id)) = (item.key(), item.get_str("tenant_id")) else {
        return Err(TableError::Corrupt("message without key or tenant".into()));
    };
    let now_ms = ports.clock.now().timestamp_millis();
    let (gsi_pk, gsi_sk) = keys::held(tenant_id, &key.pk, now_ms);
    let update = Update::new()
        .set(HELD_ATTR, reason)
        .set("held_at_ms", now_ms)
        .set(keys::HELD.pk_attr(), gsi_pk)
        .set(keys::HELD.sk_attr(), gsi_sk);
    let parkable = Cond::And(vec![
        Cond::Or(vec![
            Cond::eq("status", MessageStatus::Queued.as_str()),
            Cond::eq("status", MessageStatus::Sending.as_str()),
        ]),
        // Accepted by Meta (a wamid) or owing a refund: not a send to hold.
        Cond::AttrNotExists("wamid".into()),
        Cond::AttrNotExists(crate::domain::messages::settle::REFUND_PENDING.into()),
    ]);
    match ports.table.update(&key, update, Some(parkable)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the tenant's parked messages may go back to the queue: it may send, and its
/// connection is not in the middle of a change without a working one.
pub async fn may_release(ports: &Ports, tenant_id: &str) -> Result<bool, Error> {
    let Some(tenant) = Tenants::new(&*ports.table).get(tenant_id).await? else { return Ok(false) };
    if tenants::sending_state(&tenant, ports.clock.now()) != SendingState::Active {
        return Ok(false);
    }
    let conn = crate::store::whatsapp::WhatsappStore::new(&*ports.table).get(tenant_id).await?;
    Ok(!conn.is_some_and(|c| c.status == ConnectionStatus::Connecting && in_service(&c).is_none()))
}

/// Queues the parked messages' jobs again, then takes them off the index (in that order: a crash
/// in between leaves a duplicate job, never none). Returns how many were released.
pub async fn requeue(ports: &Ports, items: &[Item]) -> Result<usize, Error> {
    let parked: Vec<&Item> = items.iter().filter(|i| i.get_str(HELD_ATTR).is_some()).collect();
    if parked.is_empty() {
        return Ok(0);
    }
    dispatch::requeue(ports, &parked).await?;
    for item in &parked {
        let Some(key) = item.key() else { continue };
        let clear = Update::new().remove(HELD_ATTR).remove(keys::HELD.pk_attr()).remove(keys::HELD.sk_attr());
        // Only the same parking (a message parked again since keeps its new entry).
        let same =
            Cond::Eq(keys::HELD.sk_attr().into(), item.get(keys::HELD.sk_attr()).cloned().unwrap_or(Value::Null));
        match ports.table.update(&key, clear, Some(same)).await {
            Ok(_) | Err(TableError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(parked.len())
}

/// One page of releasing `tenant_id`'s parked messages in one index shard. Returns the cursor of
/// the next page (`None`: this shard is done, or the tenant may not send yet).
pub async fn release_page(
    ports: &Ports,
    tenant_id: &str,
    shard: u64,
    cursor: Option<String>,
) -> Result<(usize, Option<String>), Error> {
    if !may_release(ports, tenant_id).await? {
        return Ok((0, None));
    }
    let query = Query::index(keys::HELD, keys::held_shard(shard))
        .begins_with(keys::held_prefix(tenant_id))
        .limit(PAGE)
        .cursor(cursor);
    let page = ports.table.query(query).await?;
    let released = requeue(ports, &page.items).await?;
    Ok((released, page.next_cursor))
}

/// Whether the tenant has parked messages (one query of one item per shard). The index is
/// eventually consistent: a message parked a moment ago may be missed, which the worker's own
/// check after parking and the reconciler cover.
pub async fn has_held(ports: &Ports, tenant_id: &str) -> Result<bool, TableError> {
    for shard in 0..keys::HELD_SHARDS {
        let query =
            Query::index(keys::HELD, keys::held_shard(shard)).begins_with(keys::held_prefix(tenant_id)).limit(1);
        if !ports.table.query(query).await?.items.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The tenants with parked messages in one index shard: one query of one item per tenant,
/// skipping from each tenant's entries to the next tenant's (the sort key starts with the tenant
/// id), so the cost grows with the number of such tenants, not with their parked messages.
pub async fn tenants_in_shard(ports: &Ports, shard: u64, max: usize) -> Result<Vec<String>, TableError> {
    let mut tenants = Vec::new();
    let mut after: Option<String> = None;
    while tenants.len() < max {
        let mut query = Query::index(keys::HELD, keys::held_shard(shard)).limit(1);
        if let Some(after) = &after {
            query = query.sk(SkCond::Gt(after.clone()));
        }
        let page = ports.table.query(query).await?;
        let Some(item) = page.items.first() else { break };
        let Some(tenant_id) = item.get_str(keys::HELD.sk_attr()).and_then(|sk| sk.split('#').next()) else { break };
        after = Some(keys::held_after(tenant_id));
        tenants.push(tenant_id.to_owned());
    }
    Ok(tenants)
}
