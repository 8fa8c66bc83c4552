//! Meta's webhook payloads, parsed into the events the processor acts on.
//!
//! One delivery (`{"object", "entry": [{"id": <WABA id>, "changes": [{"field", "value"}]}]}`)
//! flattens into [`Event`]s, each with the routing keys (phone number id and/or WABA id) and a
//! derived [`Event::key`] that is the same every time Meta redelivers the same fact, so the
//! processor can apply each fact once. Fields we do not interpret are kept as raw JSON rather
//! than dropped; unknown `field`s become [`Event::Unhandled`] so nothing is silently lost.
//!
//! Every shape here is checked against the real bodies in `shared/fixtures/meta-webhooks`.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("webhook body is not JSON: {0}")]
    NotJson(String),
    #[error("not a WhatsApp Business Account webhook (object = {0:?})")]
    WrongObject(Option<String>),
}

#[derive(Deserialize)]
struct Delivery {
    object: Option<String>,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    /// The WABA id (for account-level fields it may be any id Meta chooses).
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    /// When Meta produced the notification (Unix seconds).
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    #[serde(default)]
    value: Value,
}

/// Who a `messages` change is about.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub display_phone_number: String,
    pub phone_number_id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
    pub username: Option<String>,
    pub country_code: Option<String>,
}

/// The customer. Username-only users have an empty `wa_id` (no phone) and a `user_id`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub profile: Profile,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub wa_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub parent_user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetaError {
    pub code: i64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorData {
    pub details: Option<String>,
}

impl MetaError {
    pub fn details(&self) -> Option<&str> {
        self.error_data.as_ref().and_then(|d| d.details.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: DeliveryStatus,
    pub timestamp: i64,
    pub recipient_id: Option<String>,
    pub recipient_user_id: Option<String>,
    /// Our message id, echoed back (we send it as `biz_opaque_callback_data`).
    pub biz_opaque_callback_data: Option<String>,
    pub errors: Vec<MetaError>,
    pub pricing: Option<Value>,
    pub conversation: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub wamid: String,
    /// Sender phone (empty for username-only users, then `from_user_id` is set).
    pub from: Option<String>,
    pub from_user_id: Option<String>,
    pub timestamp: i64,
    /// Meta's `type`: text, image, document, interactive, button, reaction, location, ...
    pub kind: String,
    /// What a person would read in an inbox: the text, caption, chosen reply, reaction emoji...
    pub text: Option<String>,
    /// For media: Meta's media id (downloadable with the business token).
    pub media_id: Option<String>,
    /// For replies to interactive messages and quick-reply buttons: the id/payload chosen.
    pub reply_id: Option<String>,
    /// The wamid this message replies to.
    pub context_id: Option<String>,
    /// Click-to-WhatsApp ad referral.
    pub referral: Option<Value>,
    /// The whole message object, kept for display and for fields not modelled here.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserPreference {
    pub wa_id: Option<String>,
    pub category: String,
    /// `stop` or `resume`.
    pub value: String,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Status {
        waba_id: String,
        metadata: Metadata,
        contact: Option<Contact>,
        status: StatusUpdate,
    },
    Inbound {
        waba_id: String,
        metadata: Metadata,
        contact: Option<Contact>,
        message: InboundMessage,
    },
    UserPreference {
        waba_id: String,
        metadata: Metadata,
        contact: Option<Contact>,
        preference: UserPreference,
    },
    /// `at` is the entry's `time`: a template edited and approved again sends the same event a
    /// second time, which must not be taken for a redelivery of the first.
    TemplateStatus {
        waba_id: String,
        template_id: String,
        name: String,
        language: String,
        event: String,
        reason: Option<String>,
        at: Option<i64>,
    },
    TemplateCategory {
        waba_id: String,
        template_id: String,
        name: String,
        language: String,
        new_category: String,
    },
    TemplateQuality {
        waba_id: String,
        template_id: String,
        name: String,
        language: String,
        new_quality: String,
    },
    /// `at` is the entry's `time`, part of the dedupe key: Meta sends the same account event
    /// again when it happens again, which must not be taken for a redelivery.
    AccountUpdate {
        waba_id: String,
        event: String,
        value: Value,
        at: Option<i64>,
    },
    /// `at` as for `AccountUpdate`: FLAGGED → UNFLAGGED → FLAGGED is three events.
    PhoneQuality {
        waba_id: String,
        display_phone_number: String,
        event: String,
        current_limit: Option<String>,
        at: Option<i64>,
    },
    /// A field we do not act on (or a malformed change): kept for inspection.
    Unhandled {
        waba_id: String,
        field: String,
        value: Value,
        reason: String,
    },
}

impl Event {
    /// The same for every redelivery of the same fact; distinct for distinct facts.
    pub fn key(&self) -> String {
        match self {
            Event::Status { status, .. } => format!("status:{}:{}", status.wamid, status.status.as_str()),
            Event::Inbound { message, .. } => format!("inbound:{}", message.wamid),
            Event::UserPreference { metadata, preference, contact, .. } => format!(
                "pref:{}:{}:{}:{}:{}",
                metadata.phone_number_id,
                preference.wa_id.as_deref().or(contact.as_ref().and_then(|c| c.user_id.as_deref())).unwrap_or(""),
                preference.category,
                preference.value,
                preference.timestamp
            ),
            Event::TemplateStatus { template_id, event, reason, at, .. } => {
                format!("tplstatus:{template_id}:{event}:{}:{}", reason.as_deref().unwrap_or(""), at.unwrap_or(0))
            }
            Event::TemplateCategory { template_id, new_category, .. } => format!("tplcat:{template_id}:{new_category}"),
            Event::TemplateQuality { template_id, new_quality, .. } => {
                format!("tplquality:{template_id}:{new_quality}")
            }
            Event::AccountUpdate { waba_id, event, value, at } => {
                format!("account:{waba_id}:{event}:{}:{}", short_hash(value), at.unwrap_or(0))
            }
            Event::PhoneQuality { waba_id, display_phone_number, event, current_limit, at } => format!(
                "phonequality:{waba_id}:{display_phone_number}:{event}:{}:{}",
                current_limit.as_deref().unwrap_or(""),
                at.unwrap_or(0)
            ),
            Event::Unhandled { waba_id, field, value, .. } => {
                format!("unhandled:{waba_id}:{field}:{}", short_hash(value))
            }
        }
    }

    /// The phone number id this event is about, when Meta says so (routing by number first).
    pub fn phone_number_id(&self) -> Option<&str> {
        match self {
            Event::Status { metadata, .. }
            | Event::Inbound { metadata, .. }
            | Event::UserPreference { metadata, .. } => Some(&metadata.phone_number_id),
            _ => None,
        }
    }

    pub fn waba_id(&self) -> &str {
        match self {
            Event::Status { waba_id, .. }
            | Event::Inbound { waba_id, .. }
            | Event::UserPreference { waba_id, .. }
            | Event::TemplateStatus { waba_id, .. }
            | Event::TemplateCategory { waba_id, .. }
            | Event::TemplateQuality { waba_id, .. }
            | Event::AccountUpdate { waba_id, .. }
            | Event::PhoneQuality { waba_id, .. }
            | Event::Unhandled { waba_id, .. } => waba_id,
        }
    }
}

/// Parses one webhook body into its events. A change that cannot be understood becomes
/// `Unhandled` (with the reason) instead of failing the whole delivery.
pub fn parse(body: &str) -> Result<Vec<Event>, PayloadError> {
    let delivery: Delivery = serde_json::from_str(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    if delivery.object.as_deref() != Some("whatsapp_business_account") {
        return Err(PayloadError::WrongObject(delivery.object));
    }
    let mut events = Vec::new();
    for entry in delivery.entry {
        for change in entry.changes {
            let waba_id = entry.id.clone();
            match parse_change(&waba_id, entry.time, &change) {
                Ok(mut evs) => events.append(&mut evs),
                Err(reason) => {
                    events.push(Event::Unhandled { waba_id, field: change.field, value: change.value, reason })
                }
            }
        }
    }
    Ok(events)
}

fn parse_change(waba_id: &str, time: Option<i64>, change: &Change) -> Result<Vec<Event>, String> {
    let v = &change.value;
    let waba_id = waba_id.to_string();
    match change.field.as_str() {
        "messages" | "user_preferences" => parse_messages_value(&waba_id, v),
        "message_template_status_update" => Ok(vec![Event::TemplateStatus {
            template_id: id_field(v, "message_template_id")?,
            name: str_field(v, "message_template_name").unwrap_or_default(),
            language: str_field(v, "message_template_language").unwrap_or_default(),
            event: str_field(v, "event").ok_or("template status without event")?,
            reason: str_field(v, "reason").filter(|r| r != "NONE"),
            at: time,
            waba_id,
        }]),
        "template_category_update" => Ok(vec![Event::TemplateCategory {
            template_id: id_field(v, "message_template_id")?,
            name: str_field(v, "message_template_name").unwrap_or_default(),
            language: str_field(v, "message_template_language").unwrap_or_default(),
            new_category: str_field(v, "new_category").ok_or("category update without new_category")?,
            waba_id,
        }]),
        "message_template_quality_update" => Ok(vec![Event::TemplateQuality {
            template_id: id_field(v, "message_template_id")?,
            name: str_field(v, "message_template_name").unwrap_or_default(),
            language: str_field(v, "message_template_language").unwrap_or_default(),
            new_quality: str_field(v, "new_quality_score").ok_or("quality update without new_quality_score")?,
            waba_id,
        }]),
        "account_update" => Ok(vec![Event::AccountUpdate {
            event: str_field(v, "event").ok_or("account_update without event")?,
            value: v.clone(),
            at: time,
            waba_id,
        }]),
        "phone_number_quality_update" => Ok(vec![Event::PhoneQuality {
            display_phone_number: str_field(v, "display_phone_number").unwrap_or_default(),
            event: str_field(v, "event").ok_or("phone quality update without event")?,
            current_limit: str_field(v, "current_limit"),
            at: time,
            waba_id,
        }]),
        other => Err(format!("field {other} is not handled")),
    }
}

#[derive(Deserialize)]
struct MessagesValue {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    statuses: Vec<Value>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    user_preferences: Vec<Value>,
}

fn parse_messages_value(waba_id: &str, v: &Value) -> Result<Vec<Event>, String> {
    let value: MessagesValue = serde_json::from_value(v.clone()).map_err(|e| format!("messages value: {e}"))?;
    let contact_for = |wa_id: Option<&str>, user_id: Option<&str>| -> Option<Contact> {
        value
            .contacts
            .iter()
            .find(|c| {
                (wa_id.is_some() && c.wa_id.as_deref() == wa_id)
                    || (user_id.is_some() && c.user_id.as_deref() == user_id)
            })
            .or_else(|| (value.contacts.len() == 1).then(|| &value.contacts[0]))
            .cloned()
    };
    let mut events = Vec::new();
    for s in &value.statuses {
        let status = parse_status(s)?;
        let contact = contact_for(status.recipient_id.as_deref(), status.recipient_user_id.as_deref());
        events.push(Event::Status { waba_id: waba_id.into(), metadata: value.metadata.clone(), contact, status });
    }
    for m in &value.messages {
        let message = parse_inbound(m)?;
        let contact = contact_for(message.from.as_deref(), message.from_user_id.as_deref());
        events.push(Event::Inbound { waba_id: waba_id.into(), metadata: value.metadata.clone(), contact, message });
    }
    for p in &value.user_preferences {
        let preference = UserPreference {
            wa_id: str_field(p, "wa_id").filter(|s| !s.is_empty()),
            category: str_field(p, "category").unwrap_or_default(),
            value: str_field(p, "value").ok_or("user preference without value")?,
            timestamp: int_field(p, "timestamp").unwrap_or(0),
        };
        let contact = contact_for(preference.wa_id.as_deref(), None);
        events.push(Event::UserPreference {
            waba_id: waba_id.into(),
            metadata: value.metadata.clone(),
            contact,
            preference,
        });
    }
    Ok(events)
}

fn parse_status(s: &Value) -> Result<StatusUpdate, String> {
    let raw_status = str_field(s, "status").ok_or("status without status")?;
    Ok(StatusUpdate {
        wamid: str_field(s, "id").ok_or("status without id")?,
        status: DeliveryStatus::parse(&raw_status).ok_or_else(|| format!("unknown status {raw_status}"))?,
        timestamp: int_field(s, "timestamp").unwrap_or(0),
        recipient_id: str_field(s, "recipient_id").filter(|r| !r.is_empty()),
        recipient_user_id: str_field(s, "recipient_user_id").filter(|r| !r.is_empty()),
        biz_opaque_callback_data: str_field(s, "biz_opaque_callback_data"),
        errors: s
            .get("errors")
            .map(|e| serde_json::from_value(e.clone()))
            .transpose()
            .map_err(|e| format!("errors: {e}"))?
            .unwrap_or_default(),
        pricing: s.get("pricing").cloned(),
        conversation: s.get("conversation").cloned(),
    })
}

fn parse_inbound(m: &Value) -> Result<InboundMessage, String> {
    let kind = str_field(m, "type").ok_or("message without type")?;
    let body = m.get(&kind);
    let text_of = |path: &[&str]| -> Option<String> {
        let mut cur = body?;
        for p in path {
            cur = cur.get(*p)?;
        }
        cur.as_str().map(str::to_string)
    };
    let (text, media_id, reply_id) = match kind.as_str() {
        "text" => (text_of(&["body"]), None, None),
        "image" | "video" | "document" | "audio" | "sticker" => {
            (text_of(&["caption"]).or_else(|| text_of(&["filename"])), text_of(&["id"]), None)
        }
        "button" => (text_of(&["text"]), None, text_of(&["payload"])),
        "interactive" => match body.and_then(|b| b.get("type")).and_then(Value::as_str) {
            Some("button_reply") => (text_of(&["button_reply", "title"]), None, text_of(&["button_reply", "id"])),
            Some("list_reply") => (text_of(&["list_reply", "title"]), None, text_of(&["list_reply", "id"])),
            Some("nfm_reply") => (text_of(&["nfm_reply", "body"]), None, text_of(&["nfm_reply", "name"])),
            _ => (None, None, None),
        },
        "reaction" => (text_of(&["emoji"]), None, text_of(&["message_id"])),
        "location" => {
            let loc = body.cloned().unwrap_or_default();
            let name = loc.get("name").and_then(Value::as_str).map(str::to_string);
            let coords = match (loc.get("latitude"), loc.get("longitude")) {
                (Some(a), Some(b)) => Some(format!("{a},{b}")),
                _ => None,
            };
            (name.or(coords), None, None)
        }
        _ => (None, None, None),
    };
    Ok(InboundMessage {
        wamid: str_field(m, "id").ok_or("message without id")?,
        from: str_field(m, "from").filter(|f| !f.is_empty()),
        from_user_id: str_field(m, "from_user_id").filter(|f| !f.is_empty()),
        timestamp: int_field(m, "timestamp").unwrap_or(0),
        kind,
        text,
        media_id,
        reply_id,
        context_id: m.get("context").and_then(|c| c.get("id")).and_then(Value::as_str).map(str::to_string),
        referral: m.get("referral").cloned(),
        raw: m.clone(),
    })
}

fn str_field(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Meta sends ids as numbers in some fields and strings in others.
fn id_field(v: &Value, name: &str) -> Result<String, String> {
    str_field(v, name).filter(|s| !s.is_empty()).ok_or_else(|| format!("missing {name}"))
}

/// Timestamps arrive as strings ("1698266945") or numbers.
fn int_field(v: &Value, name: &str) -> Option<i64> {
    match v.get(name)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn short_hash(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    crate::util::hex(&Sha256::digest(v.to_string().as_bytes())[..8])
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("expected an id, got {other}"))),
    }
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}
