//! The simulator's state: configuration, what was sent, templates, and the webhook sequences.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::SimConfig;
use crate::business::{Business, PhoneNumber};
use crate::limits::Limits;
use crate::templates::{TemplateRecord, TemplateStatus};
use crate::webhooks::{Scheduled, Webhooks};

/// The sent-message log keeps the most recent ones only (benchmarks send hundreds of thousands).
const SENT_LOG_CAPACITY: usize = 50_000;

/// What `POST /messages` answered, since the simulator started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub accepted: u64,
    /// Refused with 130429 by the number's throughput limit (injected faults not included).
    pub throughput_refused: u64,
    /// Refused with 131056 by the pair rate limit.
    pub pair_refused: u64,
}

#[derive(Debug, Clone)]
pub struct SentMessage {
    pub wamid: String,
    pub phone_number_id: String,
    /// `to` as the request gave it.
    pub to: String,
    pub wa_id: String,
    /// The request body, exactly as received.
    pub body: Value,
}

pub struct Sim {
    config: RwLock<SimConfig>,
    inner: Mutex<Inner>,
    pub webhooks: Arc<Webhooks>,
}

#[derive(Default)]
pub struct Inner {
    pub used_codes: HashSet<String>,
    /// Per WABA, in creation order (template ids increase, which paging relies on).
    pub templates: HashMap<String, Vec<TemplateRecord>>,
    pub next_template: u64,
    pub subscribed: HashSet<String>,
    pub registered: HashSet<String>,
    pub limits: Limits,
    pub sent: VecDeque<SentMessage>,
    /// Totals since start (the sent log above keeps only the latest messages).
    pub counts: SendCounts,
    /// One-shot failures per endpoint, consumed in order by the next matching requests.
    pub scripted: Vec<(crate::faults::Endpoint, crate::faults::ScriptedFault)>,
}

impl Inner {
    pub fn template_mut(&mut self, id: &str) -> Option<&mut TemplateRecord> {
        self.templates.values_mut().flat_map(|v| v.iter_mut()).find(|t| t.id == id)
    }

    pub fn template(&self, id: &str) -> Option<&TemplateRecord> {
        self.templates.values().flat_map(|v| v.iter()).find(|t| t.id == id)
    }

    /// A new template id: 16 digits, increasing.
    pub fn new_template_id(&mut self) -> String {
        self.next_template += 1;
        format!("{}", 1_300_000_000_000_000u64 + self.next_template)
    }

    /// The next scripted failure for `endpoint`, removed so it happens once.
    pub fn take_scripted(&mut self, endpoint: crate::faults::Endpoint) -> Option<crate::errors::GraphError> {
        let at = self.scripted.iter().position(|(e, _)| *e == endpoint)?;
        Some(self.scripted.remove(at).1.to_error())
    }

    pub fn record_sent(&mut self, m: SentMessage) {
        self.counts.accepted += 1;
        if self.sent.len() >= SENT_LOG_CAPACITY {
            self.sent.pop_front();
        }
        self.sent.push_back(m);
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl Sim {
    pub fn new(config: SimConfig) -> Self {
        Self { config: RwLock::new(config), inner: Mutex::new(Inner::default()), webhooks: Arc::new(Webhooks::new()) }
    }

    pub fn config(&self) -> SimConfig {
        self.config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn configure(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut self.config.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// The state lock; never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.lock().sent.iter().cloned().collect()
    }

    pub fn templates_of(&self, waba_id: &str) -> Vec<TemplateRecord> {
        self.lock().templates.get(waba_id).cloned().unwrap_or_default()
    }

    /// Delivers a sequence of webhooks, duplicating each when configured to.
    fn send_sequence(&self, mut items: Vec<Scheduled>, shuffle: bool) {
        let config = self.config();
        if shuffle && config.shuffle_webhooks {
            let mut bodies: Vec<Value> = items.iter().map(|i| i.body.clone()).collect();
            bodies.shuffle(&mut rand::thread_rng());
            for (item, body) in items.iter_mut().zip(bodies) {
                item.body = body;
            }
        }
        if config.duplicate_webhooks {
            items = items
                .into_iter()
                .flat_map(|i| {
                    let copy = Scheduled { delay: Duration::from_millis(5), body: i.body.clone() };
                    [i, copy]
                })
                .collect();
        }
        self.webhooks.spawn_sequence(config.webhook_url, config.app_secret, items);
    }

    /// After the review delay, approves or rejects submission `generation` of a template and
    /// sends the `message_template_status_update` webhook.
    pub fn schedule_review(self: &Arc<Self>, template_id: String, generation: u64) {
        let sim = self.clone();
        let delay = self.config().template_review_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let webhook = {
                let mut inner = sim.lock();
                let Some(t) = inner.template_mut(&template_id) else { return };
                if t.review_generation != generation || t.status != TemplateStatus::Pending {
                    return; // edited or deleted meanwhile: a newer review decides
                }
                let verdict = crate::templates::review(&t.name);
                t.status = verdict.status;
                t.rejected_reason = verdict.reason.to_owned();
                template_status_webhook(t, verdict.reason, verdict.rejection_info)
            };
            sim.send_sequence(vec![Scheduled { delay: Duration::ZERO, body: webhook }], false);
        });
    }

    /// `sent`, `delivered`, `read` (or one `failed`) for an accepted message.
    pub fn schedule_statuses(&self, business: &Business, phone: &PhoneNumber, msg: &SentMessage, category: &str) {
        let gap = self.config().status_delay;
        let opaque = msg.body.get("biz_opaque_callback_data").and_then(Value::as_str);
        let failure = if msg.wa_id.ends_with("0000") {
            Some(failure_131026())
        } else if msg.wa_id.ends_with("0001") {
            Some(failure_131047())
        } else {
            None
        };
        let ctx = StatusCtx { business, phone, msg, opaque, category, conversation_id: conversation_id(msg) };
        let items: Vec<Scheduled> = match failure {
            Some(error) => vec![Scheduled { delay: gap, body: ctx.webhook("failed", Some(error)) }],
            None => ["sent", "delivered", "read"]
                .into_iter()
                .map(|s| Scheduled { delay: gap, body: ctx.webhook(s, None) })
                .collect(),
        };
        self.send_sequence(items, true);
    }

    /// A customer's text message, as Meta delivers it.
    pub fn send_inbound(&self, business: &Business, phone: &PhoneNumber, from: &str, text: &str, name: &str) -> String {
        let wamid = new_wamid(from);
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": business.waba_id,
                "changes": [{
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": { "display_phone_number": phone.display_digits(), "phone_number_id": phone.id },
                        "contacts": [{ "profile": { "name": name }, "wa_id": from }],
                        "messages": [{
                            "from": from,
                            "id": wamid,
                            "timestamp": unix_now().to_string(),
                            "text": { "body": text },
                            "type": "text"
                        }]
                    },
                    "field": "messages"
                }]
            }]
        });
        self.send_sequence(vec![Scheduled { delay: Duration::ZERO, body }], false);
        wamid
    }
}

pub fn template_status_webhook(t: &TemplateRecord, reason: &str, rejection_info: Option<Value>) -> Value {
    let mut value = json!({
        "event": t.status.as_str(),
        "message_template_id": t.id.parse::<u64>().unwrap_or_default(),
        "message_template_name": t.name,
        "message_template_language": t.language,
        "reason": reason,
        "message_template_category": t.category,
    });
    if let Some(info) = rejection_info {
        value["rejection_info"] = info;
    }
    json!({
        "entry": [{
            "id": t.waba_id,
            "time": unix_now(),
            "changes": [{ "value": value, "field": "message_template_status_update" }]
        }],
        "object": "whatsapp_business_account"
    })
}

struct StatusCtx<'a> {
    business: &'a Business,
    phone: &'a PhoneNumber,
    msg: &'a SentMessage,
    opaque: Option<&'a str>,
    category: &'a str,
    conversation_id: String,
}

impl StatusCtx<'_> {
    fn webhook(&self, status: &str, error: Option<Value>) -> Value {
        let now = unix_now();
        let mut st = json!({
            "id": self.msg.wamid,
            "status": status,
            "timestamp": now.to_string(),
            "recipient_id": self.msg.wa_id,
        });
        if let Some(o) = self.opaque {
            st["biz_opaque_callback_data"] = json!(o);
        }
        match error {
            Some(e) => st["errors"] = json!([e]),
            None => {
                let origin = json!({ "type": self.category });
                st["conversation"] = if status == "sent" {
                    json!({ "id": self.conversation_id, "expiration_timestamp": (now + 24 * 3600).to_string(), "origin": origin })
                } else {
                    json!({ "id": self.conversation_id, "origin": origin })
                };
                st["pricing"] = json!({ "billable": true, "pricing_model": "CBP", "category": self.category });
            }
        }
        json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": self.business.waba_id,
                "changes": [{
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": { "display_phone_number": self.phone.display_digits(), "phone_number_id": self.phone.id },
                        "statuses": [st]
                    },
                    "field": "messages"
                }]
            }]
        })
    }
}

fn failure(code: u64, title: &str, details: &str) -> Value {
    json!({
        "code": code,
        "title": title,
        "message": title,
        "error_data": { "details": details },
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
    })
}

fn failure_131026() -> Value {
    failure(
        131026,
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; \
         the recipient has not accepted the new Terms of Service and Privacy Policy; the recipient is using an old \
         WhatsApp version.",
    )
}

fn failure_131047() -> Value {
    failure(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    )
}

/// One conversation per (number, recipient) and day, as Meta's 24 h windows roughly are.
fn conversation_id(msg: &SentMessage) -> String {
    let day = unix_now() / (24 * 3600);
    let digest =
        crate::webhooks::sign("conversation", format!("{}:{}:{day}", msg.phone_number_id, msg.wa_id).as_bytes());
    digest[..30].to_owned()
}

/// `wamid.` + base64 of the recipient and a ULID, the shape (not the content) of Meta's ids.
pub fn new_wamid(to: &str) -> String {
    use base64::Engine;
    let raw = format!("{to}\u{15}\u{2}\u{0}\u{11}\u{18}{}", ulid::Ulid::new());
    format!("wamid.HBgL{}", base64::engine::general_purpose::STANDARD.encode(raw))
}
