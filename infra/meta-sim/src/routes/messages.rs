//! `POST /{phone}/messages`: validation (text, media by id or link, interactive buttons and
//! lists, templates with their media header), the throughput and pair-rate limits, then the
//! status webhooks. What was sent is recorded with the media it carries, resolved to the
//! uploaded objects, so tests can check the bytes Meta "received".

use std::time::Instant;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{ok, own_phone};
use crate::business::Business;
use crate::errors::GraphError;
use crate::limits::Refusal;
use crate::media::{self, Kind};
use crate::state::{SentMedia, SentMessage, Sim, failure, new_wamid, unix_now_ms};

pub fn throughput_error() -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 130429, "OAuthException", "(#130429) Rate limit hit")
        .details("Cloud API message throughput has been reached.")
        .messaging()
}

fn pair_error() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        131056,
        "OAuthException",
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    )
    .details(
        "Message failed to send because there were too many messages sent from this phone number to the same \
         phone number in a short period of time.",
    )
    .messaging()
}

fn required(what: &str) -> GraphError {
    GraphError::invalid_param(format!("The parameter {what} is required.")).messaging()
}

/// 131008: a parameter the message type needs is missing.
fn missing(details: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 131008, "OAuthException", "(#131008) Required parameter is missing")
        .details(details)
        .messaging()
}

/// 131009: a parameter is there but not acceptable.
fn invalid(details: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 131009, "OAuthException", "(#131009) Parameter value is not valid")
        .details(details)
        .messaging()
}

/// Meta's answer when a template's header is not supplied as it was created (whatomate #223).
fn header_mismatch(expected: &str, received: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        132012,
        "OAuthException",
        "(#132012) Parameter format does not match format in the created template",
    )
    .details(format!("header: Format mismatch, expected {expected}, received {received}"))
    .messaging()
}

/// What a message carries besides its text: media items, and a failure the status webhooks
/// will report (media Meta accepts at the API but cannot deliver).
#[derive(Default)]
struct Carried {
    media: Vec<SentMedia>,
    failure: Option<Value>,
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Carried {
    /// One media object (`{id | link, caption?, filename?}`) of `kind` at `param`.
    fn media(
        &mut self,
        sim: &Sim,
        business: &Business,
        kind: Kind,
        obj: Option<&Value>,
        param: &str,
        slot: &str,
    ) -> Result<(), GraphError> {
        let obj = obj.filter(|o| o.is_object()).ok_or_else(|| required(param))?;
        let id = match obj.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let link = str_of(obj, "link").map(str::to_owned);
        let caption = str_of(obj, "caption").map(str::to_owned);
        if caption.as_deref().is_some_and(|c| c.chars().count() > 1024) {
            return Err(invalid(format!("{param}['caption'] is longer than 1024 characters.")));
        }
        let mut item = SentMedia {
            kind: kind.as_str().to_owned(),
            slot: slot.to_owned(),
            id: None,
            link: None,
            mime_type: None,
            sha256: None,
            file_size: None,
            caption,
            filename: str_of(obj, "filename").map(str::to_owned),
        };
        match (id, link) {
            (None, None) => return Err(missing(format!("Either {param}['id'] or {param}['link'] is required."))),
            (Some(_), Some(_)) => {
                return Err(invalid(format!("Provide only one of {param}['id'] and {param}['link'].")));
            }
            (None, Some(link)) => {
                if !(link.starts_with("https://") || link.starts_with("http://")) {
                    return Err(invalid(format!("{param}['link'] is not a valid URL.")));
                }
                item.link = Some(link);
            }
            (Some(id), None) => {
                let object = sim
                    .lock()
                    .media
                    .get(&id)
                    .filter(|m| business.phone(&m.phone_number_id).is_some())
                    .cloned()
                    .ok_or_else(|| invalid(format!("{param}['id'] {id} is not a valid media id for this account.")))?;
                // Accepted at the API; the delivery fails, as Meta reports media it cannot send.
                if !media::fits(kind, &object.mime_type) && self.failure.is_none() {
                    self.failure = Some(failure(
                        131053,
                        "Media upload error",
                        &format!("Media of type {} cannot be sent as {}.", object.mime_type, kind.as_str()),
                    ));
                }
                item.mime_type = Some(object.mime_type);
                item.sha256 = Some(object.sha256);
                item.file_size = Some(object.file_size);
                item.filename = item.filename.or(object.filename);
                item.id = Some(id);
            }
        }
        self.media.push(item);
        Ok(())
    }

    /// `interactive` of type `button` or `list` is checked against Meta's limits; other types
    /// (cta_url, flow, product…) are accepted as sent. A media header is resolved like media.
    fn interactive(&mut self, sim: &Sim, business: &Business, obj: Option<&Value>) -> Result<(), GraphError> {
        let i = obj.filter(|o| o.is_object()).ok_or_else(|| required("interactive"))?;
        let kind = str_of(i, "type").ok_or_else(|| required("interactive['type']"))?;
        if matches!(kind, "button" | "list") {
            let body = i.get("body").and_then(|b| str_of(b, "text")).unwrap_or_default();
            if body.is_empty() {
                return Err(missing("interactive['body']['text'] is required."));
            }
            if body.chars().count() > 1024 {
                return Err(invalid("interactive['body']['text'] is longer than 1024 characters."));
            }
        }
        let action = i.get("action");
        match kind {
            "button" => check_buttons(action)?,
            "list" => check_list(action)?,
            _ => {}
        }
        if let Some(header) = i.get("header")
            && let Some(k) = str_of(header, "type").and_then(Kind::parse)
        {
            self.media(
                sim,
                business,
                k,
                header.get(k.as_str()),
                &format!("interactive['header']['{}']", k.as_str()),
                "header",
            )?;
        }
        Ok(())
    }
}

fn text_len_ok(v: Option<&str>, max: usize) -> bool {
    v.is_some_and(|s| !s.is_empty() && s.chars().count() <= max)
}

/// `interactive['action'][key]`: an array of 1 to `max` items.
fn items<'a>(action: Option<&'a Value>, key: &str, max: usize) -> Result<&'a Vec<Value>, GraphError> {
    let list = action
        .and_then(|a| a.get(key))
        .and_then(Value::as_array)
        .ok_or_else(|| missing(format!("interactive['action']['{key}'] is required.")))?;
    if list.is_empty() || list.len() > max {
        return Err(invalid(format!("interactive['action']['{key}'] must have between 1 and {max} items.")));
    }
    Ok(list)
}

/// 1–3 reply buttons, titles 1–20 characters, ids 1–256, both unique.
fn check_buttons(action: Option<&Value>) -> Result<(), GraphError> {
    let buttons = items(action, "buttons", 3)?;
    let mut seen = Vec::new();
    for b in buttons {
        let reply = b.get("reply");
        let (id, title) = (reply.and_then(|r| str_of(r, "id")), reply.and_then(|r| str_of(r, "title")));
        if !text_len_ok(title, 20) {
            return Err(invalid("Button title length invalid. Min length: 1, Max length: 20"));
        }
        if !text_len_ok(id, 256) {
            return Err(invalid("Button id length invalid. Min length: 1, Max length: 256"));
        }
        if seen.contains(&id) || seen.contains(&title) {
            return Err(invalid("Button ids and titles must be unique."));
        }
        seen.extend([id, title]);
    }
    Ok(())
}

/// A button label of 1–20 characters, 1–10 sections (titled when more than one) holding 1–10
/// rows in all, row titles 1–24, descriptions up to 72, row ids unique.
fn check_list(action: Option<&Value>) -> Result<(), GraphError> {
    let action = action.ok_or_else(|| missing("interactive['action'] is required."))?;
    if !text_len_ok(str_of(action, "button"), 20) {
        return Err(invalid("List button length invalid. Min length: 1, Max length: 20"));
    }
    let sections = items(Some(action), "sections", 10)?;
    let mut ids = Vec::new();
    for s in sections {
        if sections.len() > 1 && !text_len_ok(str_of(s, "title"), 24) {
            return Err(invalid("Section title length invalid. Min length: 1, Max length: 24"));
        }
        for row in s.get("rows").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            if !text_len_ok(str_of(row, "title"), 24) {
                return Err(invalid("Row title length invalid. Min length: 1, Max length: 24"));
            }
            if str_of(row, "description").is_some_and(|d| d.chars().count() > 72) {
                return Err(invalid("Row description length invalid. Max length: 72"));
            }
            let id = str_of(row, "id").filter(|i| !i.is_empty() && i.chars().count() <= 200);
            let id = id.ok_or_else(|| invalid("Row id length invalid. Min length: 1, Max length: 200"))?;
            if ids.contains(&id) {
                return Err(invalid("Row ids must be unique."));
            }
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > 10 {
        return Err(invalid("Total row count exceed max allowed count: 10"));
    }
    Ok(())
}

/// A template send: name and language, then the header the template was created with. Answers
/// the pricing category (the template's, when the simulator knows it).
fn template(
    sim: &Sim,
    business: &Business,
    body: &Map<String, Value>,
    carried: &mut Carried,
) -> Result<String, GraphError> {
    let t = body.get("template").ok_or_else(|| required("template"))?;
    let name = str_of(t, "name").ok_or_else(|| required("template['name']"))?;
    let lang =
        t.get("language").and_then(|l| str_of(l, "code")).ok_or_else(|| required("template['language']['code']"))?;
    let record = sim.templates_of(&business.waba_id).into_iter().find(|t| t.name == name && t.language == lang);
    let header = t
        .get("components")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| str_of(c, "type").is_some_and(|k| k.eq_ignore_ascii_case("header"))))
        .and_then(|h| h.get("parameters"))
        .and_then(Value::as_array)
        .and_then(|ps| ps.first());
    let header_kind = header.and_then(|p| str_of(p, "type")).map(str::to_ascii_uppercase);
    if let Some(expected) = record.as_ref().and_then(|r| r.media_header())
        && header_kind.as_deref() != Some(expected.as_str())
    {
        return Err(header_mismatch(&expected, header_kind.as_deref().unwrap_or("UNKNOWN")));
    }
    if let (Some(p), Some(k)) = (header, header_kind.as_deref().and_then(|k| Kind::parse(&k.to_ascii_lowercase()))) {
        let param = format!("template['components'][header]['parameters'][0]['{}']", k.as_str());
        carried.media(sim, business, k, p.get(k.as_str()), &param, "header")?;
    }
    // Pricing follows the template's category when the simulator knows the template.
    Ok(record.map(|t| t.category.to_ascii_lowercase()).unwrap_or_else(|| "utility".into()))
}

pub fn send(sim: &Sim, business: &Business, phone_id: &str, body: &Map<String, Value>) -> Result<Response, GraphError> {
    let phone = own_phone(business, phone_id, &Method::POST)?;
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(required("messaging_product"));
    }
    let to = body.get("to").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| required("to"))?;
    let wa_id: String = to.chars().filter(char::is_ascii_digit).collect();
    if wa_id.len() < 5 {
        return Err(
            GraphError::invalid_param(format!("Param to is not a valid WhatsApp user phone number: {to}")).messaging()
        );
    }
    let kind = body.get("type").and_then(Value::as_str).unwrap_or("text");
    let mut carried = Carried::default();
    let category = match kind {
        "text" => {
            body.get("text")
                .and_then(|t| t.get("body"))
                .and_then(Value::as_str)
                .ok_or_else(|| required("text['body']"))?;
            "service".to_owned()
        }
        "template" => template(sim, business, body, &mut carried)?,
        "interactive" => {
            carried.interactive(sim, business, body.get("interactive"))?;
            "service".to_owned()
        }
        other => {
            if let Some(k) = Kind::parse(other) {
                carried.media(sim, business, k, body.get(other), other, "message")?;
            }
            "service".to_owned()
        }
    };
    let config = sim.config();
    let msg = {
        let mut inner = sim.lock();
        match inner.limits.admit(&phone.id, &wa_id, config.throughput_per_second, config.pair_interval, Instant::now())
        {
            Err(Refusal::Throughput) => {
                inner.counts.throughput_refused += 1;
                return Err(throughput_error());
            }
            Err(Refusal::Pair) => {
                inner.counts.pair_refused += 1;
                return Err(pair_error());
            }
            Ok(()) => {}
        }
        let msg = SentMessage {
            wamid: new_wamid(&wa_id),
            phone_number_id: phone.id.clone(),
            to: to.to_owned(),
            wa_id: wa_id.clone(),
            body: Value::Object(body.clone()),
            media: carried.media,
            accepted_at_ms: unix_now_ms(),
        };
        inner.record_sent(msg.clone());
        msg
    };
    sim.schedule_statuses(business, phone, &msg, &category, carried.failure);
    Ok(ok(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": wa_id }],
        "messages": [{ "id": msg.wamid }]
    })))
}
