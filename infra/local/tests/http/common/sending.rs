//! Helpers of the sending tests (campaigns, the send worker, exactly-once under faults): a
//! tenant ready to send, contacts, campaigns, credits, a callback receiver, and a platform
//! against a simulator the test owns (so what Meta received survives restarts of the platform).

use std::sync::{Arc, Mutex};

use chrono::Utc;
use miping::domain::contacts::Contact;
use miping::ports::table::Update;
use miping::store::contacts::Contacts;
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

/// A UTILITY template with two body variables: "Hi {{1}}, news from {{2}}.".
pub fn city_news(name: &str) -> Value {
    json!({"name": name, "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, news from {{2}}.", "example": {"body_text": [["Ana", "Pune"]]}}
    ]})
}

/// A `city_news`-shaped template, created and left to the simulator's review until it is `want`.
pub async fn template(tp: &TestPlatform, t: &ActiveTenant, name: &str, want: &str) {
    reviewed_template(tp, t, &city_news(name), want).await;
}

/// A connected tenant with an approved `city_news` template and a plan allowing `monthly`.
pub async fn ready(tp: &TestPlatform, monthly: u64) -> ActiveTenant {
    let t = provision_and_activate(tp).await;
    connect_new(tp, &t).await;
    template(tp, &t, "city_news", "APPROVED").await;
    tp.ports()
        .table
        .update(&keys::plan(&t.plan_id), Update::new().set("monthly_message_limit", monthly), None)
        .await
        .unwrap();
    t
}

/// Contacts written straight to the store (no plan contact limit): `+1415550NNNN` for each n,
/// named `Name n`, in city `City n`, tagged `all`.
pub async fn contacts(tp: &TestPlatform, t: &ActiveTenant, numbers: impl Iterator<Item = usize>) -> Vec<Contact> {
    let ports = tp.ports();
    let now = Utc::now();
    let list: Vec<Contact> = numbers
        .map(|n| {
            let mut c = Contact::new(ports.ids.new_id("con"), &t.id, now);
            c.phone = Some(format!("+1415550{n:04}"));
            c.name = Some(format!("Name {n}"));
            c.attributes.insert("city".into(), json!(format!("City {n}")));
            c.tags = vec!["all".into()];
            c
        })
        .collect();
    for chunk in list.chunks(200) {
        Contacts::new(&*ports.table).create_batch(&t.id, chunk, None).await.unwrap();
    }
    list
}

pub fn campaign(audience: Value) -> Value {
    json!({"name": "Launch", "template": {"name": "city_news", "language": "en_US"}, "audience": audience,
        "variables": ["{{contact.name}}", "{{contact.attributes.city}}"]})
}

pub async fn create(tp: &TestPlatform, t: &ActiveTenant, body: &Value) -> Value {
    let r = post(tp, &t.token, "/campaigns", body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// Prepaid credits for `tenant_id`, as the super admin.
pub async fn credit(tp: &TestPlatform, tenant_id: &str, amount: &str) {
    let admin = tp.admin_token().await;
    let r = post(tp, &admin, &format!("/admin/tenants/{tenant_id}/credits"), &json!({"amount": amount})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// `PATCH /admin/tenants/{id}` as the super admin.
pub async fn patch_tenant(tp: &TestPlatform, tenant_id: &str, body: &Value) {
    let admin = tp.admin_token().await;
    let r = tp
        .http
        .patch(tp.url(&format!("/admin/tenants/{tenant_id}")))
        .bearer_auth(&admin)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Every ledger entry of the tenant, oldest first.
pub async fn ledger(ports: &miping::ports::Ports, tenant_id: &str) -> Vec<miping::domain::billing::LedgerEntry> {
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = miping::domain::billing::list(ports, tenant_id, 100, cursor).await.unwrap();
        entries.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    entries.sort_by_key(|e| e.seq);
    entries
}

/// A tenant's system receiving callbacks (answers 200 to everything), keeping the parsed events.
pub struct Collector {
    pub url: String,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    pub async fn start() -> Self {
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let log = events.clone();
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |axum::Json(event): axum::Json<Value>| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(event);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, events }
    }

    /// Registers this receiver as the tenant's callback.
    pub async fn register(&self, tp: &TestPlatform, token: &str) {
        let body = json!({"url": self.url, "secret": "whsec_exactly_once_0123456789abcdef"});
        let r = tp.http.put(tp.url("/settings/callback")).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// Every event of `kind` received (`message.inbound`, ...), as posted.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        self.events.lock().unwrap().iter().filter(|e| e["type"] == kind).cloned().collect()
    }

    /// `(message id, status)` of every `message.status` event received, deduplicated by event id
    /// as a receiver does (delivery is at least once: a POST interrupted by a crash is repeated).
    pub fn statuses(&self) -> Vec<(String, String)> {
        let mut seen = std::collections::HashSet::new();
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "message.status" && seen.insert(e["id"].as_str().unwrap_or("").to_owned()))
            .map(|e| {
                (
                    e["data"]["message_id"].as_str().unwrap_or("").to_owned(),
                    e["data"]["status"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }
}

pub fn free_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A simulator owned by the test, sending its webhooks to `addr` (where the platform will run).
pub async fn simulator_for(addr: std::net::SocketAddr) -> meta_sim::SimHandle {
    let config = meta_sim::SimConfig {
        webhook_url: Some(format!("http://{addr}/webhook/meta")),
        ..meta_sim::SimConfig::default()
    };
    meta_sim::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// How many times Meta was asked to send each of our messages (`biz_opaque_callback_data`).
pub fn sends_per_message(sim: &meta_sim::SimHandle) -> std::collections::HashMap<String, usize> {
    let mut sends = std::collections::HashMap::new();
    for m in sim.sent_messages() {
        *sends.entry(m.body["biz_opaque_callback_data"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    sends
}

/// A queued marketing template message to `to`, written as `POST /messages` would write it but
/// without its job (the test queues or drives it).
pub async fn store_message(ports: &miping::ports::Ports, tenant: &str, to: &str) -> String {
    use miping::domain::messages::{Direction, Message, MessageStatus};
    let id = ports.ids.new_id("msg");
    let m = Message {
        to: Some(to.into()),
        template: Some(json!({"name": "spring_sale", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]})),
        category: Some("marketing".into()),
        ..Message::new(id.clone(), tenant, Direction::Outbound, "template", MessageStatus::Queued, Utc::now())
    };
    assert!(miping::store::messages::Messages::new(&*ports.table).create(&m).await.unwrap());
    id
}

/// The campaign's message to `contact` (at `to`) written and ended `failed` with Meta's `code`
/// (title "Spam rate limit hit"), as the webhook processor applies it (counters included).
pub async fn campaign_message_failed(
    tp: &TestPlatform,
    t: &ActiveTenant,
    campaign: &str,
    contact: &str,
    to: &str,
    code: i64,
) {
    use miping::domain::messages::status::{StatusReport, apply};
    use miping::domain::messages::{Direction, Message, MessageError, MessageStatus};
    use miping::ports::table::TxOp;
    use miping::store::messages;
    let ports = tp.ports();
    let id = keys::campaign_message_id(campaign, contact);
    let m = Message {
        contact_id: Some(contact.into()),
        to: Some(to.into()),
        campaign_id: Some(campaign.into()),
        ..Message::new(id.clone(), &t.id, Direction::Outbound, "template", MessageStatus::Queued, Utc::now())
    };
    ports.table.transact(vec![TxOp::Put { item: messages::item(&m).unwrap(), cond: None }]).await.unwrap();
    let error = MessageError { code, title: Some("Spam rate limit hit".into()), detail: None };
    let report = StatusReport { status: MessageStatus::Failed, at: Utc::now(), error: Some(error), pricing: None };
    apply(ports, &messages::key(&t.id, &id), &report).await.unwrap();
}
