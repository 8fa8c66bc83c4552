//! Lists spread over index partitions (so one busy tenant has no hot GSI1 partition), on both
//! table adapters: the messages list and the callback deliveries list are each written over
//! their shards, read newest first with exact paging whatever the page size, with the items
//! written before the sharding (the unsharded partition) merged in; filters page exactly too.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use miping::domain::callbacks::worker::{DeliveryView, attempt_record, deliveries};
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::ports::Ports;
use miping::ports::table::{Table, TableError};
use miping::store::keys;
use miping::store::messages::{self, ListFilter, Messages};
use miping::testkit::unique;

/// Every message id of `tenant` matching `filter`, following the cursor with pages of `limit`.
async fn all_messages(table: &dyn Table, tenant: &str, filter: &ListFilter, limit: usize) -> Vec<String> {
    let (mut out, mut cursor) = (Vec::new(), None);
    loop {
        let (page, next) = Messages::new(table).list(tenant, filter, limit, cursor).await.unwrap();
        assert!(page.len() <= limit);
        out.extend(page.into_iter().map(|m| m.id));
        match next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

async fn messages_list_over_shards(table: Arc<dyn Table>) {
    let (ports, _dir) = crate::common::ports_with(table);
    let table = &*ports.table;
    let (tenant, other) = (unique("ten"), unique("ten"));
    let now = Utc::now();
    let message = |id: &str, tenant: &str, status: MessageStatus, campaign: Option<&str>| Message {
        to: Some("+15550001111".into()),
        campaign_id: campaign.map(str::to_owned),
        ..Message::new(id.to_owned(), tenant, Direction::Outbound, "text", status, now)
    };

    // 5 messages from before the sharding (in the one unsharded partition), then 30 new ones:
    // every third failed, every fourth of a campaign; a note and another tenant's messages.
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = ports.ids.new_id("msg");
        let legacy = messages::item(&message(&id, &tenant, MessageStatus::Sent, None)).unwrap().with_index(
            keys::LISTS,
            keys::messages_list_unsharded(&tenant),
            id.clone(),
        );
        table.put(legacy, None).await.unwrap();
        ids.push(id);
    }
    let (mut failed, mut campaign) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let id = ports.ids.new_id("msg");
        let status = if i % 3 == 0 { MessageStatus::Failed } else { MessageStatus::Delivered };
        let c = (i % 4 == 0).then_some("cmp_1");
        assert!(Messages::new(table).create(&message(&id, &tenant, status, c)).await.unwrap());
        if status == MessageStatus::Failed {
            failed.push(id.clone());
        }
        if c.is_some() {
            campaign.push(id.clone());
        }
        ids.push(id);
        let theirs = ports.ids.new_id("msg");
        Messages::new(table).create(&message(&theirs, &other, MessageStatus::Sent, None)).await.unwrap();
    }
    let note = Message::new(ports.ids.new_id("msg"), &tenant, Direction::Internal, "note", MessageStatus::Sent, now);
    Messages::new(table).create(&note).await.unwrap();

    ids.sort_by(|a, b| b.cmp(a));
    failed.sort_by(|a, b| b.cmp(a));
    campaign.sort_by(|a, b| b.cmp(a));
    let mut shards = HashSet::new();
    for id in &ids[..] {
        let item = Messages::new(table).get(&tenant, id).await.unwrap().unwrap();
        shards.insert(item.get_str(keys::LISTS.pk_attr()).unwrap().to_owned());
    }
    assert!(shards.len() > 4, "spread over the shards and the unsharded partition: {shards:?}");
    assert!(shards.contains(&keys::messages_list_unsharded(&tenant)));

    for limit in [1, 3, 7, 35, 100] {
        assert_eq!(all_messages(table, &tenant, &ListFilter::default(), limit).await, ids, "pages of {limit}");
    }
    let by_status = ListFilter { status: Some(MessageStatus::Failed), ..ListFilter::default() };
    for limit in [1, 4] {
        assert_eq!(all_messages(table, &tenant, &by_status, limit).await, failed, "failed, pages of {limit}");
    }
    let by_campaign = ListFilter { campaign_id: Some("cmp_1".into()), ..ListFilter::default() };
    assert_eq!(all_messages(table, &tenant, &by_campaign, 2).await, campaign);
    assert_eq!(all_messages(table, &other, &ListFilter::default(), 8).await.len(), 30);

    // The last page says there is no more; a position that is not a message id is refused.
    let (page, next) = Messages::new(table).list(&tenant, &ListFilter::default(), 35, None).await.unwrap();
    assert_eq!((page.len(), next), (35, None));
    let refused = Messages::new(table).list(&tenant, &ListFilter::default(), 5, Some("eyJrIjoxfQ".into())).await;
    assert!(matches!(refused, Err(TableError::Invalid(_))), "{refused:?}");
}

/// Every delivery attempt of `tenant`, following the cursor with pages of `limit`.
async fn all_deliveries(ports: &Ports, tenant: &str, limit: usize) -> Vec<DeliveryView> {
    let (mut out, mut cursor) = (Vec::new(), None);
    loop {
        let (page, next) = deliveries(ports, tenant, limit, cursor).await.unwrap();
        assert!(page.len() <= limit);
        out.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

async fn callback_deliveries_over_shards(table: Arc<dyn Table>) {
    let (ports, _dir) = crate::common::ports_with(table);
    let tenant = unique("ten");
    let start = Utc::now() - Duration::minutes(5);
    // 3 attempts from before the sharding, then 12 events with 2 attempts each, a second apart;
    // attempts of different events in the same millisecond too.
    let mut expected = Vec::new();
    for i in 0..3 {
        let event = format!("evt_legacy{i}");
        let at = start + Duration::milliseconds(i);
        let item = attempt_record(&tenant, &event, "message.status", 1, at).with_index(
            keys::LISTS,
            keys::callback_deliveries_list_unsharded(&tenant),
            format!("{:013}#{event}#0001", at.timestamp_millis()),
        );
        ports.table.put(item, None).await.unwrap();
        expected.push((event, 1));
    }
    for i in 0..12 {
        let event = format!("evt_{i:02}");
        for attempt in 1..=2 {
            let at = start + Duration::seconds(1 + i / 2) + Duration::milliseconds(i64::from(attempt));
            ports.table.put(attempt_record(&tenant, &event, "message.status", attempt, at), None).await.unwrap();
            expected.push((event.clone(), attempt));
        }
    }
    // Newest first: by time, then event, then attempt (the list's sort key).
    let mut keyed = Vec::new();
    for (event, attempt) in &expected {
        let item = ports.table.get(&keys::callback_attempt(&tenant, event, *attempt)).await.unwrap().unwrap();
        keyed.push((item.get_str(keys::LISTS.sk_attr()).unwrap().to_owned(), event.clone(), *attempt));
    }
    keyed.sort_by(|a, b| b.0.cmp(&a.0));
    let want: Vec<(String, u32)> = keyed.into_iter().map(|(_, e, a)| (e, a)).collect();
    let shards: HashSet<u64> =
        (0..12).map(|i| keys::shard_of(&format!("evt_{i:02}"), keys::CALLBACK_LIST_SHARDS)).collect();
    assert!(shards.len() > 3, "spread over the shards: {shards:?}");

    for limit in [1, 2, 5, 27, 50] {
        let got: Vec<(String, u32)> =
            all_deliveries(&ports, &tenant, limit).await.into_iter().map(|d| (d.event_id, d.attempt)).collect();
        assert_eq!(got, want, "pages of {limit}");
    }
    assert!(all_deliveries(&ports, &unique("ten"), 10).await.is_empty());
}

macro_rules! list_shards_suite {
    ($make:expr) => {
        #[tokio::test]
        async fn messages_list_over_shards() {
            super::messages_list_over_shards($make.await).await;
        }
        #[tokio::test]
        async fn callback_deliveries_over_shards() {
            super::callback_deliveries_over_shards($make.await).await;
        }
    };
}

crate::common::on_both_tables!(list_shards_suite);
