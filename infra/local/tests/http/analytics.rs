//! Analytics over HTTP (SPEC → Analytics): the daily counts equal the messages' final states
//! after duplicated and reordered status webhooks, days are the tenant's local days, empty days
//! are zeros, ranges are validated, the super admin's totals are the sum of the tenants', and a
//! tenant sees only its own numbers.

use chrono::{DateTime, Duration, TimeZone, Utc};
use miping::domain::messages::status::{StatusReport, apply};
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::ports::Ports;
use miping::ports::table::Item;
use miping::store::{keys, messages};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

/// A queued `spring_sale` (en_US) marketing template message created at `at`, written as
/// `POST /messages` writes it (the test plays Meta's statuses itself).
async fn message_at(ports: &Ports, tenant: &str, at: DateTime<Utc>) -> String {
    let id = ports.ids.new_id("msg");
    let m = Message {
        to: Some("+15550001111".into()),
        template: Some(json!({"name": "spring_sale", "language": {"code": "en_US"}})),
        category: Some("marketing".into()),
        ..Message::new(id.clone(), tenant, Direction::Outbound, "template", MessageStatus::Queued, at)
    };
    assert!(messages::Messages::new(&*ports.table).create(&m).await.unwrap());
    id
}

async fn status(ports: &Ports, tenant: &str, id: &str) -> MessageStatus {
    messages::Messages::new(&*ports.table).view(tenant, id).await.unwrap().unwrap().status
}

/// `[sent, delivered, read, failed]` of a day or template entry.
fn funnel(v: &Value) -> [i64; 4] {
    ["sent", "delivered", "read", "failed"].map(|k| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}")))
}

async fn daily(tp: &TestPlatform, token: &str, from: &str, to: &str) -> Vec<Value> {
    let v = get_ok(tp, token, &format!("/analytics/daily?from={from}&to={to}")).await;
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn counts_equal_final_states_after_shuffled_duplicated_webhooks() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let ports = tp.ports().clone();
    let phone = "109876543219019";
    ports.table.put(Item::new(keys::phone_route(phone)).with("tenant_id", t.id.as_str()), None).await.unwrap();

    // 4 read, 3 delivered, 3 sent, 2 failed after sent, 2 failed outright.
    let paths: Vec<&[&str]> = [&["sent", "delivered", "read"][..]; 4]
        .into_iter()
        .chain([&["sent", "delivered"][..]; 3])
        .chain([&["sent"][..]; 3])
        .chain([&["sent", "failed"][..]; 2])
        .chain([&["failed"][..]; 2])
        .collect();
    let created = Utc::now();
    let mut bodies = Vec::new();
    let mut ids = Vec::new();
    for path in &paths {
        let id = message_at(&ports, &t.id, created).await;
        for (i, s) in path.iter().enumerate() {
            let mut body = status_webhook(phone, &format!("wamid.{id}"), &id, s, created.timestamp() + i as i64);
            if *s == "sent" {
                // As Meta's status webhooks carry it (fixture status_delivered_PMP_marketing_username).
                body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] =
                    json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"});
            }
            bodies.push(body.to_string());
        }
        ids.push(id);
    }
    // Every delivery two or three times, all messages' deliveries interleaved; seeded, so a
    // failure replays the same order.
    let mut rng = StdRng::seed_from_u64(0x19);
    let copies: Vec<String> = bodies.iter().flat_map(|b| vec![b.clone(); 2 + (b.len() % 2)]).collect();
    let mut deliveries = copies;
    deliveries.shuffle(&mut rng);
    for b in &deliveries {
        assert_eq!(post_signed_webhook(&tp, b.as_bytes()).await.status(), StatusCode::OK);
    }
    let last = |p: &[&str]| MessageStatus::parse(p[p.len() - 1]).unwrap();
    for (id, path) in ids.iter().zip(&paths) {
        let (ports, tenant, id, want) = (ports.clone(), t.id.clone(), id.clone(), last(path));
        until(20, "every message in its final status", move || {
            let (ports, tenant, id) = (ports.clone(), tenant.clone(), id.clone());
            async move { status(&ports, &tenant, &id).await == want }
        })
        .await;
    }
    // The webhook processor may still be applying duplicates of settled statuses: give it a
    // moment, then the counts must be exactly the final states'.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let day = created.format("%Y-%m-%d").to_string();
    let items = daily(&tp, &t.token, &day, &day).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["date"], day);
    // sent counts read + delivered + sent; failed counts both kinds of failure.
    assert_eq!(funnel(&items[0]), [10, 7, 4, 4], "{}", items[0]);

    let templates = get_ok(&tp, &t.token, &format!("/analytics/templates?from={day}&to={day}")).await;
    let templates = templates["items"].as_array().unwrap();
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(
        (templates[0]["name"].as_str(), templates[0]["language"].as_str()),
        (Some("spring_sale"), Some("en_US"))
    );
    assert_eq!(funnel(&templates[0]), [10, 7, 4, 4]);
}

#[tokio::test]
async fn days_are_the_tenants_local_days() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let r = tp
        .http
        .patch(tp.url("/tenant/settings"))
        .bearer_auth(&t.token)
        .json(&json!({"time_zone": "Asia/Kolkata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ports = tp.ports().clone();
    // Midnight in Kolkata (UTC+5:30) is 18:30 UTC: one message a second before, one at midnight.
    let midnight = Utc.with_ymd_and_hms(2026, 3, 1, 18, 30, 0).unwrap();
    for at in [midnight - Duration::seconds(1), midnight] {
        let id = message_at(&ports, &t.id, at).await;
        let report =
            StatusReport { status: MessageStatus::Read, at: at + Duration::minutes(5), error: None, pricing: None };
        apply(&ports, &messages::key(&t.id, &id), &report).await.unwrap();
    }
    let items = daily(&tp, &t.token, "2026-03-01", "2026-03-02").await;
    let got: Vec<(&str, [i64; 4])> = items.iter().map(|d| (d["date"].as_str().unwrap(), funnel(d))).collect();
    assert_eq!(got, [("2026-03-01", [1, 1, 1, 0]), ("2026-03-02", [1, 1, 1, 0])]);
    // In UTC both were on March 1st: the zone decides.
    let admin = tp.admin_token().await;
    let v =
        get_ok(&tp, &admin, &format!("/admin/analytics/daily?tenant_id={}&from=2026-03-01&to=2026-03-02", t.id)).await;
    assert_eq!(v["items"], json!(items));

    // The console's analytics page: the same days and the template's funnel for the range.
    let mut console = crate::console::Console::new(&tp.base);
    console.sign_in(&t.email, &t.password).await;
    let page = console.get("/app/analytics?from=2026-03-01&to=2026-03-02").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("spring_sale");
    assert!(page.body.contains("<td>2026-03-02</td><td class=\"num\">1</td>"), "{}", page.body);
    assert!(page.body.contains("<td class=\"num\"><strong>2</strong></td>"), "the total: {}", page.body);
    assert!(page.body.contains("<td class=\"num\">100%</td>"), "read rate");
    let refused = console.get("/app/analytics?from=2026-03-02&to=2026-03-01").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.field_error("to").as_deref(), Some("must not be before `from`"));
    let mut owner = crate::console::Console::new(&tp.base);
    owner.sign_in(crate::common::ADMIN_EMAIL, crate::common::ADMIN_PASSWORD).await;
    assert_eq!(owner.get("/app/analytics").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn empty_days_are_zeros_and_bad_ranges_are_refused() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let items = daily(&tp, &t.token, "2026-02-27", "2026-03-01").await;
    let dates: Vec<&str> = items.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-02-27", "2026-02-28", "2026-03-01"]);
    assert_eq!(
        items[0],
        json!({"date": "2026-02-27", "sent": 0, "delivered": 0, "read": 0, "failed": 0, "inbound": 0,
            "cost": {"marketing": "0.00", "utility": "0.00", "authentication": "0.00", "service": "0.00"},
            "credits_debited": "0.00", "credits_refunded": "0.00"})
    );
    // No range: the last 30 days, ending today.
    let v = get_ok(&tp, &t.token, "/analytics/daily").await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    assert_eq!(items[29]["date"], Utc::now().format("%Y-%m-%d").to_string());

    for (query, fields) in [
        ("from=2026-03-02&to=2026-03-01", vec![("to", "before_from")]),
        ("from=2025-01-01&to=2026-01-02", vec![("to", "range_too_long")]),
        ("from=yesterday&to=2026-02-30", vec![("from", "invalid_date"), ("to", "invalid_date")]),
    ] {
        for path in ["/analytics/daily", "/analytics/templates"] {
            let (status, body) = get_json(&tp, &t.token, &format!("{path}?{query}")).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}?{query}");
            let details: Vec<(&str, &str)> = body["error"]["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| (d["field"].as_str().unwrap(), d["code"].as_str().unwrap()))
                .collect();
            assert_eq!(details, fields, "{path}?{query}");
        }
    }
    // 366 days is the most.
    assert_eq!(daily(&tp, &t.token, "2025-01-01", "2026-01-01").await.len(), 366);
}

#[tokio::test]
async fn admin_totals_are_the_sum_of_tenants_and_tenants_see_only_theirs() {
    let tp = start().await;
    let (a, b) = (provision_and_activate(&tp).await, provision_and_activate(&tp).await);
    let ports = tp.ports().clone();
    let day = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    // A: 3 read; B: 2 delivered and 1 failed.
    for (tenant, statuses) in [
        (&a.id, vec![MessageStatus::Read; 3]),
        (&b.id, vec![MessageStatus::Delivered, MessageStatus::Delivered, MessageStatus::Failed]),
    ] {
        for s in statuses {
            let id = message_at(&ports, tenant, day).await;
            let error = (s == MessageStatus::Failed).then_some(miping::domain::messages::MessageError {
                code: 131026,
                title: None,
                detail: None,
            });
            apply(&ports, &messages::key(tenant, &id), &StatusReport { status: s, at: day, error, pricing: None })
                .await
                .unwrap();
        }
    }
    let of = |items: &[Value]| funnel(&items[0]);
    assert_eq!(of(&daily(&tp, &a.token, "2026-03-01", "2026-03-01").await), [3, 3, 3, 0]);
    assert_eq!(of(&daily(&tp, &b.token, "2026-03-01", "2026-03-01").await), [2, 2, 0, 1]);

    let admin = tp.admin_token().await;
    let all = get_ok(&tp, &admin, "/admin/analytics/daily?from=2026-02-28&to=2026-03-01").await;
    let tenants = all["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2, "every tenant of the platform");
    let mut sum = [0i64; 4];
    for t in tenants {
        for (i, n) in funnel(&t["items"][1]).iter().enumerate() {
            sum[i] += n;
        }
    }
    assert_eq!(funnel(&all["items"][1]), sum);
    assert_eq!(sum, [5, 5, 3, 1]);
    assert_eq!(funnel(&all["items"][0]), [0, 0, 0, 0]);
    let only_a =
        get_ok(&tp, &admin, &format!("/admin/analytics/daily?tenant_id={}&from=2026-03-01&to=2026-03-01", a.id)).await;
    assert_eq!(only_a["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(funnel(&only_a["items"][0]), [3, 3, 3, 0]);
    let (status, _) = get_json(&tp, &admin, "/admin/analytics/daily?tenant_id=ten_nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Tenants may not use the platform view; the super admin has no tenant view.
    let (status, _) = get_json(&tp, &a.token, "/admin/analytics/daily").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get_json(&tp, &admin, "/analytics/daily").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The super admin's platform page: each tenant and the total, as the API gives them.
    let mut owner = crate::console::Console::new(&tp.base);
    owner.sign_in(crate::common::ADMIN_EMAIL, crate::common::ADMIN_PASSWORD).await;
    let page = owner.get("/app/platform?from=2026-02-28&to=2026-03-01").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<th scope=\"row\">All tenants</th><td class=\"num\"><strong>5</strong></td>"),
        "{}",
        page.body
    );
    for (t, sent) in [(&a, 3), (&b, 2)] {
        let row = format!("href=\"/app/tenants/{}\"", t.id);
        let at = page.body.find(&row).unwrap_or_else(|| panic!("{row} in {}", page.body));
        assert!(page.body[at..].contains(&format!("</a></td><td class=\"num\">{sent}</td>")), "{}", &page.body[at..]);
    }
    let mut tenant = crate::console::Console::new(&tp.base);
    tenant.sign_in(&a.email, &a.password).await;
    assert_eq!(tenant.get("/app/platform").await.status, StatusCode::FORBIDDEN);
}

/// Through the send worker and the simulator's signed statuses: `cost` is what was debited, `0`
/// after the refund of a failure, in `GET /messages/{id}` and in the list; Meta's `pricing` is kept; the day shows the debits, the refund
/// and the net cost of the category, and the funnel of the two messages.
#[tokio::test]
async fn cost_is_what_was_debited_net_of_refunds() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    crate::common::sending::credit(&tp, &t.id, "10").await;
    let send = |to: &str| json!({"to": to, "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}});
    let mut ids = Vec::new();
    // The simulator reads the first and fails the second (a number ending 0000: 131026).
    for to in ["+14155550101", "+14155550000"] {
        let r = post(&tp, &t.token, "/messages", &send(to)).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        ids.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    let read = poll_field(&tp, &t.token, &format!("/messages/{}", ids[0]), "status", "read").await;
    // UTILITY at the default price table (docs/billing.md).
    assert_eq!(read["cost"], "0.12");
    assert_eq!(read["pricing"]["billable"], true);
    assert_eq!(read["pricing"]["category"], "utility");
    poll_field(&tp, &t.token, &format!("/messages/{}", ids[1]), "status", "failed").await;
    let failed = poll_field(&tp, &t.token, &format!("/messages/{}", ids[1]), "cost", "0.00").await;
    assert_eq!(failed["error"]["code"], 131026);
    // The list shows the same costs, stored on the messages (with the wamid, and by the refund)
    // rather than read from the ledger per row.
    let list = get_ok(&tp, &t.token, "/messages").await;
    let cost_of = |id: &str| list["items"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()["cost"].clone();
    assert_eq!((cost_of(&ids[0]), cost_of(&ids[1])), (json!("0.12"), json!("0.00")), "{list}");
    for (id, cost) in [(&ids[0], "0.12"), (&ids[1], "0.00")] {
        let item = messages::Messages::new(&*tp.ports().table).get(&t.id, id).await.unwrap().unwrap();
        assert_eq!(item.get_str("cost"), Some(cost), "stored on {id}");
    }

    let today = Utc::now().format("%Y-%m-%d").to_string();
    let day = &daily(&tp, &t.token, &today, &today).await[0];
    assert_eq!(day["credits_debited"], "0.24", "{day}");
    assert_eq!(day["credits_refunded"], "0.12");
    assert_eq!(day["cost"]["utility"], "0.12");
    assert_eq!(day["cost"]["marketing"], "0.00");
    assert_eq!(funnel(day), [1, 1, 1, 1]);

    // The console's dashboard draws the same numbers (server-side SVG, with text alternatives).
    let mut console = crate::console::Console::new(&tp.base);
    console.sign_in(&t.email, &t.password).await;
    let page = console.get("/").await;
    page.assert_shows("Messages per day over the last 30 days: 1 sent, 1 delivered, 1 read, 1 failed");
    page.assert_shows("Utility 0.12");
    assert!(
        page.body.contains("Credits burnt: <strong>0.12</strong> net (0.24 debited, 0.12 refunded for failures)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("class=\"fill-cat-utility\""), "a utility bar is drawn");
}
