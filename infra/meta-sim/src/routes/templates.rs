//! `/{waba}/message_templates` (create, list, delete) and `/{template_id}` (get, edit).

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{Gate, Params, ok, own_waba, paginate};
use crate::business::Business;
use crate::errors::GraphError;
use crate::state::{Sim, unix_now};
use crate::templates::{self as tpl, TemplateRecord, TemplateStatus};

fn str_param<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a str, GraphError> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| GraphError::invalid_param(format!("The parameter {key} is required.")))
}

/// Inserts a validated template; `status` PENDING starts a review.
pub fn insert(
    sim: &Arc<Sim>,
    waba_id: &str,
    body: &Map<String, Value>,
    status: TemplateStatus,
) -> Result<TemplateRecord, GraphError> {
    let name = str_param(body, "name")?;
    tpl::validate_name(name)?;
    let language = str_param(body, "language")?;
    let category = tpl::normalize_category(str_param(body, "category")?)?;
    let components = body.get("components").cloned().unwrap_or(Value::Null);
    tpl::validate_components(&components)?;
    let record = {
        let mut inner = sim.lock();
        let exists = inner
            .templates
            .get(waba_id)
            .is_some_and(|list| list.iter().any(|t| t.name == name && t.language == language));
        if exists {
            return Err(tpl::duplicate(language));
        }
        let record = TemplateRecord {
            id: inner.new_template_id(),
            waba_id: waba_id.to_owned(),
            name: name.to_owned(),
            language: language.to_owned(),
            category: category.to_owned(),
            status,
            components,
            rejected_reason: "NONE".into(),
            review_generation: 1,
            approved_edits: Vec::new(),
        };
        inner.templates.entry(waba_id.to_owned()).or_default().push(record.clone());
        record
    };
    sim.persist();
    if status == TemplateStatus::Pending {
        sim.schedule_review(record.id.clone(), record.review_generation);
    }
    Ok(record)
}

pub fn create(
    sim: &Arc<Sim>,
    business: &Business,
    waba_id: &str,
    body: &Map<String, Value>,
) -> Result<Response, GraphError> {
    own_waba(business, waba_id, &Method::POST)?;
    let t = insert(sim, waba_id, body, TemplateStatus::Pending)?;
    Ok(ok(json!({ "id": t.id, "status": t.status.as_str(), "category": t.category })))
}

fn fields(query: &Params) -> Option<Vec<String>> {
    query.get("fields").map(|f| f.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
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
    let fields = fields(query);
    let status = query.get("status").map(|s| s.to_ascii_uppercase());
    let items: Vec<(String, Value)> = sim
        .templates_of(waba_id)
        .iter()
        .filter(|t| query.get("name").is_none_or(|n| &t.name == n))
        .filter(|t| query.get("language").is_none_or(|l| &t.language == l))
        .filter(|t| status.as_deref().is_none_or(|s| t.status.as_str() == s))
        .map(|t| (t.id.clone(), t.to_json(fields.as_deref())))
        .collect();
    let page = paginate(items, query, 25)?;
    Ok(ok(page.into_json(headers, &format!("/{version}/{waba_id}/message_templates"), query, gate)))
}

fn owned(sim: &Sim, business: &Business, id: &str, method: &Method) -> Result<TemplateRecord, GraphError> {
    let t = sim.lock().template(id).cloned();
    match t {
        Some(t) if t.waba_id == business.waba_id => Ok(t),
        Some(_) => Err(GraphError::permission()),
        None => Err(GraphError::unknown_object(id, &method.as_str().to_ascii_lowercase())),
    }
}

pub fn get_one(sim: &Sim, business: &Business, id: &str, query: &Params) -> Result<Response, GraphError> {
    let t = owned(sim, business, id, &Method::GET)?;
    Ok(ok(t.to_json(fields(query).as_deref())))
}

/// Replaces the components (and, unless approved, the category), then re-reviews.
pub fn edit(sim: &Arc<Sim>, business: &Business, id: &str, body: &Map<String, Value>) -> Result<Response, GraphError> {
    owned(sim, business, id, &Method::POST)?;
    let components = body.get("components").cloned();
    if let Some(c) = &components {
        tpl::validate_components(c)?;
    }
    let category = body.get("category").and_then(Value::as_str).map(tpl::normalize_category).transpose()?;
    if components.is_none() && category.is_none() {
        return Err(GraphError::invalid_param("The parameter components is required."));
    }
    let generation = {
        let mut inner = sim.lock();
        let t = inner.template_mut(id).ok_or_else(|| GraphError::unknown_object(id, "post"))?;
        let now = unix_now();
        tpl::check_edit(t.status, &t.approved_edits, now)?;
        if t.status == TemplateStatus::Approved {
            if category.is_some_and(|c| c != t.category) {
                return Err(GraphError::invalid_param(
                    "The category of an approved message template can't be changed.",
                ));
            }
            t.approved_edits.push(now);
        }
        if let Some(c) = components {
            t.components = c;
        }
        if let Some(c) = category {
            t.category = c.to_owned();
        }
        t.status = TemplateStatus::Pending;
        t.rejected_reason = "NONE".into();
        t.review_generation += 1;
        t.review_generation
    };
    sim.persist();
    sim.schedule_review(id.to_owned(), generation);
    Ok(ok(json!({ "success": true })))
}

/// `?name=` deletes every language of that name; with `hsm_id` only that template.
pub fn delete(sim: &Sim, business: &Business, waba_id: &str, query: &Params) -> Result<Response, GraphError> {
    own_waba(business, waba_id, &Method::DELETE)?;
    let Some(name) = query.get("name").filter(|n| !n.is_empty()) else {
        return Err(GraphError::invalid_param("The parameter name is required."));
    };
    let hsm_id = query.get("hsm_id");
    let deleted = {
        let mut inner = sim.lock();
        let list = inner.templates.entry(waba_id.to_owned()).or_default();
        let before = list.len();
        list.retain(|t| !(t.name == *name && hsm_id.is_none_or(|h| &t.id == h)));
        list.len() != before
    };
    if deleted {
        sim.persist();
    } else {
        return Err(GraphError::invalid_param(format!("Message template \"{name}\" not found")).user(
            "Message template not found",
            format!("There is no message template named {name} in this account."),
        ));
    }
    Ok(ok(json!({ "success": true })))
}
