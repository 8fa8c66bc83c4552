//! The audit log's keys on both table adapters (SQLite, DynamoDB on moto): entries spread over
//! the shards and merged newest first with exact paging, the filters (actor, action, a time
//! window as a range of ids), the platform-wide list (GSI1), the TTL attribute, and an action
//! recorded twice with the same key being one entry.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use miping::domain::audit::{self, Actor, Changes, Context, Filter, Scope, Target};
use miping::ports::Ports;
use miping::ports::clock::ManualClock;
use miping::ports::table::Table;
use miping::store::keys;
use miping::testkit::unique;

/// Every entry of `scope` matching `filter`, following the cursor with pages of `limit`.
async fn all(ports: &Ports, scope: Scope<'_>, filter: &Filter, limit: usize) -> Vec<audit::Entry> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let (items, next) = audit::list(ports, scope, filter, limit, before).await.unwrap();
        assert!(items.len() <= limit);
        out.extend(items);
        match next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

async fn entries_page_filter_and_expire(table: Arc<dyn Table>) {
    // Whole seconds, a minute ago (the adapters hide expired items by the real time).
    let start = Utc.timestamp_opt(Utc::now().timestamp() - 60, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let (ports, _dir) = crate::common::ports_with_clock(table, clock.clone());
    let ports = &ports;
    let tenant = unique("ten");
    let (admin, other) = (unique("usr"), unique("usr"));
    let ctx = |id: &str| Context::new(Actor { id: Some(id.to_owned()), ..Actor::system() });

    // 24 entries a second apart, two actors, two actions; and 3 platform entries by `admin`.
    for i in 0..24 {
        let (who, action) = if i % 3 == 0 { (&other, "member.invited") } else { (&admin, "tenant.settings_changed") };
        let changes = Changes::default().field("n", i - 1, i);
        ctx(who).record(ports, Some(&tenant), action, Target::new("tenant", &tenant), changes).await.unwrap();
        clock.advance(Duration::seconds(1));
    }
    for _ in 0..3 {
        ctx(&admin)
            .record(ports, None, "plan.changed", Target::new("plan", "pln_1"), Changes::default())
            .await
            .unwrap();
    }

    let every = all(ports, Scope::Tenant(&tenant), &Filter::default(), 100).await;
    assert_eq!(every.len(), 24);
    let ids: Vec<String> = every.iter().map(|e| e.id.clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(every[0].changes.0["n"], (22.into(), 23.into()), "the last one recorded");
    let shards: HashSet<String> = ids.iter().map(|id| keys::audit_entry(Some(&tenant), id).pk).collect();
    assert!(shards.len() > 1, "spread over the shards: {shards:?}");
    for limit in [1, 5, 7] {
        let paged: Vec<String> =
            all(ports, Scope::Tenant(&tenant), &Filter::default(), limit).await.into_iter().map(|e| e.id).collect();
        assert_eq!(paged, ids, "pages of {limit}");
    }

    // Filters: actor, action, a time window (inclusive), combined, paged.
    let by = |actor: &str| Filter { actor_id: Some(actor.to_owned()), ..Filter::default() };
    assert_eq!(all(ports, Scope::Tenant(&tenant), &by(&other), 3).await.len(), 8);
    let invited = Filter { action: Some("member.invited".into()), ..Filter::default() };
    assert!(
        all(ports, Scope::Tenant(&tenant), &invited, 2).await.iter().all(|e| e.actor.id.as_deref() == Some(&*other))
    );
    let window = Filter {
        from: Some(start + Duration::seconds(5)),
        to: Some(start + Duration::seconds(10)),
        ..Filter::default()
    };
    let within = all(ports, Scope::Tenant(&tenant), &window, 4).await;
    assert_eq!(within.iter().map(|e| e.changes.0["n"].1.as_i64().unwrap()).collect::<Vec<_>>(), [10, 9, 8, 7, 6, 5]);
    let both = Filter { actor_id: Some(admin.clone()), ..window };
    assert_eq!(all(ports, Scope::Tenant(&tenant), &both, 2).await.len(), 4, "5..=10 minus 6 and 9");

    // The platform's list holds the tenant's entries and the platform's own.
    let platform = all(ports, Scope::Platform, &by(&admin), 5).await;
    assert_eq!(platform.len(), 16 + 3);
    assert_eq!(platform.iter().filter(|e| e.tenant_id.is_none()).count(), 3);

    // The TTL: 400 days after the entry.
    let item = ports.table.get(&keys::audit_entry(Some(&tenant), &ids[0])).await.unwrap().expect("stored");
    assert_eq!(item.ttl(), Some((every[0].at + Duration::days(400)).timestamp()));

    // The same action recorded twice with its key: one entry.
    let again = ctx(&other).entry(ports, Some(&tenant), "whatsapp.banned", Target::new("whatsapp", &tenant));
    audit::record(ports, again.clone().dedup("event-1", start)).await.unwrap();
    audit::record(ports, again.dedup("event-1", start)).await.unwrap();
    let banned = Filter { action: Some("whatsapp.banned".into()), ..Filter::default() };
    assert_eq!(all(ports, Scope::Tenant(&tenant), &banned, 10).await.len(), 1);

    // An entry older than 400 days has expired: neither read nor listed.
    let old = ctx(&other).entry(ports, Some(&tenant), "whatsapp.banned", Target::new("whatsapp", &tenant));
    let old = old.dedup("event-0", start - Duration::days(401));
    audit::record(ports, old.clone()).await.unwrap();
    assert_eq!(ports.table.get(&keys::audit_entry(Some(&tenant), &old.id)).await.unwrap(), None);
    assert_eq!(all(ports, Scope::Tenant(&tenant), &banned, 10).await.len(), 1);
}

macro_rules! audit_store_suite {
    ($make:expr) => {
        #[tokio::test]
        async fn entries_page_filter_and_expire() {
            super::entries_page_filter_and_expire($make.await).await;
        }
    };
}

crate::common::on_both_tables!(audit_store_suite);
