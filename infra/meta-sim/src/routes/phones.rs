//! Phone numbers (`/{waba}/phone_numbers`, `/{phone}`, `/{phone}/register`) and
//! `/{waba}/subscribed_apps`.

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{Gate, Params, ok, own_phone, own_waba, paginate};
use crate::business::{Business, PhoneNumber};
use crate::errors::GraphError;
use crate::state::Sim;

fn phone_json(sim: &Sim, p: &PhoneNumber, with_name_status: bool) -> Value {
    let registered = sim.lock().registered.contains(&p.id);
    let mut v = json!({
        "id": p.id,
        "display_phone_number": p.display_phone_number,
        "verified_name": p.verified_name,
        "quality_rating": "GREEN",
        "code_verification_status": "VERIFIED",
        "platform_type": if registered { "CLOUD_API" } else { "NOT_APPLICABLE" },
        "status": if registered { "CONNECTED" } else { "PENDING" },
        "throughput": { "level": "STANDARD" },
        "messaging_limit_tier": "TIER_1K",
    });
    if with_name_status {
        v["name_status"] = json!("APPROVED");
    }
    v
}

/// `fields=` narrows the answer like Graph does (the id always stays).
fn select(v: Value, query: &Params) -> Value {
    let Some(fields) = query.get("fields") else { return v };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let Value::Object(all) = v else { return v };
    let out: Map<String, Value> = all.into_iter().filter(|(k, _)| k == "id" || wanted.contains(&k.as_str())).collect();
    Value::Object(out)
}

pub fn list(
    sim: &Sim,
    business: &Business,
    waba_id: &str,
    query: &Params,
    headers: &HeaderMap,
    version: &str,
    gate: &Gate,
) -> Result<Response, GraphError> {
    own_waba(business, waba_id, &Method::GET)?;
    let items =
        business.phone_numbers.iter().map(|p| (p.id.clone(), select(phone_json(sim, p, false), query))).collect();
    let page = paginate(items, query, 25)?;
    Ok(ok(page.into_json(headers, &format!("/{version}/{waba_id}/phone_numbers"), query, gate)))
}

pub fn get_phone(sim: &Sim, business: &Business, phone_id: &str, query: &Params) -> Result<Response, GraphError> {
    let p = own_phone(business, phone_id, &Method::GET)?;
    Ok(ok(select(phone_json(sim, p, true), query)))
}

pub fn register(
    sim: &Sim,
    business: &Business,
    phone_id: &str,
    body: &Map<String, Value>,
) -> Result<Response, GraphError> {
    let p = own_phone(business, phone_id, &Method::POST)?;
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(GraphError::invalid_param("The parameter messaging_product is required.").messaging());
    }
    let pin = body.get("pin").and_then(Value::as_str).unwrap_or_default();
    if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GraphError::invalid_param("Param pin must be a 6-digit number.").messaging());
    }
    sim.lock().registered.insert(p.id.clone());
    sim.persist();
    Ok(ok(json!({ "success": true })))
}

pub fn subscribed_apps(sim: &Sim, business: &Business, waba_id: &str, method: &Method) -> Result<Response, GraphError> {
    own_waba(business, waba_id, method)?;
    let config = sim.config();
    match *method {
        Method::POST | Method::DELETE => {
            if *method == Method::POST {
                sim.lock().subscribed.insert(waba_id.to_owned());
            } else {
                sim.lock().subscribed.remove(waba_id);
            }
            sim.persist();
            Ok(ok(json!({ "success": true })))
        }
        Method::GET => {
            let data = if sim.lock().subscribed.contains(waba_id) {
                vec![json!({ "whatsapp_business_api_data": {
                    "id": config.app_id,
                    "name": "Miping (simulator)",
                    "link": format!("https://www.facebook.com/games/?app_id={}", config.app_id),
                }})]
            } else {
                vec![]
            };
            Ok(ok(json!({ "data": data })))
        }
        _ => Err(GraphError::unknown_object(waba_id, &method.as_str().to_ascii_lowercase())),
    }
}
