//! A campaign's report and recipients export over HTTP, against the simulator: the funnel and
//! the failures grouped by Meta's code, the CSV with every recipient, streamed page by page.

use std::time::Duration;

use chrono::Utc;
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::ports::table::TxOp;
use miping::store::{keys, messages};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::sending::*;
use crate::common::*;

/// A finished campaign to contacts 0..12 (+14155500000 fails 131026, +14155500001 fails 131047,
/// the others are read) and one opted-out contact; returns its id.
pub(crate) async fn finished_campaign(tp: &TestPlatform, t: &ActiveTenant) -> String {
    contacts(tp, t, 0..12).await;
    let opted = contacts(tp, t, 5000..5001).await;
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{}", opted[0].id)))
        .bearer_auth(&t.token)
        .json(&json!({"opted_out": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let created = create(tp, t, &campaign(json!({"all": true}))).await;
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/campaigns/{id}");
    let (tp2, token) = (tp, t.token.clone());
    eventually(60, "every message read or failed", || {
        let (path, token) = (path.clone(), token.clone());
        async move {
            let c = get_ok(tp2, &token, &path).await["counts"].clone();
            (c["read"].as_i64()? + c["failed"].as_i64()? == 12).then_some(())
        }
    })
    .await;
    id
}

#[tokio::test]
async fn the_report_groups_failures_by_code_and_the_export_lists_every_recipient() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    let id = finished_campaign(&tp, &t).await;

    let report = get_ok(&tp, &t.token, &format!("/campaigns/{id}/report")).await;
    assert_eq!(report["campaign"]["id"], id.as_str());
    assert_eq!(
        report["funnel"],
        json!({"recipients": 13, "messages": 12, "sent": 10, "delivered": 10, "read": 10, "failed": 2,
            "pending": 0, "cancelled": 0, "skipped_opted_out": 1, "skipped_missing_data": 0})
    );
    let failures = report["failures"].as_array().unwrap();
    let groups: Vec<(i64, i64, bool)> = failures
        .iter()
        .map(|f| (f["code"].as_i64().unwrap(), f["count"].as_i64().unwrap(), f["retryable"].as_bool().unwrap()))
        .collect();
    assert_eq!(groups, [(131026, 1, false), (131047, 1, false)]);
    assert!(failures.iter().all(|f| f["title"].as_str().is_some_and(|t| !t.is_empty())), "{failures:?}");

    let r = tp.http.get(tp.url(&format!("/campaigns/{id}/recipients.csv"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("contact_id,phone,status,error_code,error_title,sent_at,delivered_at,read_at"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 12, "one row per message; the opted-out contact has none");
    let by_phone = |p: &str| rows.iter().find(|r| r[1] == p).unwrap_or_else(|| panic!("{p} in {csv}"));
    assert_eq!(&by_phone("+14155500000")[2..4], ["failed", "131026"]);
    assert_eq!(&by_phone("+14155500001")[2..4], ["failed", "131047"]);
    let read = by_phone("+14155500007");
    assert_eq!((read[2], read[3]), ("read", ""));
    assert!(read[5..8].iter().all(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()), "{read:?}");

    // Another tenant's campaign is not found; an agent may not export.
    let other = provision_and_activate(&tp).await;
    for path in [format!("/campaigns/{id}/report"), format!("/campaigns/{id}/recipients.csv")] {
        let (status, _) = get_json(&tp, &other.token, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let (status, _) = get_json(&tp, &agent.token, &format!("/campaigns/{id}/recipients.csv")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A scheduled campaign to 10,000 contacts whose messages exist (written as the fan-out writes
/// them): the export arrives as a chunked stream (no length known up front), page after page,
/// and holds every recipient once.
#[tokio::test]
async fn a_large_export_is_streamed() {
    let tp = start().await;
    let t = ready(&tp, 100_000).await;
    let n = 10_000;
    let people = contacts(&tp, &t, 0..n).await;
    let at = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let mut body = campaign(json!({"all": true}));
    body["schedule_at"] = json!(at);
    let id = create(&tp, &t, &body).await["id"].as_str().unwrap().to_string();
    let ports = tp.ports();
    let now = Utc::now();
    let mut puts = people
        .iter()
        .map(|c| {
            let m = Message {
                contact_id: Some(c.id.clone()),
                to: c.phone.clone(),
                campaign_id: Some(id.clone()),
                ..Message::new(
                    keys::campaign_message_id(&id, &c.id),
                    &t.id,
                    Direction::Outbound,
                    "template",
                    MessageStatus::Queued,
                    now,
                )
            };
            TxOp::Put { item: messages::item(&m).unwrap(), cond: None }
        })
        .peekable();
    while puts.peek().is_some() {
        ports.table.transact(puts.by_ref().take(100).collect()).await.unwrap();
    }

    let mut r =
        tp.http.get(tp.url(&format!("/campaigns/{id}/recipients.csv"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("content-length").is_none(), "streamed, not buffered: {:?}", r.headers());
    let mut chunks = 0;
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), r.chunk()).await.unwrap().unwrap() {
        bytes.extend_from_slice(&chunk);
        chunks += 1;
    }
    let text = String::from_utf8(bytes).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), n);
    let unique: std::collections::HashSet<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(unique.len(), n, "every recipient once");
    assert!(rows.iter().all(|r| r.contains(",queued,")));
    // At least one chunk per page of 500 (the transport may split pages further).
    assert!(chunks >= n / 500, "{chunks} chunks");
}

#[tokio::test]
async fn retry_failed_sends_only_retryable_failures_once_and_bills_each_once() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    credit(&tp, &t.id, "100.00").await;
    // A scheduled campaign (its fan-out does not run) whose messages end as Meta failed them:
    // 131026 and 131047 are final, 131048 (spam rate limit) a retry can fix.
    let people = contacts(&tp, &t, 0..3).await;
    let mut body = campaign(json!({"all": true}));
    body["schedule_at"] = json!((Utc::now() + chrono::Duration::days(1)).to_rfc3339());
    let id = create(&tp, &t, &body).await["id"].as_str().unwrap().to_string();
    for (c, code) in people.iter().zip([131026, 131047, 131048]) {
        campaign_message_failed(&tp, &t, &id, &c.id, c.phone.as_deref().unwrap(), code).await;
    }
    let late = &people[2..];
    let report = get_ok(&tp, &t.token, &format!("/campaigns/{id}/report")).await;
    let retryable: Vec<(i64, bool)> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_i64().unwrap(), f["retryable"].as_bool().unwrap()))
        .collect();
    assert_eq!(retryable, [(131026, false), (131047, false), (131048, true)]);
    let balance = || async { miping::domain::billing::balance(tp.ports(), &t.id).await.unwrap() };
    let before = balance().await;

    let r = post(&tp, &t.token, &format!("/campaigns/{id}/retry-failed"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let retry: Value = r.json().await.unwrap();
    let retry_id = retry["id"].as_str().unwrap().to_string();
    assert_eq!(retry["audience"]["contact_ids"], json!([late[0].id]));
    assert_eq!(retry["name"], "Launch (retry)");
    let path = format!("/campaigns/{retry_id}");
    poll_field(&tp, &t.token, &path, "status", "completed").await;
    eventually(30, "the retried message read", || async {
        (get_ok(&tp, &t.token, &path).await["counts"]["read"] == 1).then_some(())
    })
    .await;
    // Its send job delivered again (an SQS redelivery): not sent, not billed a second time.
    let message_id = keys::campaign_message_id(&retry_id, &late[0].id);
    let job = miping::domain::messages::dispatch::SendJob { tenant_id: t.id.clone(), message_id };
    miping::domain::messages::dispatch::enqueue(tp.ports(), &job).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        before.units() - balance().await.units(),
        "0.12".parse::<miping::domain::money::Money>().unwrap().units()
    );
    let sim = simulator(&tp);
    assert_eq!(sim.sent_messages().iter().filter(|s| s.to.ends_with("14155500002")).count(), 1);

    // The original is as it was; it is retried once; the retry has nothing left to retry.
    let again = get_ok(&tp, &t.token, &format!("/campaigns/{id}/report")).await;
    assert_eq!(again["funnel"], report["funnel"]);
    let r = post(&tp, &t.token, &format!("/campaigns/{id}/retry-failed"), &json!({})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "already_retried");
    let r = post(&tp, &t.token, &format!("/campaigns/{retry_id}/retry-failed"), &json!({})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "nothing_to_retry");
    let r =
        post(&tp, &provision_and_activate(&tp).await.token, &format!("/campaigns/{id}/retry-failed"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The retry is in the tenant's audit log, on the original, naming the retry (once).
    let log = get_ok(&tp, &t.token, "/audit-log?action=campaign.retried").await;
    let entries = log["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["target"]["id"], id.as_str());
    assert_eq!(entries[0]["actor"]["type"], "user");
    assert_eq!(entries[0]["changes"]["retry_campaign_id"][1], retry_id.as_str(), "{log}");
}

#[tokio::test]
async fn test_send_fills_the_variables_from_a_contact_and_sends_one_message() {
    let tp = start().await;
    let t = ready(&tp, 1000).await;
    let people = contacts(&tp, &t, 7..8).await;
    let body = |contact: Option<&str>| {
        json!({"to": "+14155550199", "template": {"name": "city_news", "language": "en_US"},
            "variables": ["{{contact.name}}", "{{contact.attributes.city}}"], "contact_id": contact})
    };
    let r = post(&tp, &t.token, "/campaigns/test-send", &body(Some(&people[0].id))).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["to"], "+14155550199");
    let id = accepted["id"].as_str().unwrap();
    poll_field(&tp, &t.token, &format!("/messages/{id}"), "status", "read").await;
    let sent = simulator(&tp).sent_messages();
    let to_test: Vec<_> = sent.iter().filter(|s| s.to.ends_with("14155550199")).collect();
    assert_eq!(to_test.len(), 1);
    let params = &to_test[0].body["template"]["components"][0]["parameters"];
    assert_eq!((params[0]["text"].as_str(), params[1]["text"].as_str()), (Some("Name 7"), Some("City 7")));

    // Contact variables need a contact; a bad mapping is named.
    let r = post(&tp, &t.token, "/campaigns/test-send", &body(None)).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let (status, v) = {
        let r = post(&tp, &t.token, "/campaigns/test-send", &body(Some("con_nobody"))).await;
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["details"][0]["code"], "unknown_contact");
    let mut bad = body(Some(&people[0].id));
    bad["variables"][1] = json!("{{contact.email}}");
    let v: Value = post(&tp, &t.token, "/campaigns/test-send", &bad).await.json().await.unwrap();
    assert_eq!(v["error"]["details"][0]["field"], "variables[1]");
    // Literals only: no contact needed.
    let r = post(
        &tp,
        &t.token,
        "/campaigns/test-send",
        &json!({"to": "+14155550198",
        "template": {"name": "city_news", "language": "en_US"}, "variables": ["Ana", "Pune"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    // No campaign was created or counted.
    assert_eq!(get_ok(&tp, &t.token, "/campaigns").await["items"], json!([]));
}
