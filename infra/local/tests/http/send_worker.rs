//! The send worker against the Meta simulator over HTTP: messages go out with Meta's payload,
//! statuses come back through real signed webhooks, failures are refunded once, a suspended
//! tenant's messages are held, and credits stop sending.

use std::time::Duration;

use crate::common::sending::{credit, patch_tenant, store_message};
use crate::common::*;
use miping::domain::billing;
use miping::domain::messages::MessageStatus;
use miping::domain::messages::dispatch::{SendJob, enqueue};
use miping::domain::sending::prices::PriceTable;
use miping::domain::sending::worker::{Attempt, SendWorker};
use miping::store::messages;
use serde_json::json;

/// A queued marketing template message to `to`, handed to the send queue.
async fn queue_template(tp: &TestPlatform, tenant: &str, to: &str) -> String {
    let id = stored_template(tp, tenant, to).await;
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    enqueue(ports, &SendJob { tenant_id: tenant.into(), message_id: id.clone() }).await.unwrap();
    id
}

/// The same message, stored but not queued (the test drives the worker itself).
async fn stored_template(tp: &TestPlatform, tenant: &str, to: &str) -> String {
    store_message(&tp.platform.as_ref().unwrap().state.ports, tenant, to).await
}

async fn wait_status(
    tp: &TestPlatform,
    tenant: &str,
    id: &str,
    want: MessageStatus,
) -> miping::domain::messages::MessageView {
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    for _ in 0..150 {
        let v = messages::Messages::new(&*ports.table).view(tenant, id).await.unwrap().unwrap();
        if v.status == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = messages::Messages::new(&*ports.table).view(tenant, id).await.unwrap().unwrap();
    panic!("message {id} is {:?}, expected {want:?}: {v:?}", v.status);
}

#[tokio::test]
async fn messages_are_sent_tracked_and_failures_refunded() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let conn = connect_new(&tp, &t).await;
    credit(&tp, &t.id, "10.00").await;

    let ok = queue_template(&tp, &t.id, "+15551234567").await;
    let undeliverable = queue_template(&tp, &t.id, "+15551230000").await;
    let reengagement = queue_template(&tp, &t.id, "+15551230001").await;

    let read = wait_status(&tp, &t.id, &ok, MessageStatus::Read).await;
    assert!(read.wamid.as_deref().unwrap().starts_with("wamid."));
    let history: Vec<MessageStatus> = read.status_history.iter().map(|e| e.status).collect();
    for s in [
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
    ] {
        assert!(history.contains(&s), "{s:?} in {history:?}");
    }
    let failed = wait_status(&tp, &t.id, &undeliverable, MessageStatus::Failed).await;
    assert_eq!(failed.error.unwrap().code, 131026);
    let failed = wait_status(&tp, &t.id, &reengagement, MessageStatus::Failed).await;
    assert_eq!(failed.error.unwrap().code, 131047);

    // What Meta received: our exact payload, with our id as biz_opaque_callback_data.
    let sim = tp.platform.as_ref().unwrap().simulator.as_ref().unwrap();
    let sent: Vec<_> = sim.sent_messages();
    let ours = sent.iter().find(|m| m.body["biz_opaque_callback_data"] == ok.as_str()).expect("sent to Meta");
    assert_eq!(ours.body["to"], "15551234567");
    assert_eq!(ours.body["type"], "template");
    assert_eq!(ours.body["template"]["name"], "spring_sale");
    assert_eq!(ours.body["messaging_product"], "whatsapp");
    assert_eq!(conn["phone_number_id"].as_str(), Some(ours.phone_number_id.as_str()));

    // Three debits of 0.80, two refunds (exactly once each, whatever the redeliveries).
    let ports = &tp.platform.as_ref().unwrap().state.ports;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (entries, _) = billing::list(ports, &t.id, 100, None).await.unwrap();
    let count = |k: billing::EntryKind| entries.iter().filter(|e| e.kind == k).count();
    assert_eq!((count(billing::EntryKind::Debit), count(billing::EntryKind::Refund)), (3, 2));
    assert_eq!(billing::balance(ports, &t.id).await.unwrap(), "9.20".parse().unwrap());
}

#[tokio::test]
async fn credits_stop_sending_and_suspension_holds_messages() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    connect_new(&tp, &t).await;
    credit(&tp, &t.id, "1.00").await;
    let ports = tp.platform.as_ref().unwrap().state.ports.clone();
    let worker = SendWorker::new(ports.clone(), PriceTable::default());

    let first = stored_template(&tp, &t.id, "+15557654321").await;
    let second = stored_template(&tp, &t.id, "+15557654322").await;
    let job = |id: &str| SendJob { tenant_id: t.id.clone(), message_id: id.into() };
    assert!(matches!(worker.attempt(&job(&first), 1).await.unwrap(), Attempt::Sent { .. }));
    // 0.20 left: the second does not fit.
    assert_eq!(
        worker.attempt(&job(&second), 1).await.unwrap(),
        Attempt::Failed { code: "insufficient_credits".into() }
    );
    let v = messages::Messages::new(&*ports.table).view(&t.id, &second).await.unwrap().unwrap();
    assert_eq!(v.status, MessageStatus::Failed);
    // A redelivered job for a sent message does nothing (no second send, no second debit).
    assert_eq!(worker.attempt(&job(&first), 2).await.unwrap(), Attempt::Skipped);
    assert_eq!(billing::balance(&ports, &t.id).await.unwrap(), "0.20".parse().unwrap());

    // Suspended: parked (held, not failed, the job done); reactivated: released and sent by the
    // platform's own send lane.
    credit(&tp, &t.id, "5.00").await;
    patch_tenant(&tp, &t.id, &json!({"status": "suspended"})).await;
    let held = stored_template(&tp, &t.id, "+15557654323").await;
    assert_eq!(worker.attempt(&job(&held), 1).await.unwrap(), Attempt::Held { reason: "tenant_suspended".into() });
    let v = messages::Messages::new(&*ports.table).view(&t.id, &held).await.unwrap().unwrap();
    assert_eq!((v.status, v.held.as_deref()), (MessageStatus::Queued, Some("tenant_suspended")));
    patch_tenant(&tp, &t.id, &json!({"status": "active"})).await;
    let v = eventually(10, "the held message sent after reactivation", || async {
        let v = messages::Messages::new(&*ports.table).view(&t.id, &held).await.unwrap().unwrap();
        matches!(v.status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read).then_some(v)
    })
    .await;
    assert_eq!(v.held, None);
}

/// The due time of the latest of `phone`'s permits (at `rate`) taken out by a late send among
/// the counters of the 100 ms slots from `from` to `to`.
async fn latest_taken_out(
    ports: &miping::ports::Ports,
    phone: &str,
    rate: u32,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use miping::domain::sending::pacing::{Grid, SLOT_MS, slot_key};
    let grid = Grid::new(rate);
    let mut latest = None;
    for slot in from.timestamp_millis() / SLOT_MS..=to.timestamp_millis() / SLOT_MS {
        // At 80 msg/s a slot's 8 permits fit in one counter item (shard 0), whose permits start
        // with the slot's first.
        let Some(item) = ports.table.get(&slot_key(phone, slot, 0)).await.unwrap() else { continue };
        if let Some(to) = item.get_i64("skip_to") {
            let first = grid.first_from(i128::from(slot * SLOT_MS) * 1000);
            let due = grid.due(first + i128::from(to) - 1) as i64;
            latest = latest.max(chrono::DateTime::from_timestamp_micros(due));
        }
    }
    latest
}

/// Meta takes a message somewhere between the request and its answer: a send whose answer
/// comes later than the grid's headroom takes out the permits due up to a second after the
/// answer, even when the request left on its permit's instant (a busy machine between the two
/// made the occasional 130429 at 1,000 msg/s). Counted from the request leaving, a send on time
/// took out nothing, and a late one only up to a second after it left.
#[tokio::test]
async fn a_late_answer_takes_out_the_permits_a_second_on() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let connection = connect_new(&tp, &t).await;
    let phone = connection["phone_number_id"].as_str().expect("phone_number_id").to_owned();
    credit(&tp, &t.id, "10.00").await;
    let platform = tp.platform.as_ref().unwrap();
    let (ports, sim) = (platform.state.ports.clone(), platform.simulator.as_ref().unwrap());
    let worker = SendWorker::new(ports.clone(), PriceTable::default());
    let job = |id: &str| SendJob { tenant_id: t.id.clone(), message_id: id.into() };

    // Answered 40 ms after Meta took it (and Meta takes it at its permit's instant at the
    // earliest, itself at least 5 ms after `began`).
    sim.set_faults(meta_sim::Faults { send_answer_delay: Duration::from_millis(40), ..Default::default() });
    let late = stored_template(&tp, &t.id, "+15557654332").await;
    let began = chrono::Utc::now();
    assert!(matches!(worker.attempt(&job(&late), 1).await.unwrap(), Attempt::Sent { .. }));
    let second = chrono::Duration::seconds(1);
    let latest = latest_taken_out(&ports, &phone, 80, began + second, began + chrono::Duration::milliseconds(1500))
        .await
        .expect("permits a second on taken out");
    // The answer came at least 45 ms after `began`; the permits due up to a second after it
    // are out, so the last one is within one spacing (12.6 ms at 80/s) of that.
    assert!(
        latest >= began + second + chrono::Duration::milliseconds(45 - 13),
        "the taken-out permits reach {latest}, a second after the answer is past {}",
        began + second + chrono::Duration::milliseconds(45)
    );
}
