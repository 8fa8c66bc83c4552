//! The daily counters: how they are moved (always as an operation of the transaction that makes
//! the change they count) and which day and shard an event counts on.
//!
//! - **Funnel** (`sent`, `delivered`, `read`, `failed`): each outbound message counts in its
//!   *current* status's funnel — `read` counts in sent, delivered and read; `delivered` in sent
//!   and delivered; `sent` in sent; `failed` in failed only — on the day of the message (see
//!   [`message_day`]). A status transition `from → to` adds `funnel(to) − funnel(from)` to the
//!   day's shard, in the same transaction as the compare-and-set on the message's status
//!   (`messages::status`), exactly as the campaign counters move: a duplicate or late webhook,
//!   which moves nothing, counts nothing, so the counts always equal the messages' final states.
//!   The same delta goes to the template's day counter when the message is a template.
//! - **Inbound**: `+1` in the transaction that records the inbound message (its wamid's
//!   uniqueness item makes a redelivery count nothing), on the day Meta says it was sent.
//! - **Money** (`cost_<category>`, `credits_debited`, `credits_refunded`, in 1/10,000 units):
//!   in the billing transaction that writes the ledger entry, on the entry's day — so the days
//!   add up to the ledger. A refund adds to `credits_refunded` and takes its amount off the
//!   category's cost, so `cost` is net of refunds.
//!
//! A day is the tenant's local day (`tenant settings time_zone`). The zone is cached per process
//! for [`ZONE_TTL`]; a message's day is pinned on the message (`stats_day`) by its first counted
//! transition, so a zone change never splits one message's counts over two days.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::domain::zone::Zone;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::messages::MessageStatus;
use crate::domain::money::Money;
use crate::ports::Ports;
use crate::ports::table::{Item, TableError, TxOp, Update};
use crate::store::keys;
use crate::store::tenant_settings::TenantSettingsStore;

/// The funnel attributes, in funnel order.
pub const FUNNEL: [&str; 4] = ["sent", "delivered", "read", "failed"];
/// Meta's pricing categories the counters keep cost for (anything else counts as marketing,
/// as `sending::prices` charges it).
pub const CATEGORIES: [&str; 4] = ["marketing", "utility", "authentication", "service"];
/// The message attribute pinning the day its funnel counts on.
pub const DAY_ATTR: &str = "stats_day";
/// How long a tenant's time zone is cached by a process.
pub const ZONE_TTL: Duration = Duration::from_secs(60);

/// What a message in `status` counts in, per [`FUNNEL`] attribute.
pub fn funnel(status: MessageStatus) -> [i64; 4] {
    match status {
        MessageStatus::Sent => [1, 0, 0, 0],
        MessageStatus::Delivered => [1, 1, 0, 0],
        MessageStatus::Read => [1, 1, 1, 0],
        MessageStatus::Failed => [0, 0, 0, 1],
        _ => [0, 0, 0, 0],
    }
}

/// The counter attribute of a pricing category's cost.
pub fn cost_attr(category: &str) -> String {
    let c = category.to_ascii_lowercase();
    let bucket = CATEGORIES.into_iter().find(|k| c.starts_with(k)).unwrap_or("marketing");
    format!("cost_{bucket}")
}

static ZONES: LazyLock<Mutex<HashMap<String, (Instant, Zone)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The tenant's time zone (UTC when unset or unreadable), cached for [`ZONE_TTL`].
pub async fn time_zone(ports: &Ports, tenant_id: &str) -> Result<Zone, TableError> {
    if let Some((at, tz)) = ZONES.lock().unwrap_or_else(|p| p.into_inner()).get(tenant_id)
        && at.elapsed() < ZONE_TTL
    {
        return Ok(tz.clone());
    }
    let settings = TenantSettingsStore::new(&*ports.table).get(tenant_id).await?.settings;
    let tz = Zone::or_utc(&settings.time_zone);
    ZONES.lock().unwrap_or_else(|p| p.into_inner()).insert(tenant_id.to_owned(), (Instant::now(), tz.clone()));
    Ok(tz)
}

/// Forgets the cached zone (this process changed the tenant's settings).
pub fn forget_time_zone(tenant_id: &str) {
    ZONES.lock().unwrap_or_else(|p| p.into_inner()).remove(tenant_id);
}

/// `at` as a local date, `YYYY-MM-DD`.
pub fn local_date(tz: &Zone, at: DateTime<Utc>) -> String {
    tz.date(at).format("%Y-%m-%d").to_string()
}

/// The day a message's funnel counts on: pinned on the message ([`DAY_ATTR`]) or, before its
/// first counted transition, the local date of when it was due to go out (`schedule_at`, else
/// `created_at`).
pub async fn message_day(ports: &Ports, tenant_id: &str, item: &Item) -> Result<String, TableError> {
    if let Some(day) = item.get_str(DAY_ATTR) {
        return Ok(day.to_owned());
    }
    let time = |name: &str| {
        item.get_str(name).and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
    };
    let at = time("schedule_at").or_else(|| time("created_at")).unwrap_or_else(|| ports.clock.now());
    Ok(local_date(&time_zone(ports, tenant_id).await?, at))
}

/// The template a message sends, as (name, language), if it is a template message.
pub fn template_of(item: &Item) -> Option<(String, String)> {
    let t = item.get("template")?;
    let name = t.get("name")?.as_str()?;
    let language = match t.get("language")? {
        Value::String(s) => s.as_str(),
        other => other.get("code")?.as_str()?,
    };
    Some((name.to_owned(), language.to_owned()))
}

fn funnel_update(from: MessageStatus, to: MessageStatus) -> Option<Update> {
    let (f, t) = (funnel(from), funnel(to));
    let mut update = Update::new();
    for (i, name) in FUNNEL.iter().enumerate() {
        if t[i] != f[i] {
            update = update.add(*name, t[i] - f[i]);
        }
    }
    (!update.is_empty()).then_some(update)
}

/// The counter operations for the outbound message `item` moving `from → to`, counted on `day`
/// (empty when its funnel does not change, e.g. queued → sending).
pub fn transition_ops(tenant_id: &str, item: &Item, day: &str, from: MessageStatus, to: MessageStatus) -> Vec<TxOp> {
    let (Some(update), Some(message_id)) = (funnel_update(from, to), item.get_str("id")) else { return Vec::new() };
    let shard = keys::shard_of(message_id, keys::DAILY_SHARDS);
    let mut ops = Vec::with_capacity(2);
    if let Some((name, language)) = template_of(item) {
        let update = update.clone().set("template_name", name.as_str()).set("language", language.as_str());
        let key = keys::template_daily_counter(tenant_id, shard, day, &name, &language);
        ops.push(TxOp::Update { key, update, cond: None });
    }
    ops.push(TxOp::Update { key: keys::daily_counter(tenant_id, shard, day), update, cond: None });
    ops
}

/// `+1 inbound` on `day` for the inbound message `message_id`.
pub fn inbound_op(tenant_id: &str, message_id: &str, day: &str) -> TxOp {
    let shard = keys::shard_of(message_id, keys::DAILY_SHARDS);
    TxOp::Update {
        key: keys::daily_counter(tenant_id, shard, day),
        update: Update::new().add("inbound", 1),
        cond: None,
    }
}

/// Debits on `day` (one op for a whole debit transaction): each `(category, amount)` adds to
/// its category's cost and to `credits_debited`. `seed` picks the shard (an entry id).
pub fn debited_op(tenant_id: &str, seed: &str, day: &str, debits: &[(&str, Money)]) -> Option<TxOp> {
    if debits.is_empty() {
        return None;
    }
    let total = debits.iter().map(|(_, a)| a.units()).sum::<i64>();
    let mut update = Update::new().add("credits_debited", total);
    for (attr, n) in per_cost_attr(debits.iter().map(|(category, a)| (*category, a.units()))) {
        update = update.add(attr, n);
    }
    let shard = keys::shard_of(seed, keys::DAILY_SHARDS);
    Some(TxOp::Update { key: keys::daily_counter(tenant_id, shard, day), update, cond: None })
}

/// The cost attributes' deltas: `(category, units)` summed per attribute.
fn per_cost_attr<'a>(amounts: impl Iterator<Item = (&'a str, i64)>) -> Vec<(String, i64)> {
    let mut by_attr: Vec<(String, i64)> = Vec::new();
    for (category, units) in amounts {
        let attr = cost_attr(category);
        match by_attr.iter_mut().find(|(a, _)| *a == attr) {
            Some((_, n)) => *n += units,
            None => by_attr.push((attr, units)),
        }
    }
    by_attr
}

/// A batch of refunds on `day` (one op for the transaction): `credits_refunded` up by their
/// total, each category's cost down by its share (a debit made before the counters existed has
/// no category: its cost was never counted).
pub fn refunded_op(tenant_id: &str, seed: &str, day: &str, refunds: &[(Option<&str>, Money)]) -> TxOp {
    let shard = keys::shard_of(seed, keys::DAILY_SHARDS);
    let mut update = Update::new().add("credits_refunded", refunds.iter().map(|(_, a)| a.units()).sum::<i64>());
    let costs = refunds.iter().filter_map(|(category, a)| Some(((*category)?, -a.units())));
    for (attr, n) in per_cost_attr(costs) {
        update = update.add(attr, n);
    }
    TxOp::Update { key: keys::daily_counter(tenant_id, shard, day), update, cond: None }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ports::table::Key;

    #[test]
    fn funnel_deltas_add_up_to_the_final_state() {
        use MessageStatus::*;
        // Any forward path ends counted as its last status, whatever the steps.
        for path in [
            vec![Queued, Sent, Delivered, Read],
            vec![Queued, Read],
            vec![Queued, Sent, Failed],
            vec![Queued, Sending, Delivered],
        ] {
            let mut total = [0i64; 4];
            for pair in path.windows(2) {
                if let Some(u) = funnel_update(pair[0], pair[1]) {
                    for (name, n) in u.add {
                        total[FUNNEL.iter().position(|f| *f == name).unwrap()] += n;
                    }
                }
            }
            assert_eq!(total, funnel(*path.last().unwrap()), "{path:?}");
        }
        assert!(funnel_update(Queued, Sending).is_none());
    }

    #[test]
    fn local_dates_and_categories() {
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        // 18:29:59 UTC is 23:59:59 in Kolkata; a second later it is the next day there.
        let before = Utc.with_ymd_and_hms(2026, 3, 1, 18, 29, 59).unwrap();
        assert_eq!(local_date(&kolkata, before), "2026-03-01");
        assert_eq!(local_date(&kolkata, before + chrono::Duration::seconds(1)), "2026-03-02");
        assert_eq!(cost_attr("MARKETING"), "cost_marketing");
        assert_eq!(cost_attr("authentication_international"), "cost_authentication");
        assert_eq!(cost_attr("referral_conversion"), "cost_marketing");
    }

    #[test]
    fn templates_are_named_with_their_language() {
        let item = Item::new(Key::new("p", "s"))
            .with("template", serde_json::json!({"name": "fee_reminder", "language": {"code": "en"}}));
        assert_eq!(template_of(&item), Some(("fee_reminder".into(), "en".into())));
        assert_eq!(template_of(&Item::new(Key::new("p", "s"))), None);
    }
}
