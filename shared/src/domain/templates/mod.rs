//! Message templates: validated here, submitted to the tenant's WABA, kept in step with Meta by
//! status webhooks (`events`) and by `sync`, with a parameter schema for the send pipeline.
//!
//! Create order (nothing half-way visible as a real template): (1) validate, (2) one
//! transaction reserves the name+language, takes one from the plan's count and writes the row
//! as `SUBMITTING`; (3) Meta is called; (4a) on success the row gets Meta's id and status; (4b)
//! on failure the same transaction is undone and Meta's reason is returned. Reserving first
//! means two concurrent creates of one name never both reach Meta, and a limit-reached tenant
//! never creates a template in its WABA that it could not see. If the process dies between (2)
//! and (4), the `SUBMITTING` row is settled by the next sync (adopted when Meta has it,
//! removed otherwise).

pub mod connect_steps;
pub mod events;
pub mod library;
pub mod model;
pub mod sample;
pub mod schema;
pub mod sync;
pub mod validate;

use serde_json::Value;

use crate::domain::{Error, FieldError};
use crate::domain::{plans, tenants};
use crate::ports::Ports;
use crate::ports::meta::{Disposition, MetaError, NewTemplate, TemplateEdit};
use crate::ports::table::{Cond, TableError, Update};
use crate::store::templates as repo;

pub use model::{InstallReport, SyncReport};
use model::{PENDING, STATUSES, SUBMITTING, Template, TemplateEditInput, TemplateInput};
use validate::ValidTemplate;

pub use library::install_library;
pub use sync::sync_from_meta;

/// Meta's error as ours: invalid input (code 100) is the client's 422 with Meta's words;
/// an expired token asks for a reconnect; transient failures are 503 with Retry-After; any
/// other refusal is 502 carrying Meta's title and message.
pub fn meta_error(e: MetaError) -> Error {
    match &e {
        MetaError::Api { code: 100, title, message, details, subcode, .. } => {
            let text = meta_text(title, message, details);
            let detail = FieldError::new("meta", subcode.map(|s| s.to_string()).unwrap_or_else(|| "100".into()), &text);
            Error::invalid("meta_rejected", format!("Meta rejected the template: {text}")).with_details(vec![detail])
        }
        _ if e.disposition() == Disposition::ReauthRequired => Error::conflict(
            "whatsapp_reauth_required",
            "Meta no longer accepts this WhatsApp connection's token: reconnect WhatsApp",
        ),
        _ if e.disposition() == Disposition::Retry => {
            tracing::warn!(error = %e, "Meta unavailable");
            Error::unavailable("Meta is unavailable, retry shortly")
        }
        MetaError::Api { title, message, details, code, .. } => {
            Error::upstream("meta_error", format!("Meta refused: {}", meta_text(title, message, details)), Some(*code))
        }
        other => {
            tracing::error!(error = %other, "unexpected Meta answer");
            Error::upstream("meta_error", "Meta's answer could not be understood", None)
        }
    }
}

fn meta_text(title: &Option<String>, message: &str, details: &Option<String>) -> String {
    match (title, details) {
        (Some(t), Some(d)) => format!("{t}: {d}"),
        (Some(t), None) => format!("{t}: {message}"),
        (None, Some(d)) => format!("{message}: {d}"),
        (None, None) => message.to_string(),
    }
}

/// The tenant plan's `template_limit`.
async fn template_limit(ports: &Ports, tenant_id: &str) -> Result<u64, Error> {
    let tenant = tenants::get(ports, tenant_id).await?;
    Ok(plans::get(ports, &tenant.plan_id).await?.template_limit)
}

fn limit_reached(limit: u64) -> Error {
    Error::too_many(
        "template_limit_reached",
        format!("your plan allows {limit} templates: delete one or upgrade"),
        3600,
    )
}

fn duplicate(name: &str, language: &str) -> Error {
    Error::conflict("template_exists", format!("a template {name} in {language} already exists"))
}

/// `POST /templates`.
pub async fn create(ports: &Ports, tenant_id: &str, input: TemplateInput) -> Result<Template, Error> {
    let valid = validate::validate(&input).map_err(Error::validation)?;
    submit(ports, tenant_id, valid).await
}

/// Reserve, submit, settle (see the module comment).
pub async fn submit(ports: &Ports, tenant_id: &str, valid: ValidTemplate) -> Result<Template, Error> {
    let (waba_id, token) = crate::domain::whatsapp::connection::waba_access(ports, tenant_id).await?;
    let limit = template_limit(ports, tenant_id).await?;
    if limit == 0 {
        return Err(limit_reached(limit));
    }
    let now = ports.clock.now();
    let mut t = Template {
        id: ports.ids.new_id("tpl"),
        name: valid.name,
        language: valid.language,
        category: valid.category,
        status: SUBMITTING.into(),
        components: valid.components,
        parameter_format: valid.parameter_format,
        meta_template_id: None,
        rejection_reason: None,
        quality: None,
        parameters: valid.parameters,
        created_at: now,
        updated_at: now,
    };
    match ports.table.transact(repo::insert_ops(tenant_id, &t, Some(limit))?).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.contains(&0) => {
            return Err(limit_reached(limit));
        }
        Err(TableError::TransactionCanceled { failed_conditions }) if !failed_conditions.is_empty() => {
            return Err(duplicate(&t.name, &t.language));
        }
        Err(e) => return Err(e.into()),
    }
    let submission = NewTemplate {
        name: t.name.clone(),
        language: t.language.clone(),
        category: t.category.clone(),
        components: t.components.clone(),
    };
    let created = match ports.meta.create_template(&token, &waba_id, &submission).await {
        Ok(c) => c,
        Err(e) => {
            // Undo the reservation; if even that fails the SUBMITTING row is left for sync.
            if let Err(undo) = repo::Templates::new(&*ports.table).remove(tenant_id, &t).await {
                tracing::error!(error = %undo, template = %t.id, "could not release a failed template reservation");
            }
            return Err(meta_error(e));
        }
    };
    t.meta_template_id = Some(created.id.clone());
    t.status = created.status.clone();
    t.category = created.category.clone();
    settle(ports, tenant_id, &t).await?;
    Ok(repo::Templates::new(&*ports.table).get(tenant_id, &t.id).await?.unwrap_or(t))
}

/// Records Meta's answer on the SUBMITTING row. A status webhook may have got there first
/// (found by name+language): then its status stands and only the id is added.
async fn settle(ports: &Ports, tenant_id: &str, t: &Template) -> Result<(), TableError> {
    let key = repo::key(tenant_id, &t.id);
    let meta_id = t.meta_template_id.clone().unwrap_or_default();
    let mut base =
        Update::new().set("meta_template_id", meta_id.clone()).set("updated_at", ports.clock.now().to_rfc3339());
    for (k, v) in repo::meta_lookup(tenant_id, &meta_id) {
        base = base.set(k, v);
    }
    let with_status = base.clone().set("status", t.status.clone()).set("category", t.category.clone());
    match ports.table.update(&key, with_status, Some(Cond::eq("status", SUBMITTING))).await {
        Ok(_) => Ok(()),
        Err(TableError::ConditionFailed { .. }) => ports.table.update(&key, base, Some(Cond::Exists)).await.map(|_| ()),
        Err(e) => Err(e),
    }
}

pub async fn get(ports: &Ports, tenant_id: &str, id: &str) -> Result<Template, Error> {
    repo::Templates::new(&*ports.table).get(tenant_id, id).await?.ok_or_else(|| Error::not_found("template"))
}

/// The `?status=` filter, checked (an unknown status is a client error, not an empty list).
pub fn status_filter(status: Option<&str>) -> Result<Option<String>, Error> {
    match status.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            let upper = s.to_ascii_uppercase();
            if STATUSES.contains(&upper.as_str()) {
                Ok(Some(upper))
            } else {
                Err(Error::validation(vec![FieldError::new(
                    "status",
                    "invalid",
                    format!("must be one of {STATUSES:?}"),
                )]))
            }
        }
    }
}

/// `PATCH /templates/{id}`: new components (and category) resubmitted through Meta's edit;
/// Meta's edit limits (in review, once a day / 10 a month when approved) come back as Meta's
/// error.
pub async fn edit(ports: &Ports, tenant_id: &str, id: &str, input: TemplateEditInput) -> Result<Template, Error> {
    let t = get(ports, tenant_id, id).await?;
    let category = input.category.clone().unwrap_or_else(|| t.category.clone());
    let mut errors = Vec::new();
    if !model::CATEGORIES.contains(&category.as_str()) {
        errors.push(FieldError::new("category", "invalid", "must be MARKETING, UTILITY or AUTHENTICATION"));
    }
    let components = match input.components {
        Some(c) => c,
        None => {
            errors.push(FieldError::new("components", "required", "is required"));
            Value::Null
        }
    };
    if errors.is_empty()
        && let Err(mut e) = validate::validate_components(&components, &category, t.parameter_format)
    {
        errors.append(&mut e);
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let Some(meta_id) = t.meta_template_id.clone() else {
        return Err(Error::conflict("template_not_submitted", "the template is still being submitted to Meta"));
    };
    let (_, token) = crate::domain::whatsapp::connection::waba_access(ports, tenant_id).await?;
    let edit = TemplateEdit { category: input.category.clone(), components: components.clone() };
    ports.meta.edit_template(&token, &meta_id, &edit).await.map_err(meta_error)?;
    let parameters = schema::derive(&components, t.parameter_format, &category);
    let update = Update::new()
        .set("components", components)
        .set("category", category)
        .set("parameters", serde_json::to_value(&parameters).map_err(Error::internal)?)
        .set("status", PENDING)
        .set("rejection_reason", Value::Null)
        .set("updated_at", ports.clock.now().to_rfc3339());
    ports.table.update(&repo::key(tenant_id, id), update, Some(Cond::Exists)).await?;
    get(ports, tenant_id, id).await
}

/// `DELETE /templates/{id}`: Meta first (only this language, by its id), then ours. A template
/// Meta no longer has is still deleted here.
pub async fn delete(ports: &Ports, tenant_id: &str, id: &str) -> Result<(), Error> {
    let t = get(ports, tenant_id, id).await?;
    if let Some(meta_id) = &t.meta_template_id {
        let (waba_id, token) = crate::domain::whatsapp::connection::waba_access(ports, tenant_id).await?;
        match ports.meta.delete_template(&token, &waba_id, &t.name, Some(meta_id)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(meta_error(e)),
        }
    }
    repo::Templates::new(&*ports.table).remove(tenant_id, &t).await?;
    Ok(())
}

/// Meta's "no such template" (already deleted in WhatsApp Manager).
fn is_not_found(e: &MetaError) -> bool {
    match e {
        MetaError::Api { code: 100, message, title, .. } => {
            let t = format!("{message} {}", title.as_deref().unwrap_or_default()).to_lowercase();
            t.contains("not found") || t.contains("does not exist")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
