//! `POST /templates/sync`: Meta is the truth. Every page of the WABA's templates is pulled and
//! local rows are created (made in WhatsApp Manager), updated (status, category, components,
//! rejection reason) or deleted (gone from Meta). Matching is by Meta's id, else by
//! name+language (a row whose submission never recorded Meta's id is adopted).

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use serde_json::Value;

use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::meta::Template as MetaTemplate;
use crate::ports::table::{Cond, TableError, Update};
use crate::store::templates as repo;

use super::model::{ParameterFormat, SUBMITTING, SyncReport, Template};
use super::{meta_error, schema};

/// A SUBMITTING row younger than this may still be waiting for Meta's answer: left alone.
const IN_FLIGHT: Duration = Duration::minutes(2);

pub async fn sync_from_meta(ports: &Ports, tenant_id: &str) -> Result<SyncReport, Error> {
    let (waba_id, token) = crate::domain::whatsapp::connection::waba_access(ports, tenant_id).await?;
    let remote = ports.meta.list_templates(&token, &waba_id).await.map_err(meta_error)?;
    let local = repo::Templates::new(&*ports.table).all(tenant_id).await?;
    let now = ports.clock.now();
    let by_meta_id: HashMap<&str, &Template> =
        local.iter().filter_map(|t| t.meta_template_id.as_deref().map(|m| (m, t))).collect();
    let by_name: HashMap<(&str, &str), &Template> =
        local.iter().map(|t| ((t.name.as_str(), t.language.as_str()), t)).collect();
    let mut report = SyncReport::default();
    let mut matched: HashSet<&str> = HashSet::new();
    for m in &remote {
        let found = by_meta_id.get(m.id.as_str()).or_else(|| by_name.get(&(m.name.as_str(), m.language.as_str())));
        match found {
            Some(t) => {
                matched.insert(t.id.as_str());
                if update_from_meta(ports, tenant_id, t, m).await? {
                    report.updated += 1;
                }
            }
            None => {
                if create_from_meta(ports, tenant_id, m).await? {
                    report.created += 1;
                }
            }
        }
    }
    for t in &local {
        if matched.contains(t.id.as_str()) || (t.status == SUBMITTING && now - t.created_at < IN_FLIGHT) {
            continue;
        }
        if repo::Templates::new(&*ports.table).remove(tenant_id, t).await? {
            report.deleted += 1;
        }
    }
    Ok(report)
}

fn meta_format(m: &MetaTemplate) -> ParameterFormat {
    // Meta names the format on NAMED templates only; positional is its default.
    match m.components.to_string().contains("_named_params") {
        true => ParameterFormat::Named,
        false => ParameterFormat::Positional,
    }
}

fn rejection(m: &MetaTemplate) -> Option<String> {
    m.rejected_reason.clone().filter(|r| r != "NONE" && !r.is_empty())
}

/// `true` when something changed.
async fn update_from_meta(ports: &Ports, tenant_id: &str, t: &Template, m: &MetaTemplate) -> Result<bool, TableError> {
    let components = if m.components.is_null() { t.components.clone() } else { m.components.clone() };
    let same = t.status == m.status
        && t.category == m.category
        && t.components == components
        && t.rejection_reason == rejection(m)
        && t.meta_template_id.as_deref() == Some(m.id.as_str());
    if same {
        return Ok(false);
    }
    let parameters = schema::derive(&components, t.parameter_format, &m.category);
    let mut update = Update::new()
        .set("status", m.status.clone())
        .set("category", m.category.clone())
        .set("components", components)
        .set("parameters", serde_json::to_value(parameters).map_err(|e| TableError::Invalid(e.to_string()))?)
        .set("rejection_reason", rejection(m).map(Value::from).unwrap_or(Value::Null))
        .set("meta_template_id", m.id.clone())
        .set("updated_at", ports.clock.now().to_rfc3339());
    for (k, v) in repo::meta_lookup(tenant_id, &m.id) {
        update = update.set(k, v);
    }
    match ports.table.update(&repo::key(tenant_id, &t.id), update, Some(Cond::Exists)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A template made outside the platform. It counts toward the plan (it exists in the WABA) but
/// is never refused for the limit: the row mirrors a fact.
async fn create_from_meta(ports: &Ports, tenant_id: &str, m: &MetaTemplate) -> Result<bool, TableError> {
    let now = ports.clock.now();
    let format = meta_format(m);
    let t = Template {
        id: ports.ids.new_id("tpl"),
        name: m.name.clone(),
        language: m.language.clone(),
        category: m.category.clone(),
        status: m.status.clone(),
        components: m.components.clone(),
        parameter_format: format,
        meta_template_id: Some(m.id.clone()),
        rejection_reason: rejection(m),
        quality: None,
        parameters: schema::derive(&m.components, format, &m.category),
        created_at: now,
        updated_at: now,
    };
    match ports.table.transact(repo::insert_ops(tenant_id, &t, None)?).await {
        Ok(()) => Ok(true),
        // A concurrent create of the same name+language won: nothing to add.
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e),
    }
}
