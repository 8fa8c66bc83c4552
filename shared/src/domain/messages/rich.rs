//! What a customer's non-text message carries, as structured data on the message (SPEC → Media
//! and rich messages: "inbound interactive replies, buttons, reactions, locations and contacts
//! show in the thread and reach the callback"). Read from Meta's message object; the message's
//! `text` stays the readable line the inbox list shows.
//!
//! - `interactive`: `{type: "button_reply" | "list_reply" | "button" | "nfm_reply", id, title,
//!   description?, response?}` — the reply button or list row chosen (`button`: a template's
//!   quick-reply button, `id` its payload; `nfm_reply`: a Flow's answer, `response` its fields);
//! - `reaction`: `{emoji, wamid, message_id?}` — `emoji` empty when the reaction was removed,
//!   `message_id` ours when the message reacted to is known;
//! - `location`: `{latitude, longitude, name?, address?, url?}`;
//! - `contacts`: `[{name, phones: ["+1 555-555-0123", ...]}]`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The structured parts of one inbound message (all `None` for text and media).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rich {
    pub interactive: Option<Value>,
    pub reaction: Option<Value>,
    pub location: Option<Value>,
    pub contacts: Option<Value>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |cur, p| cur.get(*p))?.as_str()
}

/// Keeps the listed fields of `object` that are present (and not null).
fn pick(object: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| object.get(*f).filter(|v| !v.is_null()).map(|v| ((*f).to_owned(), v.clone())))
        .collect()
}

/// The structured data of Meta's inbound message object `raw` of type `kind`.
pub fn inbound(kind: &str, raw: &Value) -> Rich {
    let body = raw.get(kind).cloned().unwrap_or(Value::Null);
    let mut rich = Rich::default();
    match kind {
        "interactive" => {
            let sub = str_at(&body, &["type"]).unwrap_or_default();
            let chosen = body.get(sub).cloned().unwrap_or(Value::Null);
            rich.interactive = match sub {
                "button_reply" | "list_reply" => {
                    let mut out = pick(&chosen, &["id", "title", "description"]);
                    out.insert("type".into(), json!(sub));
                    Some(Value::Object(out))
                }
                "nfm_reply" => {
                    // The Flow's answer: `response_json` is a JSON object in a string.
                    let response =
                        str_at(&chosen, &["response_json"]).and_then(|r| serde_json::from_str::<Value>(r).ok());
                    Some(json!({"type": "nfm_reply", "id": chosen.get("name"), "title": chosen.get("body"),
                        "response": response}))
                }
                _ => None,
            };
        }
        "button" => {
            rich.interactive = Some(json!({"type": "button", "id": body.get("payload"), "title": body.get("text")}));
        }
        "reaction" => {
            rich.reaction = Some(json!({"emoji": body.get("emoji").cloned().unwrap_or(json!("")),
                "wamid": body.get("message_id")}));
        }
        "location" => {
            let out = pick(&body, &["latitude", "longitude", "name", "address", "url"]);
            rich.location = (!out.is_empty()).then_some(Value::Object(out));
        }
        "contacts" => {
            let list: Vec<Value> = body
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let name = str_at(c, &["name", "formatted_name"]).map(str::to_owned).unwrap_or_else(|| {
                        [str_at(c, &["name", "first_name"]), str_at(c, &["name", "last_name"])]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" ")
                    });
                    let phones: Vec<&str> = c
                        .get("phones")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| str_at(p, &["phone"]).or_else(|| str_at(p, &["wa_id"])))
                        .collect();
                    json!({"name": name, "phones": phones})
                })
                .collect();
            rich.contacts = (!list.is_empty()).then_some(Value::Array(list));
        }
        _ => {}
    }
    rich
}

/// [`inbound`] for a received message of `tenant_id`, a reaction's `message_id` found by wamid.
pub async fn of(
    ports: &crate::ports::Ports,
    tenant_id: &str,
    message: &crate::domain::webhooks::payload::InboundMessage,
) -> Result<Rich, crate::ports::table::TableError> {
    let mut rich = inbound(&message.kind, &message.raw);
    if let Some(reaction) = rich.reaction.as_mut()
        && let Some(wamid) = reaction.get("wamid").and_then(Value::as_str).map(str::to_owned)
        && let Some(item) =
            crate::store::messages::Messages::new(&*ports.table).find_by_wamid(tenant_id, &wamid).await?
        && let Some(id) = item.get_str("id")
    {
        reaction["message_id"] = json!(id);
    }
    Ok(rich)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &str) -> (String, Value) {
        let start = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = start
            .ancestors()
            .map(|d| d.join("shared/fixtures/meta-webhooks").join(name))
            .find(|p| p.exists())
            .expect("fixture exists");
        let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let m = body["entry"][0]["changes"][0]["value"]["messages"][0].clone();
        (m["type"].as_str().unwrap().to_owned(), m)
    }

    #[test]
    fn metas_fixtures() {
        let (kind, m) = message("inbound_interactive_button_reply.json");
        assert_eq!(
            inbound(&kind, &m).interactive,
            Some(json!({"type": "button_reply", "id": "callback_data", "title": "title"}))
        );
        let (kind, m) = message("inbound_interactive_list_reply.json");
        assert_eq!(inbound(&kind, &m).interactive.unwrap()["type"], "list_reply");
        let (kind, m) = message("inbound_template_quick_reply_button.json");
        assert_eq!(
            inbound(&kind, &m).interactive,
            Some(json!({"type": "button", "id": "callback_data", "title": "title"}))
        );
        let (kind, m) = message("inbound_flow_nfm_reply.json");
        let flow = inbound(&kind, &m).interactive.unwrap();
        assert_eq!((&flow["id"], &flow["title"]), (&json!("flow"), &json!("Sent")));
        assert_eq!(flow["response"]["delivery_rating"], "4");
        let (kind, m) = message("inbound_text.json");
        assert_eq!(inbound(&kind, &m), Rich::default());
    }

    #[test]
    fn reactions_locations_contacts() {
        let r = inbound("reaction", &json!({"type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": "👍"}}));
        assert_eq!(r.reaction, Some(json!({"emoji": "👍", "wamid": "wamid.A"})));
        let l = inbound(
            "location",
            &json!({"type": "location", "location": {"latitude": 1.5, "longitude": -2.25, "name": "HQ"}}),
        );
        assert_eq!(l.location, Some(json!({"latitude": 1.5, "longitude": -2.25, "name": "HQ"})));
        let c = inbound(
            "contacts",
            &json!({"type": "contacts", "contacts": [
            {"name": {"first_name": "Ana", "last_name": "Silva"}, "phones": [{"phone": "+1 555-555-0123", "wa_id": "15555550123"}]}]}),
        );
        assert_eq!(c.contacts, Some(json!([{"name": "Ana Silva", "phones": ["+1 555-555-0123"]}])));
    }
}
