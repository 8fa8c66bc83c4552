//! A campaign's recipients export handed out as each media store hands out files
//! (`campaigns::report::export`): on S3 (moto) the CSV is written part by part under the
//! tenant's `exports/` prefix and the answer is a presigned GET of exactly the bytes the local
//! process streams; the embedded store streams. Another tenant's campaign is not found.

use std::sync::Arc;

use chrono::Utc;
use futures_util::StreamExt;
use miping::domain::campaigns::report::{self, Export, Walk};
use miping::domain::campaigns::{Audience, Campaign, CampaignStatus, TemplateRef};
use miping::domain::messages::{Direction, Message, MessageError, MessageStatus};
use miping::ports::Ports;
use miping::ports::storage::{Direction as StoreDirection, MediaPrefix, Storage};
use miping::ports::table::TxOp;
use miping::store::{campaigns, keys, messages};
use miping::testkit::storage::{clock_at_now, moto_s3_storage, served_file_storage};
use miping::testkit::unique;

/// A campaign to `n` contacts on the embedded table, with `storage` as the media store: every
/// seventh contact was skipped (no message); the others' messages are read, failed (with a
/// title a spreadsheet would run as a formula) or still queued.
async fn campaign(storage: Arc<dyn Storage>, n: usize) -> (Ports, String, String) {
    let (mut ports, dir) = crate::common::ports_with(miping::testkit::sqlite_table());
    std::mem::forget(dir);
    ports.storage = storage;
    let tenant = unique("ten").replace('-', "_");
    let now = Utc::now();
    let contacts: Vec<String> = (0..n).map(|i| format!("ctc_{i:06}")).collect();
    let c = Campaign {
        id: unique("cmp").replace('-', "_"),
        tenant_id: tenant.clone(),
        name: "export".into(),
        template: TemplateRef {
            id: "tpl_1".into(),
            name: "fee_reminder".into(),
            language: "en".into(),
            category: "utility".into(),
        },
        schema: Default::default(),
        audience: Audience { contact_ids: contacts.clone(), ..Default::default() },
        variables: Vec::new(),
        header: None,
        status: CampaignStatus::Completed,
        schedule_at: None,
        created_at: now,
        started_at: Some(now),
        completed_at: Some(now),
        cancelled_at: None,
        reserved: n as i64,
        usage_period: "2026-12".into(),
        total: n as i64,
        created: n as i64,
        skipped_opted_out: 0,
        skipped_missing_data: 0,
        fanout_page: 0,
        fanout_cursor: None,
        settled: true,
    };
    ports.table.put(campaigns::item(&c).unwrap(), None).await.unwrap();
    let mut puts = contacts
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 7 != 3)
        .map(|(i, contact)| {
            let status = [MessageStatus::Read, MessageStatus::Failed, MessageStatus::Queued][i % 3];
            let mut m = Message {
                contact_id: Some(contact.clone()),
                to: Some(format!("+1555{i:07}")),
                campaign_id: Some(c.id.clone()),
                ..Message::new(
                    keys::campaign_message_id(&c.id, contact),
                    &tenant,
                    Direction::Outbound,
                    "template",
                    status,
                    now,
                )
            };
            if status == MessageStatus::Failed {
                m.error = Some(MessageError { code: 131026, title: Some("=HYPERLINK(\"x\")".into()), detail: None });
            }
            TxOp::Put { item: messages::item(&m).unwrap(), cond: None }
        })
        .peekable();
    while puts.peek().is_some() {
        ports.table.transact(puts.by_ref().take(100).collect()).await.unwrap();
    }
    (ports, tenant, c.id)
}

/// What the local process streams for the campaign.
async fn streamed(ports: &Ports, tenant: &str, campaign: &str) -> Vec<u8> {
    let walk: Walk = report::start_export(ports, tenant, campaign).await.unwrap();
    let chunks: Vec<String> = report::csv_stream(ports.clone(), walk).map(|c| c.unwrap()).collect().await;
    chunks.concat().into_bytes()
}

/// On S3 the route's answer is a presigned GET, valid two minutes, of an object under the
/// tenant's exports prefix holding byte for byte what the stream holds (3,000 recipients, six
/// pages; an upload of several parts is the storage conformance suite's case).
#[tokio::test]
async fn on_s3_the_export_is_stored_and_presigned_byte_identical() {
    let under_test = moto_s3_storage(clock_at_now()).await;
    let (ports, tenant, campaign) = campaign(under_test.storage.clone(), 3_000).await;
    let expected = streamed(&ports, &tenant, &campaign).await;
    assert!(expected.starts_with(report::CSV_HEADER.as_bytes()));
    assert!(String::from_utf8_lossy(&expected).contains(",\"'=HYPERLINK"), "formulas defused in both");

    let Export::Download(url) = report::export(&ports, &tenant, &campaign).await.unwrap() else {
        panic!("S3 hands out a download, not a stream");
    };
    let expires_in = url.expires_at - Utc::now();
    assert!(expires_in <= chrono::Duration::seconds(120) && expires_in > chrono::Duration::seconds(60), "{expires_in}");
    let got = reqwest::get(&url.url).await.unwrap();
    assert_eq!(got.status(), 200, "{}", url.url);
    assert_eq!(got.bytes().await.unwrap().to_vec(), expected, "the stored export is the streamed one");

    let stored = ports.storage.list(&MediaPrefix::direction(&tenant, StoreDirection::Exports).unwrap()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].key.as_str().ends_with(&format!("/{campaign}-recipients.csv")), "{}", stored[0].key);
    assert!(url.url.contains(stored[0].key.as_str()), "{}", url.url);
    let info = ports.storage.head(&stored[0].key).await.unwrap();
    assert_eq!(info.content_type, report::CSV_CONTENT_TYPE);
    assert_eq!(info.metadata.get("retention-days").map(String::as_str), Some("1"), "expired by the lifecycle rule");

    // Another tenant asking for this campaign finds nothing, and nothing is written for it.
    let other = unique("ten").replace('-', "_");
    let e = report::export(&ports, &other, &campaign).await.err().expect("not found");
    assert_eq!(e.kind, miping::domain::Kind::NotFound);
    assert!(ports.storage.list(&MediaPrefix::tenant(&other).unwrap()).await.unwrap().is_empty());
}

/// Written through an upload, the stored export is the streamed one on both stores (the embedded
/// store serves files itself, so `export` streams there: this is the same path by hand).
#[tokio::test]
async fn a_stored_export_is_the_streamed_one_on_both_stores() {
    for under_test in [served_file_storage(clock_at_now()).await, moto_s3_storage(clock_at_now()).await] {
        let (ports, tenant, campaign) = campaign(under_test.storage.clone(), 1_500).await;
        let expected = streamed(&ports, &tenant, &campaign).await;
        let key = miping::ports::storage::MediaKey::new(&tenant, StoreDirection::Exports, "exp_1/x.csv").unwrap();
        let walk = report::start_export(&ports, &tenant, &campaign).await.unwrap();
        let info = report::store_export(&ports, walk, &key).await.unwrap();
        assert_eq!(info.size, expected.len() as u64);
        assert_eq!(ports.storage.get(&key).await.unwrap().body.to_vec(), expected);
        let lines = expected.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines, 1 + 1_500 - (0..1_500).filter(|i| i % 7 == 3).count(), "a row per message");
    }
    // The embedded store streams: the local process answers with the CSV itself.
    let under_test = served_file_storage(clock_at_now()).await;
    let (ports, tenant, campaign) = campaign(under_test.storage.clone(), 10).await;
    assert!(matches!(report::export(&ports, &tenant, &campaign).await.unwrap(), Export::Stream(_)));
}
