//! The send pipeline under faults: Meta (the simulator) answers 5% of sends with a transient
//! 500, 5% with 130429, holds 2% until the client times out (nothing sent) and loses the
//! response of another 2% (sent, but the worker cannot know); and the worker process is killed
//! mid-batch, then started again on the same data directory. Afterwards every message is in
//! exactly one terminal state, Meta received each at most once (by `biz_opaque_callback_data`),
//! every message was debited once, every failed one refunded once, and the ledger adds up to the
//! balance.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use meta_sim::{Faults, SimConfig};
use miping::domain::billing::{self, EntryKind};
use miping::domain::messages::dispatch::{SendJob, enqueue, enqueue_bulk};
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::domain::money::Money;
use miping::store::messages;
use reqwest::StatusCode;
use serde_json::json;

const MESSAGES: usize = 240;

fn free_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Every 20th recipient ends in 0000: Meta accepts it, then reports failure 131026 by webhook.
fn recipient(i: usize) -> String {
    format!("+1555{i:03}{}", if i.is_multiple_of(20) { "0000" } else { "1234" })
}

async fn store_message(tp: &TestPlatform, tenant: &str, to: &str) -> String {
    let ports = tp.ports();
    let id = ports.ids.new_id("msg");
    let m = Message {
        to: Some(to.into()),
        template: Some(json!({"name": "spring_sale", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]})),
        category: Some("marketing".into()),
        ..Message::new(id.clone(), tenant, Direction::Outbound, "template", MessageStatus::Queued, Utc::now())
    };
    assert!(messages::create(ports, &m).await.unwrap());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_and_a_killed_worker_end_every_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let sim_config = SimConfig { webhook_url: Some(format!("http://{addr}/webhook/meta")), ..SimConfig::default() };
    let sim = meta_sim::start(sim_config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut tp = start_against(&sim, addr, dir.path().to_path_buf()).await;

    let t = provision_and_activate(&tp).await;
    connect_whatsapp(&tp, &t.token, &format!("faults-{}", ulid::Ulid::new().to_string().to_ascii_lowercase())).await;
    let admin = tp.admin_token().await;
    let r = post(&tp, &admin, &format!("/admin/tenants/{}/credits", t.id), &json!({"amount": "1000.00"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    let mut ids = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        ids.push(store_message(&tp, &t.id, &recipient(i)).await);
    }
    sim.set_faults(Faults {
        server_error_ratio: 0.05,
        throttle_ratio: 0.05,
        timeout_ratio: 0.02,
        lost_response_ratio: 0.02,
        ..Faults::default()
    });
    // Both lanes: half as one-off jobs, half as a campaign's bulk jobs.
    let jobs: Vec<SendJob> = ids.iter().map(|id| SendJob { tenant_id: t.id.clone(), message_id: id.clone() }).collect();
    let (one_off, bulk) = jobs.split_at(MESSAGES / 2);
    for job in one_off {
        enqueue(tp.ports(), job).await.unwrap();
    }
    enqueue_bulk(tp.ports(), bulk).await.unwrap();

    // Kill the worker while it is busy: a third of the messages reached Meta, the rest are
    // queued, in a handler, or waiting on a held request.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.sent_messages().len() < MESSAGES / 3 {
        assert!(Instant::now() < deadline, "sending never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tp.platform.take().unwrap().kill().await;
    let sent_before_kill = sim.sent_messages().len();
    let mut tp = start_against(&sim, addr, dir.path().to_path_buf()).await;

    // Everything ends: read, or failed (ambiguous sends wait 60 s for Meta's webhook, jobs of
    // the killed process come back after the 30 s visibility timeout).
    let ports = tp.ports().clone();
    let deadline = Instant::now() + Duration::from_secs(300);
    let views = loop {
        let mut views = HashMap::new();
        for id in &ids {
            views.insert(id.clone(), messages::view(&ports, &t.id, id).await.unwrap().unwrap());
        }
        let open: Vec<_> =
            views.values().filter(|v| !matches!(v.status, MessageStatus::Read | MessageStatus::Failed)).collect();
        if open.is_empty() {
            break views;
        }
        assert!(Instant::now() < deadline, "{} messages never finished, e.g. {:?}", open.len(), open[0]);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Late webhooks and redeliveries have nothing left to do; give them a moment to prove it.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Meta received each message at most once; exactly once unless the worker gave up on it.
    let mut sends: HashMap<String, usize> = HashMap::new();
    for m in sim.sent_messages() {
        *sends.entry(m.body["biz_opaque_callback_data"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    let (mut read, mut failed) = (0, 0);
    for (i, id) in ids.iter().enumerate() {
        let v = messages::view(&ports, &t.id, id).await.unwrap().unwrap();
        assert_eq!(v.status, views[id].status, "{id} changed after it finished");
        let sent = sends.get(id).copied().unwrap_or(0);
        assert!(sent <= 1, "{id} was sent to Meta {sent} times");
        let statuses: Vec<MessageStatus> = v.status_history.iter().map(|e| e.status).collect();
        match v.status {
            MessageStatus::Read => {
                read += 1;
                assert_eq!(sent, 1, "{id} is read but Meta never got it");
                assert!(!statuses.contains(&MessageStatus::Failed), "{id}: {statuses:?}");
                assert!(!i.is_multiple_of(20), "{id} to an undeliverable number was read");
            }
            MessageStatus::Failed => {
                failed += 1;
                let code = v.error.as_ref().map(|e| e.code);
                if i.is_multiple_of(20) {
                    assert_eq!((sent, code), (1, Some(131026)), "{id}");
                } else {
                    // Only four transient failures in a row end a message this way (p ≈ 1e-4).
                    assert_eq!(v.error.as_ref().and_then(|e| e.title.as_deref()), Some("meta_unavailable"), "{id}");
                }
                assert!(!statuses.contains(&MessageStatus::Read), "{id}: {statuses:?}");
            }
            other => unreachable!("{other:?}"),
        }
    }
    assert_eq!(read + failed, MESSAGES);
    assert!(failed >= MESSAGES / 20, "the 0000 recipients failed");

    // Money: one debit per message, one refund per failed message, and the ledger chains up to
    // the balance.
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = billing::list(&ports, &t.id, 100, cursor).await.unwrap();
        entries.extend(page);
        if next.is_none() {
            break;
        }
        cursor = next;
    }
    entries.sort_by_key(|e| e.seq);
    let per_message = |kind: EntryKind| -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for e in entries.iter().filter(|e| e.kind == kind) {
            *m.entry(e.reference.as_ref().expect("message reference").id.clone()).or_default() += 1;
        }
        m
    };
    let (debits, refunds) = (per_message(EntryKind::Debit), per_message(EntryKind::Refund));
    for id in &ids {
        assert_eq!(debits.get(id), Some(&1), "{id} debited once");
        let want = usize::from(views[id].status == MessageStatus::Failed);
        assert_eq!(refunds.get(id).copied().unwrap_or(0), want, "{id} refunded iff failed");
    }
    let mut running = Money::ZERO;
    for e in &entries {
        running = running.checked_add(e.signed_amount()).unwrap();
        assert_eq!(e.balance_after, running, "entry {} balance_after", e.seq);
    }
    assert_eq!(billing::balance(&ports, &t.id).await.unwrap(), running);
    let price = entries.iter().find(|e| e.kind == EntryKind::Debit).unwrap().amount;
    let charged = (MESSAGES - failed) as i64;
    assert_eq!(running.units(), "1000.00".parse::<Money>().unwrap().units() - price.units() * charged);

    eprintln!(
        "{MESSAGES} messages: {read} read, {failed} failed; {sent_before_kill} at Meta when the worker was killed"
    );
    tp.stop().await;
}
