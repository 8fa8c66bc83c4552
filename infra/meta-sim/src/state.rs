//! The simulator's state: configuration, what was sent, templates, media, and the webhook
//! sequences. What must survive a restart is snapshotted through [`Store`] after each change.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::seq::SliceRandom;
use serde::Serialize;
use serde_json::{Value, json};

use crate::SimConfig;
use crate::business::{Business, PhoneNumber};
use crate::limits::Limits;
use crate::media::MediaObject;
use crate::persist::{Snapshot, Store};
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

/// A message accepted by `POST /{phone}/messages`.
#[derive(Debug, Clone, Serialize)]
pub struct SentMessage {
    pub wamid: String,
    pub phone_number_id: String,
    /// `to` as the request gave it.
    pub to: String,
    pub wa_id: String,
    /// The request body, exactly as received.
    pub body: Value,
    /// The media the message carries (its own, or a template's / interactive message's header),
    /// resolved when it was accepted.
    pub media: Vec<SentMedia>,
    /// Unix milliseconds.
    pub accepted_at_ms: u64,
}

/// One media item of a sent message: by id (resolved to the uploaded object, so its bytes are
/// what Meta "received") or by link (recorded, never fetched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMedia {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: String,
    /// Where it sits: `message` (a media message) or `header` (template or interactive header).
    pub slot: String,
    pub id: Option<String>,
    pub link: Option<String>,
    pub mime_type: Option<String>,
    /// Hex SHA-256 of the bytes (by id only).
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

pub struct Sim {
    config: RwLock<SimConfig>,
    inner: Mutex<Inner>,
    pub webhooks: Arc<Webhooks>,
    /// Snapshot and media bytes (a directory, or memory).
    pub store: Store,
    /// Set by shutdown: background work (reviews) stops and nothing more is written, so a
    /// simulator started next on the same directory is the only writer.
    closed: AtomicBool,
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
    /// Media objects by id (bytes in [`Sim::store`]).
    pub media: HashMap<String, MediaObject>,
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

    /// What the snapshot keeps (see [`crate::persist`]).
    fn snapshot(&self) -> Snapshot {
        let mut used_codes: Vec<String> = self.used_codes.iter().cloned().collect();
        used_codes.sort();
        let mut subscribed: Vec<String> = self.subscribed.iter().cloned().collect();
        subscribed.sort();
        let mut registered: Vec<String> = self.registered.iter().cloned().collect();
        registered.sort();
        let mut wabas: Vec<&String> = self.templates.keys().collect();
        wabas.sort();
        let templates = wabas.into_iter().flat_map(|w| self.templates[w].iter().cloned()).collect();
        let mut media: Vec<MediaObject> = self.media.values().cloned().collect();
        media.sort_by(|a, b| a.id.cmp(&b.id));
        Snapshot { version: 0, used_codes, next_template: self.next_template, templates, subscribed, registered, media }
    }

    fn restore(&mut self, s: Snapshot, store: &Store) {
        self.used_codes = s.used_codes.into_iter().collect();
        self.next_template = s.next_template;
        for t in s.templates {
            self.templates.entry(t.waba_id.clone()).or_default().push(t);
        }
        self.subscribed = s.subscribed.into_iter().collect();
        self.registered = s.registered.into_iter().collect();
        let now = unix_now();
        for m in s.media {
            if m.expired(now) {
                store.delete_blob_now(&m.id);
            } else if store.has_blob(&m.id) {
                self.media.insert(m.id.clone(), m);
            } else {
                tracing::warn!(media_id = %m.id, "media bytes missing; dropping the media object");
            }
        }
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

pub fn unix_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

impl Sim {
    /// A simulator with the state found in `config.data_dir`, if any.
    pub fn new(config: SimConfig) -> std::io::Result<Self> {
        let mut inner = Inner { limits: Limits::new(Instant::now()), ..Inner::default() };
        let store = match &config.data_dir {
            Some(dir) => {
                let (store, snapshot) = Store::open(dir)?;
                if let Some(s) = snapshot {
                    inner.restore(s, &store);
                }
                store
            }
            None => Store::memory(),
        };
        Ok(Self {
            config: RwLock::new(config),
            inner: Mutex::new(inner),
            webhooks: Arc::new(Webhooks::new()),
            store,
            closed: AtomicBool::new(false),
        })
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Restarts the reviews of templates that were pending when the state was saved.
    pub fn resume_reviews(self: &Arc<Self>) {
        let pending: Vec<(String, u64)> = self
            .lock()
            .templates
            .values()
            .flatten()
            .filter(|t| t.status == TemplateStatus::Pending)
            .map(|t| (t.id.clone(), t.review_generation))
            .collect();
        for (id, generation) in pending {
            self.schedule_review(id, generation);
        }
    }

    /// Writes the durable state after a change (a no-op in memory). Call it without holding
    /// [`Sim::lock`]. A failed write is logged: the simulator keeps serving from memory.
    pub fn persist(&self) {
        if self.is_closed() {
            return;
        }
        if let Err(e) = self.store.save(|| self.lock().snapshot()) {
            tracing::error!(error = %e, "meta simulator: cannot write its state");
        }
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
            if sim.is_closed() {
                return; // the next simulator on this state resumes the review
            }
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
            sim.persist();
            sim.send_sequence(vec![Scheduled { delay: Duration::ZERO, body: webhook }], false);
        });
    }

    /// `sent`, `delivered`, `read` (or one `failed`) for an accepted message; `failure` makes
    /// it fail with that error (e.g. 131053 for media that cannot be sent).
    pub fn schedule_statuses(
        &self,
        business: &Business,
        phone: &PhoneNumber,
        msg: &SentMessage,
        category: &str,
        failure: Option<Value>,
    ) {
        let gap = self.config().status_delay;
        let opaque = msg.body.get("biz_opaque_callback_data").and_then(Value::as_str);
        let failure = if failure.is_some() {
            failure
        } else if msg.wa_id.ends_with("0000") {
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

    /// A customer's message, as Meta delivers it: `message` is the `messages[0]` object without
    /// `from`, `id` and `timestamp` (added here). Answers the new wamid.
    pub fn send_inbound(
        &self,
        business: &Business,
        phone: &PhoneNumber,
        from: &str,
        name: &str,
        message: serde_json::Map<String, Value>,
    ) -> String {
        let wamid = new_wamid(from);
        let mut m = serde_json::Map::new();
        if let Some(context) = message.get("context") {
            m.insert("context".into(), context.clone());
        }
        m.insert("from".into(), json!(from));
        m.insert("id".into(), json!(wamid));
        m.insert("timestamp".into(), json!(unix_now().to_string()));
        for (k, v) in message {
            m.entry(k).or_insert(v);
        }
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": business.waba_id,
                "changes": [{
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": { "display_phone_number": phone.display_digits(), "phone_number_id": phone.id },
                        "contacts": [{ "profile": { "name": name }, "wa_id": from }],
                        "messages": [Value::Object(m)]
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

/// A status webhook's `errors[0]`.
pub fn failure(code: u64, title: &str, details: &str) -> Value {
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
