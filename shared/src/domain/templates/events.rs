//! Template webhooks, as a `WebhookProcessor` handler: review outcomes
//! (`message_template_status_update`), Meta's recategorisations (`template_category_update`)
//! and quality ratings (`message_template_quality_update`) land on the tenant's row.
//!
//! Idempotent: each event sets absolute values, so a redelivery changes nothing. The row is
//! found by Meta's id, else by name+language (the status webhook can beat the write that
//! records Meta's id after a create); a template we do not know is quarantined for inspection
//! (the next sync brings it in) and never creates a row without its components.

use async_trait::async_trait;
use serde_json::Value;

use crate::domain::webhooks::payload::Event;
use crate::domain::webhooks::process::EventHandler;
use crate::domain::webhooks::quarantine::{self, Reason};
use crate::ports::Ports;
use crate::ports::table::{Cond, TableError, Update};
use crate::store::templates as repo;

use super::model::Template;

pub struct TemplateEvents;

#[async_trait]
impl EventHandler for TemplateEvents {
    async fn handle(&self, ports: &Ports, tenant_id: &str, event: &Event) -> Result<bool, crate::domain::Error> {
        let (meta_id, name, language, update) = match event {
            Event::TemplateStatus { template_id, name, language, event, reason, .. } => {
                (template_id, name, language, status_update(event, reason.as_deref()))
            }
            Event::TemplateCategory { template_id, name, language, new_category, .. } => {
                (template_id, name, language, Some(Update::new().set("category", new_category.clone())))
            }
            Event::TemplateQuality { template_id, name, language, new_quality, .. } => {
                (template_id, name, language, Some(Update::new().set("quality", new_quality.clone())))
            }
            _ => return Ok(false),
        };
        let Some(t) = find(ports, tenant_id, meta_id, name, language).await? else {
            let detail = format!(
                "tenant {tenant_id} has no template {meta_id} ({name}/{language}); POST /templates/sync adopts it"
            );
            quarantine::keep(ports, &event.key(), Reason::Unhandled, &detail, Value::String(format!("{event:?}")))
                .await?;
            return Ok(true);
        };
        if matches!(event, Event::TemplateStatus { event, .. } if event == "DELETED") {
            repo::Templates::new(&*ports.table).remove(tenant_id, &t).await?;
            return Ok(true);
        }
        let Some(mut update) = update else { return Ok(true) };
        update = update.set("meta_template_id", meta_id.clone()).set("updated_at", ports.clock.now().to_rfc3339());
        for (k, v) in repo::meta_lookup(tenant_id, meta_id) {
            update = update.set(k, v);
        }
        match ports.table.update(&repo::key(tenant_id, &t.id), update, Some(Cond::Exists)).await {
            Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }
}

/// The row's new status. `REINSTATED` is Meta's "approved again"; `FLAGGED` warns of a coming
/// pause without changing the status (recorded as quality `RED`, which is what flags it).
fn status_update(event: &str, reason: Option<&str>) -> Option<Update> {
    let status = match event {
        "REINSTATED" => "APPROVED",
        "FLAGGED" => return Some(Update::new().set("quality", "RED")),
        other => other,
    };
    let reason = if status == "REJECTED" { reason.map(Value::from).unwrap_or(Value::Null) } else { Value::Null };
    Some(Update::new().set("status", status).set("rejection_reason", reason))
}

async fn find(
    ports: &Ports,
    tenant_id: &str,
    meta_id: &str,
    name: &str,
    language: &str,
) -> Result<Option<Template>, TableError> {
    if let Some(t) = repo::Templates::new(&*ports.table).find_by_meta_id(tenant_id, meta_id).await? {
        return Ok(Some(t));
    }
    match repo::Templates::new(&*ports.table).find_by_name(tenant_id, name, language).await? {
        // Only adopt a row that has no Meta id yet or has this one (a same-named template
        // deleted and recreated in Meta is a different template).
        Some(t) if t.meta_template_id.as_deref().is_none_or(|m| m == meta_id) => Ok(Some(t)),
        _ => Ok(None),
    }
}
