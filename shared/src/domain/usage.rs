//! Usage of the current subscription period: business-initiated messages sent (sharded counter
//! items, `store::keys::usage_counter`) and contacts (one counter item kept by the contact
//! transactions). The send pipeline and the contacts module write them; `GET /tenant` reads them.

use chrono::{DateTime, Months, Utc};
use rand::Rng;
use serde::Serialize;

use crate::ports::Ports;
use crate::ports::table::{Query, TableError, TxOp, Update};
use crate::store::keys;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Usage {
    pub period_start: DateTime<Utc>,
    pub messages_sent: u64,
    pub contacts: u64,
}

/// Subscription months are anchored on `starts_at`: a subscription that started on Jan 31 has
/// periods starting Feb 28/29, Mar 31, ... (chrono clamps to the month's last day).
pub fn period_start(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    if now <= starts_at {
        return starts_at;
    }
    // Jump by whole years first, then step month by month: at most ~13 steps.
    let mut months = (now.date_naive().years_since(starts_at.date_naive()).unwrap_or(0) * 12).saturating_sub(1);
    loop {
        let next = starts_at.checked_add_months(Months::new(months + 1));
        match next {
            Some(n) if n <= now => months += 1,
            _ => break,
        }
    }
    starts_at.checked_add_months(Months::new(months)).unwrap_or(starts_at)
}

pub fn period_key(period_start: DateTime<Utc>) -> String {
    period_start.format("%Y-%m-%d").to_string()
}

/// `ADD n` (negative: give back) to a random usage shard of `period` (a [`period_key`]), as a
/// transaction operation: campaigns reserve and release quota in the same transaction as the
/// write that decides it.
pub fn adjust_op(tenant_id: &str, period: &str, n: i64) -> TxOp {
    let shard = rand::thread_rng().gen_range(0..keys::USAGE_SHARDS);
    TxOp::Update {
        key: keys::usage_counter(tenant_id, period, shard),
        update: Update::new().add("count", n),
        cond: None,
    }
}

pub async fn current(ports: &Ports, tenant_id: &str, starts_at: DateTime<Utc>) -> Result<Usage, TableError> {
    let period = period_start(starts_at, ports.clock.now());
    let messages_sent = sent_in(ports, tenant_id, period).await?;
    let contacts =
        ports.table.get(&keys::contact_count(tenant_id)).await?.and_then(|i| i.get_i64("count")).unwrap_or(0).max(0)
            as u64;
    Ok(Usage { period_start: period, messages_sent, contacts })
}

/// Business-initiated messages sent in the current period: [`current`]'s `messages_sent`
/// without its contact count (what a send checks against the plan, one read fewer).
pub async fn messages_sent(ports: &Ports, tenant_id: &str, starts_at: DateTime<Utc>) -> Result<u64, TableError> {
    sent_in(ports, tenant_id, period_start(starts_at, ports.clock.now())).await
}

/// The sum of the period's counter shards.
async fn sent_in(ports: &Ports, tenant_id: &str, period: DateTime<Utc>) -> Result<u64, TableError> {
    let pk = keys::usage_counter(tenant_id, "", 0).pk;
    let page = ports
        .table
        .query(Query::table(pk).begins_with(keys::usage_prefix(&period_key(period))).limit(keys::USAGE_SHARDS as usize))
        .await?;
    Ok(page.items.iter().filter_map(|i| i.get_i64("count")).sum::<i64>().max(0) as u64)
}

/// Counts `n` messages sent in the period containing now (for the send worker: one call per
/// batch, on a random shard, so no counter item takes more than rate / batch / shards writes);
/// a negative `n` gives back counts of messages that were not accepted after all.
pub async fn record_sent(ports: &Ports, tenant_id: &str, starts_at: DateTime<Utc>, n: i64) -> Result<(), TableError> {
    let period = period_key(period_start(starts_at, ports.clock.now()));
    let shard = rand::thread_rng().gen_range(0..keys::USAGE_SHARDS);
    ports.table.update(&keys::usage_counter(tenant_id, &period, shard), Update::new().add("count", n), None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn periods_are_subscription_months() {
        assert_eq!(period_start(at(2026, 1, 15), at(2026, 1, 20)), at(2026, 1, 15));
        assert_eq!(period_start(at(2026, 1, 15), at(2026, 2, 15)), at(2026, 2, 15));
        assert_eq!(period_start(at(2026, 1, 15), at(2026, 2, 14)), at(2026, 1, 15));
        assert_eq!(period_start(at(2026, 1, 31), at(2026, 3, 1)), at(2026, 2, 28));
        assert_eq!(period_start(at(2020, 5, 10), at(2026, 5, 11)), at(2026, 5, 10));
        assert_eq!(period_start(at(2026, 5, 10), at(2026, 1, 1)), at(2026, 5, 10));
    }
}
