//! Test hooks (`/_sim/...`): what happens on Meta's side without the platform asking — a
//! customer writes, an operator edits templates in WhatsApp Manager — and what tests inspect:
//! the messages Meta "received" with their media, media bytes, a number's accept times.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Params, media as media_routes, ok, templates};
use crate::business::{Business, PhoneNumber};
use crate::errors::GraphError;
use crate::media::{Kind, MediaObject, Origin};
use crate::state::Sim;
use crate::templates::TemplateStatus;

/// `POST /_sim/inbound`: `type` defaults to `text`. Type-specific objects in Meta's shape
/// (`interactive`, `reaction`, `location`, `contacts`, `button`) are sent as given; without
/// one, a typical example is built from the convenience fields.
#[derive(Deserialize)]
pub struct Inbound {
    phone_number_id: String,
    from: String,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    /// Media: the caption, the document's file name, a variant (`image/png`, `text/plain`),
    /// a minimum size in bytes, whether audio is a voice note.
    caption: Option<String>,
    filename: Option<String>,
    mime_type: Option<String>,
    size: Option<usize>,
    voice: Option<bool>,
    /// The wamid of the business message this one answers (interactive replies, reactions).
    context_id: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

fn bad(what: impl Into<String>) -> Response {
    GraphError::invalid_param(what).into_response()
}

/// A customer sends a message: the signed inbound webhook goes to the platform. Answers the
/// wamid (and, for media, the media id and its hex SHA-256).
pub async fn inbound(State(sim): State<Arc<Sim>>, Json(req): Json<Inbound>) -> Response {
    let Some((business, phone)) = Business::from_phone_id(&req.phone_number_id) else {
        return GraphError::unknown_object(&req.phone_number_id, "post").into_response();
    };
    let from: String = req.from.chars().filter(char::is_ascii_digit).collect();
    if from.len() < 5 {
        return bad("from must be a phone number");
    }
    let name = req.name.clone().unwrap_or_else(|| format!("Customer {}", &from[from.len() - 4..]));
    let kind = req.kind.clone().unwrap_or_else(|| "text".into());
    let mut answer = json!({});
    let mut message = Map::new();
    if let Some(id) = &req.context_id {
        message.insert("context".into(), json!({ "from": phone.display_digits(), "id": id }));
    }
    message.insert("type".into(), json!(kind));
    let payload = match kind.as_str() {
        "text" => match &req.text {
            Some(t) => json!({ "body": t }),
            None => return bad("text is required for a text message"),
        },
        k => match Kind::parse(k) {
            Some(media_kind) => match inbound_media(&sim, &phone, media_kind, &req, &from).await {
                Ok((object, payload)) => {
                    answer = json!({ "media_id": object.id, "sha256": object.sha256, "mime_type": object.mime_type });
                    payload
                }
                Err(r) => return r,
            },
            None => match req.rest.get(k).cloned().or_else(|| example(k, &req)) {
                Some(v) => v,
                None => return bad(format!("unknown type {k} (or a reaction without context_id)")),
            },
        },
    };
    message.insert(kind, payload);
    let wamid = sim.send_inbound(&business, &phone, &from, &name, message);
    answer["wamid"] = json!(wamid);
    ok(answer)
}

/// A generated file of `kind`, stored as a media object of the number and described the way
/// Meta's webhook does (`sha256` base64).
async fn inbound_media(
    sim: &Sim,
    phone: &PhoneNumber,
    kind: Kind,
    req: &Inbound,
    from: &str,
) -> Result<(MediaObject, Value), Response> {
    let label = req.caption.clone().or_else(|| req.filename.clone()).unwrap_or_else(|| format!("From {from}"));
    // Never past Meta's limit for the kind (the platform must be able to take what Meta sends).
    let size = req.size.unwrap_or(0).min(kind.max_size() as usize);
    let sample = crate::samples::sample(kind, req.mime_type.as_deref(), &label, size);
    let filename = (kind == Kind::Document).then(|| req.filename.clone().unwrap_or(sample.filename.clone()));
    let object = MediaObject::new(&phone.id, &sample.mime_type, &sample.bytes, filename.clone(), Origin::Inbound);
    media_routes::store_media(sim, object.clone(), Bytes::from(sample.bytes))
        .await
        .map_err(IntoResponse::into_response)?;
    let mut payload = Map::new();
    if let Some(c) = &req.caption
        && matches!(kind, Kind::Image | Kind::Video | Kind::Document)
    {
        payload.insert("caption".into(), json!(c));
    }
    if let Some(f) = filename {
        payload.insert("filename".into(), json!(f));
    }
    payload.insert("mime_type".into(), json!(object.mime_type));
    payload.insert("sha256".into(), json!(object.sha256_base64()));
    payload.insert("id".into(), json!(object.id));
    match kind {
        Kind::Audio => {
            payload.insert("voice".into(), json!(req.voice.unwrap_or(false)));
        }
        Kind::Sticker => {
            payload.insert("animated".into(), json!(false));
        }
        _ => {}
    }
    Ok((object, Value::Object(payload)))
}

/// A typical payload of each non-media type (Meta's shapes, see shared/fixtures/meta-webhooks).
fn example(kind: &str, req: &Inbound) -> Option<Value> {
    Some(match kind {
        "interactive" => json!({ "type": "button_reply", "button_reply": { "id": "yes", "title": "Yes" } }),
        "button" => json!({ "payload": "Yes", "text": "Yes" }),
        "reaction" => json!({ "message_id": req.context_id.clone()?, "emoji": "\u{1F44D}" }),
        "location" => json!({
            "latitude": 37.4611978,
            "longitude": -122.2164385,
            "name": "Facebook HQ",
            "address": "1 Hacker Way, Menlo Park, CA 94025"
        }),
        "contacts" => json!([{
            "name": { "first_name": "Ana", "last_name": "Silva", "formatted_name": "Ana Silva" },
            "phones": [{ "phone": "+1 555-555-0123", "wa_id": "15555550123", "type": "CELL" }]
        }]),
        _ => return None,
    })
}

/// Creates a template directly: `{waba_id, name, language, category, components, status?}`;
/// status defaults to APPROVED and no webhook is sent (reconciliation must find it).
pub async fn create_template(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => return GraphError::invalid_param("Request body must be a JSON object.").into_response(),
    };
    let Some(waba_id) = body.get("waba_id").and_then(Value::as_str).map(str::to_owned) else {
        return GraphError::invalid_param("The parameter waba_id is required.").into_response();
    };
    let status = match body.get("status").and_then(Value::as_str) {
        None => TemplateStatus::Approved,
        Some(s) => match TemplateStatus::parse(s) {
            Some(st) => st,
            None => return GraphError::invalid_param("status must be PENDING, APPROVED or REJECTED").into_response(),
        },
    };
    match templates::insert(&sim, &waba_id, &body, status) {
        Ok(t) => (StatusCode::CREATED, Json(t.to_json(None))).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn delete_template(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let found = {
        let mut inner = sim.lock();
        let mut found = false;
        for list in inner.templates.values_mut() {
            let before = list.len();
            list.retain(|t| t.id != id);
            found |= list.len() != before;
        }
        found
    };
    if !found {
        return GraphError::unknown_object(&id, "delete").into_response();
    }
    sim.persist();
    ok(json!({ "success": true }))
}

/// `GET /_sim/messages[?phone_number_id=&to=]`: accepted messages, oldest first, with their media.
pub async fn messages(State(sim): State<Arc<Sim>>, Query(q): Query<Params>) -> Response {
    let to = q.get("to").map(|t| t.chars().filter(char::is_ascii_digit).collect::<String>());
    let data: Vec<_> = sim
        .sent_messages()
        .into_iter()
        .filter(|m| q.get("phone_number_id").is_none_or(|p| *p == m.phone_number_id))
        .filter(|m| to.as_ref().is_none_or(|t| *t == m.wa_id))
        .collect();
    ok(json!({ "data": data }))
}

/// `GET /_sim/messages/{wamid}`.
pub async fn message(State(sim): State<Arc<Sim>>, Path(wamid): Path<String>) -> Response {
    match sim.sent_messages().into_iter().find(|m| m.wamid == wamid) {
        Some(m) => ok(json!(m)),
        None => GraphError::unknown_object(&wamid, "get").into_response(),
    }
}

/// `GET /_sim/media/{id}`: the media object's metadata.
pub async fn media_info(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    match sim.lock().media.get(&id) {
        Some(m) => ok(json!(m)),
        None => GraphError::unknown_object(&id, "get").into_response(),
    }
}

/// `GET /_sim/media/{id}/bytes`: the bytes, without the token a real download needs.
pub async fn media_bytes(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let Some(mime) = sim.lock().media.get(&id).map(|m| m.mime_type.clone()) else {
        return GraphError::unknown_object(&id, "get").into_response();
    };
    match sim.store.get_blob(&id).await {
        Ok(Some(bytes)) => ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
        _ => GraphError::unknown_object(&id, "get").into_response(),
    }
}

/// `GET /_sim/throughput/{phone_number_id}[?timestamps=1]`: what the number achieved, from the
/// simulator's own accept times (see [`crate::ThroughputStats`]).
pub async fn throughput(State(sim): State<Arc<Sim>>, Path(phone): Path<String>, Query(q): Query<Params>) -> Response {
    let log = sim.lock().limits.accept_log(&phone);
    let mut v = json!(log.stats());
    v["phone_number_id"] = json!(phone);
    v["limit_per_second"] = json!(sim.config().throughput_per_second);
    if q.get("timestamps").is_some_and(|t| t == "1" || t == "true") {
        v["timestamps_us"] = json!(log.times.iter().map(crate::limits::micros).collect::<Vec<_>>());
    }
    ok(v)
}

/// `DELETE /_sim/throughput/{phone_number_id}`: forgets the number's accept log.
pub async fn clear_throughput(State(sim): State<Arc<Sim>>, Path(phone): Path<String>) -> Response {
    sim.lock().limits.clear_accept_log(&phone);
    ok(json!({ "success": true }))
}
