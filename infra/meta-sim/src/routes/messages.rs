//! `POST /{phone}/messages`: validation, the throughput and pair-rate limits, then the status
//! webhooks.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{ok, own_phone};
use crate::business::Business;
use crate::errors::GraphError;
use crate::limits::Refusal;
use crate::state::{SentMessage, Sim, new_wamid};

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
    let category = match kind {
        "text" => {
            body.get("text")
                .and_then(|t| t.get("body"))
                .and_then(Value::as_str)
                .ok_or_else(|| required("text['body']"))?;
            "service".to_owned()
        }
        "template" => {
            let t = body.get("template").ok_or_else(|| required("template"))?;
            let name = t.get("name").and_then(Value::as_str).ok_or_else(|| required("template['name']"))?;
            let lang = t
                .get("language")
                .and_then(|l| l.get("code"))
                .and_then(Value::as_str)
                .ok_or_else(|| required("template['language']['code']"))?;
            // Pricing follows the template's category when the simulator knows the template.
            sim.templates_of(&business.waba_id)
                .iter()
                .find(|t| t.name == name && t.language == lang)
                .map(|t| t.category.to_ascii_lowercase())
                .unwrap_or_else(|| "utility".into())
        }
        _ => "service".to_owned(),
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
        };
        inner.record_sent(msg.clone());
        msg
    };
    sim.schedule_statuses(business, phone, &msg, &category);
    Ok(ok(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": wa_id }],
        "messages": [{ "id": msg.wamid }]
    })))
}
