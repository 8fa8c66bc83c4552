//! Lists spread over index partitions (so one busy tenant has no hot index partition), on both
//! table adapters: the messages list, the callback deliveries list and the three conversation
//! lists (all, by status, by assignee) are each written over their shards, read newest first with exact paging whatever the page size, with the items
//! written before the sharding (the unsharded partition) merged in; filters page exactly too.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use miping::domain::callbacks::worker::{DeliveryView, attempt_record, deliveries};
use miping::domain::inbox::{self, ConversationStatus};
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::ports::Ports;
use miping::ports::table::{Table, TableError, Update};
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

/// Every conversation id of `tenant` matching `filter`, following the cursor with pages of `limit`.
async fn all_conversations(ports: &Ports, tenant: &str, filter: &inbox::ListFilter, limit: usize) -> Vec<String> {
    let (mut out, mut cursor) = (Vec::new(), None);
    loop {
        let (page, next) = inbox::list(ports, tenant, filter, &inbox::Scope::All, limit, cursor).await.unwrap();
        assert!(page.len() <= limit);
        out.extend(page.into_iter().map(|c| c.conversation.id));
        match next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
}

async fn conversation_lists_over_shards(table: Arc<dyn Table>) {
    let (ports, _dir) = crate::common::ports_with(table);
    let tenant = unique("ten");
    let base = chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::minutes(30);
    // 23 conversations, one inbound message each a second apart; the first 3 are put back in the
    // unsharded partitions of their three lists, as a conversation last written before the sharding.
    let mut conv = Vec::new();
    for i in 0..23 {
        let contact = unique("con");
        let at = base + Duration::seconds(i);
        inbox::record_inbound(&ports, &tenant, &contact, &crate::common::inbound_text(&unique("wamid"), at))
            .await
            .unwrap();
        let id = inbox::conversation_id(&contact);
        if i < 3 {
            let legacy = Update::new()
                .set(keys::LISTS.pk_attr(), keys::conversations_list(&tenant))
                .set(keys::LOOKUPS.pk_attr(), keys::conversations_by_status(&tenant, "open"))
                .set(keys::SECONDARY.pk_attr(), keys::conversations_by_assignee(&tenant, None));
            ports.table.update(&keys::conversation(&tenant, &id), legacy, None).await.unwrap();
        }
        conv.push(id);
    }
    // Every fourth resolved (it moves to its shard of the resolved list).
    for id in conv.iter().step_by(4) {
        inbox::set_status(&ports, &tenant, id, ConversationStatus::Resolved, &inbox::Scope::All).await.unwrap();
    }
    let newest: Vec<String> = conv.iter().rev().cloned().collect();
    let resolved: Vec<String> = newest.iter().filter(|id| conv.iter().step_by(4).any(|r| r == *id)).cloned().collect();
    let open: Vec<String> = newest.iter().filter(|id| !resolved.contains(id)).cloned().collect();
    let shards: HashSet<String> = {
        let mut s = HashSet::new();
        for id in &conv {
            let item = ports.table.get(&keys::conversation(&tenant, id)).await.unwrap().unwrap();
            s.insert(item.get_str(keys::LISTS.pk_attr()).unwrap().to_owned());
        }
        s
    };
    assert!(shards.len() > 4 && shards.contains(&keys::conversations_list(&tenant)), "{shards:?}");

    let status = |s| inbox::ListFilter { status: Some(s), ..inbox::ListFilter::default() };
    let unassigned = inbox::ListFilter { assignee: Some(None), ..inbox::ListFilter::default() };
    for limit in [1, 3, 7, 30] {
        assert_eq!(all_conversations(&ports, &tenant, &inbox::ListFilter::default(), limit).await, newest, "{limit}");
        assert_eq!(all_conversations(&ports, &tenant, &status(ConversationStatus::Open), limit).await, open);
        assert_eq!(all_conversations(&ports, &tenant, &status(ConversationStatus::Resolved), limit).await, resolved);
        assert_eq!(all_conversations(&ports, &tenant, &unassigned, limit).await, newest);
    }
    // New activity moves a conversation from the unsharded partition to its shard, and to the top.
    let contact = ports.table.get(&keys::conversation(&tenant, &conv[1])).await.unwrap().unwrap();
    let contact = contact.get_str("contact_id").unwrap().to_owned();
    let at = base + Duration::seconds(100);
    inbox::record_inbound(&ports, &tenant, &contact, &crate::common::inbound_text(&unique("wamid"), at)).await.unwrap();
    let item = ports.table.get(&keys::conversation(&tenant, &conv[1])).await.unwrap().unwrap();
    assert_eq!(
        item.get_str(keys::LISTS.pk_attr()),
        Some(keys::conversation_list_shard(&keys::conversations_list(&tenant), &conv[1]).as_str())
    );
    let first = all_conversations(&ports, &tenant, &inbox::ListFilter::default(), 2).await;
    assert_eq!((first[0].as_str(), first.len()), (conv[1].as_str(), 23));
}

macro_rules! list_shards_suite {
    ($make:expr) => {
        #[tokio::test]
        async fn messages_list_over_shards() {
            super::messages_list_over_shards($make.await).await;
        }
        #[tokio::test]
        async fn conversation_lists_over_shards() {
            super::conversation_lists_over_shards($make.await).await;
        }
        #[tokio::test]
        async fn callback_deliveries_over_shards() {
            super::callback_deliveries_over_shards($make.await).await;
        }
    };
}

crate::common::on_both_tables!(list_shards_suite);
