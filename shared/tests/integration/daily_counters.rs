//! The daily analytics counters on both table adapters: moved once per transition whatever the
//! order and duplication of the status reports, on the tenant's local day, and with the money
//! written by the billing transactions.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use miping::domain::analytics::{self, Range};
use miping::domain::billing::{self, DebitRequest, Reference};
use miping::domain::inbox;
use miping::domain::messages::status::{StatusReport, apply};
use miping::domain::messages::{Direction, Message, MessageError, MessageStatus};
use miping::domain::money::Money;
use miping::domain::tenants::model::TenantSettings;
use miping::ports::Ports;
use miping::ports::table::Table;
use miping::store::messages;
use miping::store::tenant_settings::TenantSettingsStore;
use miping::testkit::unique;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::common::ports_with;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn set_zone(ports: &Ports, tenant: &str, zone: &str) {
    let settings = TenantSettings { time_zone: zone.into(), ..TenantSettings::default() };
    assert!(TenantSettingsStore::new(&*ports.table).put(tenant, &settings, 0).await.unwrap());
    analytics::counters::forget_time_zone(tenant);
}

/// An outbound queued message created at `at`; a template message when `template` is given.
async fn queued(ports: &Ports, tenant: &str, at: DateTime<Utc>, template: Option<&str>) -> String {
    let id = unique("msg");
    let m = Message {
        to: Some("+15550001111".into()),
        template: template.map(|t| serde_json::json!({"name": t, "language": {"code": "en"}})),
        ..Message::new(&id, tenant, Direction::Outbound, "template", MessageStatus::Queued, at)
    };
    assert!(messages::Messages::new(&*ports.table).create(&m).await.unwrap());
    id
}

fn report(status: MessageStatus, at: DateTime<Utc>) -> StatusReport {
    StatusReport {
        status,
        at,
        error: (status == MessageStatus::Failed).then_some(MessageError { code: 131026, title: None, detail: None }),
        pricing: None,
    }
}

async fn counts(ports: &Ports, tenant: &str, from: &str, to: &str) -> Vec<analytics::DayCounts> {
    analytics::daily(ports, tenant, Range { from: day(from), to: day(to) }).await.unwrap().items
}

/// Statuses duplicated and shuffled (a seeded shuffle: a failure is reproducible), applied two
/// at a time like two webhook processor instances: each message counts in its final state once.
async fn shuffled_duplicates_count_final_states(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = unique("ten");
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    use MessageStatus::*;
    let paths: [&[MessageStatus]; 5] =
        [&[Sent, Delivered, Read], &[Sent, Delivered], &[Sent], &[Sent, Failed], &[Failed]];
    let mut rng = StdRng::seed_from_u64(19);
    let mut finals = Vec::new();
    for i in 0..20 {
        let template = if i % 2 == 0 { Some("fee_reminder") } else { None };
        let id = queued(&ports, &tenant, at, template).await;
        let path = paths[i % paths.len()];
        let mut reports: Vec<StatusReport> =
            path.iter().enumerate().map(|(n, s)| report(*s, at + Duration::seconds(n as i64 + 1))).collect();
        reports.extend(reports.clone());
        reports.shuffle(&mut rng);
        let key = messages::key(&tenant, &id);
        for pair in reports.chunks(2) {
            for r in futures_util::future::join_all(pair.iter().map(|r| apply(&ports, &key, r))).await {
                r.unwrap();
            }
        }
        let view = messages::Messages::new(&*ports.table).view(&tenant, &id).await.unwrap().unwrap();
        finals.push((view.status, template.is_some()));
    }
    let expect = |only_templates: bool| {
        let mut n = [0i64; 4];
        for (status, template) in &finals {
            if *template || !only_templates {
                for (i, c) in analytics::counters::funnel(*status).iter().enumerate() {
                    n[i] += c;
                }
            }
        }
        n
    };
    let got = counts(&ports, &tenant, "2026-03-01", "2026-03-01").await;
    assert_eq!([got[0].sent, got[0].delivered, got[0].read, got[0].failed], expect(false));
    assert_eq!(expect(false), [12, 8, 4, 8], "the paths' final states: 4 read, 4 delivered, 4 sent, 8 failed");

    let templates = analytics::tenant_templates(
        &ports,
        &tenant,
        &analytics::RangeQuery { from: Some("2026-03-01".into()), to: Some("2026-03-01".into()) },
    )
    .await
    .unwrap()
    .items;
    assert_eq!(templates.len(), 1);
    let t = &templates[0];
    assert_eq!((t.name.as_str(), t.language.as_str()), ("fee_reminder", "en"));
    assert_eq!([t.sent, t.delivered, t.read, t.failed], expect(true));
}

/// A message just before and one just after local midnight count on different local days; the
/// range reports every day, the empty ones as zeros.
async fn local_midnight_splits_days(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = unique("ten");
    set_zone(&ports, &tenant, "Asia/Kolkata").await;
    // 18:30 UTC is midnight in Kolkata (UTC+5:30).
    let midnight = Utc.with_ymd_and_hms(2026, 3, 1, 18, 30, 0).unwrap();
    for at in [midnight - Duration::seconds(1), midnight] {
        let id = queued(&ports, &tenant, at, None).await;
        apply(&ports, &messages::key(&tenant, &id), &report(MessageStatus::Sent, at)).await.unwrap();
        // Delivered after midnight: still the message's day.
        apply(&ports, &messages::key(&tenant, &id), &report(MessageStatus::Delivered, midnight + Duration::hours(1)))
            .await
            .unwrap();
    }
    let got = counts(&ports, &tenant, "2026-02-28", "2026-03-03").await;
    let days: Vec<(&str, i64, i64)> = got.iter().map(|d| (d.date.as_str(), d.sent, d.delivered)).collect();
    assert_eq!(days, [("2026-02-28", 0, 0), ("2026-03-01", 1, 1), ("2026-03-02", 1, 1), ("2026-03-03", 0, 0)]);
    assert_eq!(got[0], analytics::DayCounts { date: "2026-02-28".into(), ..Default::default() });
}

/// Inbound messages count once (a redelivered webhook records nothing new), on Meta's time.
async fn inbound_counts_once(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = unique("ten");
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 23, 59, 59).unwrap();
    let wamid = unique("wamid");
    for _ in 0..3 {
        inbox::record_inbound(&ports, &tenant, "con_1", &crate::common::inbound_text(&wamid, at)).await.unwrap();
    }
    inbox::record_inbound(&ports, &tenant, "con_1", &crate::common::inbound_text(&unique("wamid"), at)).await.unwrap();
    let got = counts(&ports, &tenant, "2026-03-01", "2026-03-02").await;
    assert_eq!((got[0].inbound, got[1].inbound), (2, 0));
}

/// Debits add to the day's cost per category and to `credits_debited`; a refund adds to
/// `credits_refunded` and takes its amount off the cost; a repeated debit or refund adds nothing.
async fn money_follows_the_ledger(table: Arc<dyn Table>) {
    let (ports, _dir) = ports_with(table);
    let tenant = unique("ten");
    billing::credit(&ports, &tenant, "100".parse().unwrap(), None).await.unwrap();
    let req = |id: &str, amount: &str, category: &str| DebitRequest {
        message_id: id.into(),
        amount: amount.parse().unwrap(),
        reference: Reference::message(id),
        category: category.into(),
    };
    let batch = [req("msg_a", "0.80", "marketing"), req("msg_b", "0.12", "utility"), req("msg_c", "0.80", "marketing")];
    billing::debit(&ports, &tenant, &batch).await.unwrap();
    billing::debit(&ports, &tenant, &batch[..1]).await.unwrap(); // a redelivery: AlreadyDebited
    billing::refund(&ports, &tenant, "msg_c", None).await.unwrap();
    billing::refund(&ports, &tenant, "msg_c", None).await.unwrap(); // once only
    let today = ports.clock.now().date_naive().format("%Y-%m-%d").to_string();
    let got = counts(&ports, &tenant, &today, &today).await;
    let money = |s: &str| s.parse::<Money>().unwrap();
    assert_eq!(got[0].credits_debited, money("1.72"));
    assert_eq!(got[0].credits_refunded, money("0.80"));
    assert_eq!((got[0].cost.marketing, got[0].cost.utility), (money("0.80"), money("0.12")));
    assert_eq!(got[0].cost.service, Money::ZERO);
}

macro_rules! suite {
    ($make:expr) => {
        #[tokio::test]
        async fn shuffled_duplicates() {
            shuffled_duplicates_count_final_states($make.await).await
        }
        #[tokio::test]
        async fn local_midnight() {
            local_midnight_splits_days($make.await).await
        }
        #[tokio::test]
        async fn inbound_once() {
            inbound_counts_once($make.await).await
        }
        #[tokio::test]
        async fn money() {
            money_follows_the_ledger($make.await).await
        }
    };
}

crate::common::on_both_tables!(suite);
