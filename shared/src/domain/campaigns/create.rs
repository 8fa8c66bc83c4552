//! `POST /campaigns`: every check before anything is written, then the campaign and its quota
//! reservation in one transaction, then (unless scheduled) the first fan-out job.
//!
//! Checks, in the order a caller must fix them: the body's shape (422, every field at once), the
//! tenant may send (403), the connection is usable (409), the template exists and is APPROVED
//! (422), the variables fit its parameters (422), the audience is not empty (422), the plan's
//! monthly quota has room for the whole audience (429 `quota_exceeded`), prepaid credits cover it
//! (422 `insufficient_credits`).
//!
//! The audience is the contacts that exist when the campaign is created (contacts added later
//! are not in it, even for a scheduled campaign): its size is what the quota reserves, and the
//! fan-out walks exactly that snapshot (contacts whose ULID id sorts before the campaign's).

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::Value;

use super::fanout::{self, audience_query};
use super::{Audience, Campaign, CampaignStatus, ID_PREFIX, TemplateRef, mapping};
use crate::domain::contacts::fields;
use crate::domain::contacts::service::ID_PREFIX as CONTACT_PREFIX;
use crate::domain::messages::accept::{approved_template, invalid_variables, schedule_at};
use crate::domain::messages::header::{self, HeaderInput, TemplateHeader};
use crate::domain::money::Money;
use crate::domain::sending::prices::PriceTable;
use crate::domain::whatsapp::connection::business_token;
use crate::domain::{Error, FieldError};
use crate::domain::{billing, limits, tenants, usage};
use crate::ports::Ports;
use crate::ports::table::{Cond, TxOp};
use crate::store::{campaigns, keys};

pub const MAX_NAME_CHARS: usize = 128;
/// An explicit audience is checked contact by contact at creation and kept on the campaign item
/// (400 KB at most): larger audiences are tags or "all".
pub const MAX_CONTACT_IDS: usize = 1000;
pub const MAX_AUDIENCE_TAGS: usize = 10;

/// The body of `POST /campaigns`. Everything optional so that a missing field is a 422 naming it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = CampaignInput, example = json!({
    "name": "November fee reminder",
    "template": {"name": "fee_reminder", "language": "en"},
    "audience": {"all": true},
    "variables": ["{{contact.name}}", "12,500", "30 Nov"]
}))]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    /// 1 to 128 characters.
    pub name: Option<String>,
    /// An APPROVED template of the tenant.
    pub template: Option<TemplateInput>,
    pub audience: Option<AudienceInput>,
    /// One per template parameter, in order: `{{contact.name}}`, `{{contact.phone}}`,
    /// `{{contact.attributes.<key>}}` (filled from each recipient), or a literal sent to all.
    pub variables: Option<Vec<Value>>,
    /// Templates with an image, video or document header: one file for every recipient
    /// (`media_id`, or an `https://` link), or a link per recipient
    /// (`{"kind": "image", "link": "{{contact.attributes.<key>}}"}`). `variables` then hold the
    /// other parameters only.
    pub header: Option<HeaderInput>,
    /// RFC 3339, in the future and within 365 days: the campaign is `scheduled` until then.
    /// Kept as text so a malformed date is a 422 naming the field.
    pub schedule_at: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = CampaignTemplateInput)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: Option<String>,
    /// The template's language code, e.g. `en` or `en_US`.
    pub language: Option<String>,
}

/// Exactly one of the three.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = CampaignAudienceInput)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    /// `true`: every contact of the tenant.
    pub all: Option<bool>,
    /// 1 to 10 tags: contacts with any of them.
    pub tags: Option<Vec<String>>,
    /// 1 to 1,000 contact ids (larger audiences are tags or `all`).
    pub contact_ids: Option<Vec<String>>,
}

struct Shape {
    name: String,
    template_name: String,
    language: String,
    audience: Audience,
    variables: Vec<Value>,
    header: Option<TemplateHeader>,
    schedule_at: Option<DateTime<Utc>>,
}

pub async fn create(
    ports: &Ports,
    prices: &PriceTable,
    tenant_id: &str,
    input: CreateInput,
) -> Result<Campaign, Error> {
    let now = ports.clock.now();
    let shape = shape(input, now)?;

    let tenant = tenants::get(ports, tenant_id).await?;
    if let Some(code) = tenants::sending_state(&tenant, now).error_code() {
        return Err(Error::forbidden(code, "this tenant may not send messages now"));
    }
    business_token(ports, tenant_id).await?;

    let template = approved_template(ports, tenant_id, &shape.template_name, &shape.language).await?;
    mapping::parse_all(&header::without_header(&template.parameters), &shape.variables).map_err(invalid_variables)?;
    header::check(ports, tenant_id, &template.parameters, shape.header.as_ref(), "header").await?;

    let id = ports.ids.new_id(ID_PREFIX);
    let total = audience_size(ports, tenant_id, &id, &shape.audience).await?;
    if total == 0 {
        return Err(Error::invalid("empty_audience", "no contact matches this audience")
            .with_details(vec![FieldError::new("audience", "empty_audience", "no contact matches")]));
    }

    if let Some(limit) = limits::monthly_message_limit(&*ports.table, tenant_id).await? {
        let used = usage::messages_sent(ports, tenant_id, tenant.starts_at).await?;
        let left = limit.saturating_sub(used);
        if total as u64 > left {
            return Err(Error::limit(
                "quota_exceeded",
                format!("this campaign needs {total} messages and your plan has {left} left this month"),
            ));
        }
    }
    let category = template.category.to_ascii_lowercase();
    if ports.table.get(&keys::balance(tenant_id)).await?.is_some() {
        let price = prices.price(&category);
        let cost = Money::from_units(price.units().saturating_mul(total));
        let balance = billing::balance(ports, tenant_id).await?;
        if cost.units() > balance.units() {
            return Err(Error::invalid(
                "insufficient_credits",
                format!("this campaign costs up to {cost} credits and the balance is {balance}"),
            ));
        }
    }

    let period = usage::period_key(usage::period_start(tenant.starts_at, now));
    let status = if shape.schedule_at.is_some() { CampaignStatus::Scheduled } else { CampaignStatus::Running };
    let campaign = Campaign {
        id,
        tenant_id: tenant_id.to_owned(),
        name: shape.name,
        template: TemplateRef { id: template.id, name: template.name, language: template.language, category },
        schema: template.parameters,
        audience: shape.audience,
        variables: shape.variables,
        header: shape.header,
        status,
        schedule_at: shape.schedule_at,
        created_at: now,
        started_at: (status == CampaignStatus::Running).then_some(now),
        completed_at: None,
        cancelled_at: None,
        reserved: total,
        usage_period: period.clone(),
        total,
        created: 0,
        skipped_opted_out: 0,
        skipped_missing_data: 0,
        fanout_page: 0,
        fanout_cursor: None,
        settled: false,
    };
    // The reservation is counted like messages accepted: racing sends may overshoot the limit by
    // their number (as `POST /messages` documents), never by a whole campaign twice. A running
    // campaign enters the hand-off index (its fan-out job is queued after the commit; the
    // reconciler queues it again if the process dies in between).
    let mut item = campaigns::item(&campaign)?;
    if status == CampaignStatus::Running {
        item = crate::domain::messages::dispatch::in_handoff(item, now.timestamp_millis());
    }
    ports
        .table
        .transact(vec![TxOp::Put { item, cond: Some(Cond::NotExists) }, usage::adjust_op(tenant_id, &period, total)])
        .await?;
    if status == CampaignStatus::Running
        && let Err(e) = fanout::enqueue_page(ports, tenant_id, &campaign.id, 0).await
    {
        // Not durably queued: take it back (cancel gives the reservation back) and say so.
        tracing::error!(error = %e, tenant_id, campaign_id = %campaign.id, "first fan-out job not queued");
        let _ = super::cancel::cancel(ports, tenant_id, &campaign.id).await;
        return Err(Error::unavailable("the campaign could not be queued; nothing was sent, retry"));
    }
    Ok(campaign)
}

/// How many contacts the audience has now (an upper bound for `all`: opted-out contacts are
/// counted here and given back by the fan-out).
async fn audience_size(ports: &Ports, tenant_id: &str, campaign_id: &str, audience: &Audience) -> Result<i64, Error> {
    if audience.all {
        let count = ports.table.get(&keys::contact_count(tenant_id)).await?.and_then(|i| i.get_i64("count"));
        return Ok(count.unwrap_or(0).max(0));
    }
    if !audience.contact_ids.is_empty() {
        let gets =
            audience.contact_ids.iter().map(|id| async move { ports.table.get(&keys::contact(tenant_id, id)).await });
        let found = join_all(gets).await;
        let mut unknown = Vec::new();
        for (i, r) in found.into_iter().enumerate() {
            if r?.is_none() {
                unknown.push(FieldError::new(
                    format!("audience.contact_ids[{i}]"),
                    "unknown_contact",
                    "no such contact",
                ));
            }
        }
        if !unknown.is_empty() {
            return Err(Error::invalid("unknown_contacts", "some contacts do not exist").with_details(unknown));
        }
        return Ok(audience.contact_ids.len() as i64);
    }
    // Tags: count the matching contacts, a page at a time (a query on the tenant's own list).
    let mut total = 0i64;
    let mut cursor = None;
    loop {
        let query = audience_query(tenant_id, campaign_id, audience, 1000, cursor)
            .ok_or_else(|| Error::internal("tag audience without a query"))?;
        let page = ports.table.query(query).await?;
        total += page.items.len() as i64;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(total),
        }
    }
}

fn shape(input: CreateInput, now: DateTime<Utc>) -> Result<Shape, Error> {
    let mut errors = Vec::new();
    let name = input.name.map(|n| n.trim().to_owned()).unwrap_or_default();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new("name", "invalid", format!("1 to {MAX_NAME_CHARS} characters")));
    } else if crate::domain::text::has_control(&name) {
        errors.push(crate::domain::text::control_error("name"));
    }
    let t = input.template.unwrap_or_default();
    let template_name = t.name.map(|n| n.trim().to_owned()).unwrap_or_default();
    let language = t.language.map(|l| l.trim().to_owned()).unwrap_or_default();
    if template_name.is_empty() {
        errors.push(FieldError::new("template.name", "required", "the template's name"));
    }
    if language.is_empty() {
        errors.push(FieldError::new("template.language", "required", "the template's language code, e.g. en_US"));
    }
    let audience = audience_shape(input.audience, &mut errors);
    let header = input.header.and_then(|h| header::shape(h, "header", true, &mut errors));
    let schedule_at = schedule_at(input.schedule_at.as_deref(), now, &mut errors);
    match audience {
        Some(audience) if errors.is_empty() => Ok(Shape {
            header,
            name,
            template_name,
            language,
            audience,
            variables: input.variables.unwrap_or_default(),
            schedule_at,
        }),
        _ => Err(Error::validation(errors)),
    }
}

fn audience_shape(input: Option<AudienceInput>, errors: &mut Vec<FieldError>) -> Option<Audience> {
    let Some(a) = input else {
        errors.push(FieldError::new("audience", "required", "give one of all: true, tags or contact_ids"));
        return None;
    };
    let given = [a.all.is_some(), a.tags.is_some(), a.contact_ids.is_some()].iter().filter(|g| **g).count();
    if given != 1 {
        errors.push(FieldError::new("audience", "exactly_one", "give exactly one of all: true, tags or contact_ids"));
        return None;
    }
    if let Some(all) = a.all {
        if !all {
            errors.push(FieldError::new("audience.all", "invalid", "must be true (or give tags or contact_ids)"));
            return None;
        }
        return Some(Audience { all: true, ..Audience::default() });
    }
    if let Some(raw) = a.tags {
        let mut tags = Vec::new();
        for (i, t) in raw.iter().enumerate() {
            match fields::tag(t, &format!("audience.tags[{i}]")) {
                Ok(t) if !tags.contains(&t) => tags.push(t),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if raw.is_empty() || tags.len() > MAX_AUDIENCE_TAGS {
            errors.push(FieldError::new("audience.tags", "invalid", format!("1 to {MAX_AUDIENCE_TAGS} tags")));
        }
        return Some(Audience { tags, ..Audience::default() });
    }
    let raw = a.contact_ids.unwrap_or_default();
    let mut ids: Vec<String> = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        let id = id.trim();
        if !id.starts_with(&format!("{CONTACT_PREFIX}_")) || id.len() > 64 {
            errors.push(FieldError::new(format!("audience.contact_ids[{i}]"), "invalid", "not a contact id"));
        } else if !ids.iter().any(|x| x == id) {
            ids.push(id.to_owned());
        }
    }
    if raw.is_empty() || ids.len() > MAX_CONTACT_IDS {
        errors.push(FieldError::new("audience.contact_ids", "invalid", format!("1 to {MAX_CONTACT_IDS} contact ids")));
    }
    Some(Audience { contact_ids: ids, ..Audience::default() })
}
