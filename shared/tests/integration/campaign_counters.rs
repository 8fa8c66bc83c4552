//! A campaign's live counts move exactly once per status transition: statuses in every order,
//! duplicated, and applied concurrently leave each message counted in exactly its final status.

use chrono::{TimeZone, Utc};
use miping::domain::campaigns::counters;
use miping::domain::messages::status::{StatusReport, apply};
use miping::domain::messages::{Direction, Message, MessageError, MessageStatus};
use miping::ports::table::TxOp;
use miping::store::{keys, messages};
use rand::seq::SliceRandom;

fn report(status: MessageStatus, secs: i64) -> StatusReport {
    StatusReport {
        status,
        at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
        error: (status == MessageStatus::Failed).then_some(MessageError { code: 131026, title: None, detail: None }),
        pricing: None,
    }
}

/// `n` queued campaign messages, written as the fan-out writes them (put + `ADD queued`).
async fn seed(ports: &miping::ports::Ports, tenant: &str, campaign: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let contact = format!("con_{i:04}");
        let id = keys::campaign_message_id(campaign, &contact);
        let m = Message {
            to: Some(format!("+1555000{i:04}")),
            contact_id: Some(contact),
            campaign_id: Some(campaign.into()),
            ..Message::new(&id, tenant, Direction::Outbound, "template", MessageStatus::Queued, Utc::now())
        };
        ports
            .table
            .transact(vec![
                TxOp::Put { item: messages::item(&m).unwrap(), cond: None },
                counters::created_op(tenant, campaign, i as u64, 1),
            ])
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn duplicates_and_any_order_count_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let ports = miping::testkit::embedded_ports(dir.path());
    let (tenant, campaign) = ("ten_c1", "cmp_c1");
    let ids = seed(&ports, tenant, campaign, 20).await;
    assert_eq!(counters::read(&ports, tenant, campaign).await.unwrap().queued, 20);

    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // Half end read, a quarter delivered, a quarter failed; every report sent twice, shuffled.
        let mut reports = match i % 4 {
            0 | 1 => vec![
                report(MessageStatus::Sent, 1),
                report(MessageStatus::Delivered, 2),
                report(MessageStatus::Read, 3),
            ],
            2 => vec![report(MessageStatus::Sent, 1), report(MessageStatus::Delivered, 2)],
            _ => vec![report(MessageStatus::Sent, 1), report(MessageStatus::Failed, 2)],
        };
        reports.extend(reports.clone());
        reports.shuffle(&mut rand::thread_rng());
        let (ports, key) = (ports.clone(), messages::key(tenant, id));
        tasks.push(tokio::spawn(async move {
            // Two at a time, like two webhook processor instances.
            for pair in reports.chunks(2) {
                let applied = futures_util::future::join_all(pair.iter().map(|r| apply(&ports, &key, r))).await;
                for a in applied {
                    a.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let counts = counters::read(&ports, tenant, campaign).await.unwrap();
    assert_eq!(
        (counts.queued, counts.sent, counts.delivered, counts.read, counts.failed),
        (0, 0, 5, 10, 5),
        "{counts:?}"
    );
    assert_eq!(counts.messages(), 20);
    // The failures, grouped by Meta's code, moved in the same transactions: exactly the 5 failed.
    let (_, failures) = counters::read_with_failures(&ports, tenant, campaign).await.unwrap();
    let groups: Vec<(i64, i64, bool)> = failures.iter().map(|f| (f.code, f.count, f.retryable)).collect();
    assert_eq!(groups, [(131026, 5, false)]);
    // Each message's stored status is the one it is counted in.
    for (i, id) in ids.iter().enumerate() {
        let status = messages::Messages::new(&*ports.table)
            .get(tenant, id)
            .await
            .unwrap()
            .unwrap()
            .get_str("status")
            .unwrap()
            .to_string();
        let want = match i % 4 {
            0 | 1 => "read",
            2 => "delivered",
            _ => "failed",
        };
        assert_eq!(status, want);
    }
}
