//! Delivery statuses in every order, with duplicates, on both table adapters: the end state and
//! the history are always the same.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use miping::domain::messages::status::{Applied, StatusReport, apply, park, record_wamid};
use miping::domain::messages::{Direction, Message, MessageError, MessageStatus};
use miping::ports::Ports;
use miping::ports::table::Table;
use miping::store::messages;
use rand::seq::SliceRandom;

use crate::common::ports_with;

fn outbound(tenant: &str, id: &str) -> Message {
    Message {
        to: Some("+15550001111".into()),
        ..Message::new(
            id,
            tenant,
            Direction::Outbound,
            "template",
            MessageStatus::Queued,
            Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
        )
    }
}

fn report(status: MessageStatus, secs: i64) -> StatusReport {
    StatusReport {
        status,
        at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
        error: (status == MessageStatus::Failed).then(|| MessageError {
            code: 131026,
            title: Some("Message undeliverable".into()),
            detail: None,
        }),
        pricing: (status == MessageStatus::Sent).then(|| serde_json::json!({"category": "marketing"})),
    }
}

/// Applies `reports` in `order` (indexes, duplicates allowed) and returns (status, history).
async fn run(
    ports: &Ports,
    tenant: &str,
    reports: &[StatusReport],
    order: &[usize],
) -> (MessageStatus, Vec<MessageStatus>) {
    let id = miping::testkit::unique("msg");
    messages::Messages::new(&*ports.table).create(&outbound(tenant, &id)).await.unwrap();
    let key = messages::key(tenant, &id);
    for &i in order {
        apply(ports, &key, &reports[i]).await.unwrap().expect("message exists");
    }
    let view = messages::Messages::new(&*ports.table).view(tenant, &id).await.unwrap().unwrap();
    (view.status, view.status_history.iter().map(|e| e.status).collect())
}

async fn permutations_end_in_the_same_state(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = miping::testkit::unique("ten");
    use MessageStatus::*;
    let happy = [report(Sent, 1), report(Delivered, 2), report(Read, 3)];
    let failed = [report(Sent, 1), report(Failed, 2)];
    let mut rng = rand::thread_rng();
    for _ in 0..12 {
        let mut order: Vec<usize> = (0..happy.len()).chain(0..happy.len()).collect(); // every one twice
        order.shuffle(&mut rng);
        let (status, history) = run(&ports, &tenant, &happy, &order).await;
        assert_eq!(status, Read, "order {order:?}");
        assert_eq!(history, vec![Queued, Sent, Delivered, Read], "order {order:?}");

        let mut order: Vec<usize> = vec![0, 1, 1, 0, 1];
        order.shuffle(&mut rng);
        let (status, history) = run(&ports, &tenant, &failed, &order).await;
        assert_eq!(status, Failed, "order {order:?}");
        assert_eq!(history, vec![Queued, Sent, Failed]);
    }
}

async fn duplicates_report_duplicate_and_failures_keep_the_error(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = miping::testkit::unique("ten");
    let id = miping::testkit::unique("msg");
    messages::Messages::new(&*ports.table).create(&outbound(&tenant, &id)).await.unwrap();
    let key = messages::key(&tenant, &id);
    let read = report(MessageStatus::Read, 3);
    assert_eq!(apply(&ports, &key, &read).await.unwrap(), Some(Applied::Advanced));
    assert_eq!(apply(&ports, &key, &read).await.unwrap(), Some(Applied::Duplicate));
    assert_eq!(apply(&ports, &key, &report(MessageStatus::Sent, 1)).await.unwrap(), Some(Applied::Recorded));
    // A late failure does not undo a read message.
    assert_eq!(apply(&ports, &key, &report(MessageStatus::Failed, 4)).await.unwrap(), Some(Applied::Recorded));
    let view = messages::Messages::new(&*ports.table).view(&tenant, &id).await.unwrap().unwrap();
    assert_eq!(view.status, MessageStatus::Read);
    assert_eq!(view.pricing.unwrap()["category"], "marketing");

    let other = miping::testkit::unique("msg");
    messages::Messages::new(&*ports.table).create(&outbound(&tenant, &other)).await.unwrap();
    apply(&ports, &messages::key(&tenant, &other), &report(MessageStatus::Failed, 2)).await.unwrap();
    let view = messages::Messages::new(&*ports.table).view(&tenant, &other).await.unwrap().unwrap();
    assert_eq!(view.status, MessageStatus::Failed);
    assert_eq!(view.error.unwrap().code, 131026);

    // Unknown message: nothing is created.
    let ghost = messages::key(&tenant, "msg_ghost");
    assert_eq!(apply(&ports, &ghost, &read).await.unwrap(), None);
    assert!(ports.table.get(&ghost).await.unwrap().is_none());
}

async fn statuses_before_the_wamid_are_parked_then_applied(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = miping::testkit::unique("ten");
    let id = miping::testkit::unique("msg");
    let wamid = format!("wamid.{id}");
    messages::Messages::new(&*ports.table).create(&outbound(&tenant, &id)).await.unwrap();
    assert!(messages::Messages::new(&*ports.table).find_by_wamid(&tenant, &wamid).await.unwrap().is_none());
    park(&ports, &tenant, &wamid, &report(MessageStatus::Delivered, 2)).await.unwrap();
    park(&ports, &tenant, &wamid, &report(MessageStatus::Delivered, 2)).await.unwrap();
    park(&ports, &tenant, &wamid, &report(MessageStatus::Sent, 1)).await.unwrap();
    record_wamid(&ports, &tenant, &id, &wamid, None).await.unwrap();
    let found = messages::Messages::new(&*ports.table)
        .find_by_wamid(&tenant, &wamid)
        .await
        .unwrap()
        .expect("findable by wamid");
    assert_eq!(found.get_str("id"), Some(id.as_str()));
    let view = messages::Messages::new(&*ports.table).view(&tenant, &id).await.unwrap().unwrap();
    assert_eq!(view.status, MessageStatus::Delivered);
    assert_eq!(view.wamid.as_deref(), Some(wamid.as_str()));
    assert_eq!(view.status_history.len(), 3);
    // Parked items are gone.
    let left = ports
        .table
        .query(miping::ports::table::Query::table(miping::store::keys::parked_statuses(&tenant, &wamid)))
        .await
        .unwrap();
    assert!(left.items.is_empty());
}

macro_rules! suite {
    ($make:expr) => {
        #[tokio::test]
        async fn permutations() {
            permutations_end_in_the_same_state($make.await).await
        }
        #[tokio::test]
        async fn duplicates_and_failures() {
            duplicates_report_duplicate_and_failures_keep_the_error($make.await).await
        }
        #[tokio::test]
        async fn parked_statuses() {
            statuses_before_the_wamid_are_parked_then_applied($make.await).await
        }
    };
}

crate::common::on_both_tables!(suite);
