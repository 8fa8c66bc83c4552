//! `POST /campaigns/{id}/retry-failed`: a new campaign, same template and variables, to the
//! recipients whose message failed for a reason a retry can fix ([`counters::retryable`]).
//!
//! - The original stays as it is (its messages, counts and report do not change).
//! - A campaign is retried once: the original is claimed (`retry_campaign_id`, a conditional
//!   update) before the new campaign is created, so two concurrent requests cannot both send. A
//!   claim whose creation failed is released; one left by a crash is taken over after
//!   [`CLAIM_TIMEOUT_MS`]. To retry again, retry the retry campaign.
//! - Each retried recipient is billed once: the new campaign's messages have ids derived from
//!   (campaign, contact), so a redone fan-out page creates nobody twice, and the send worker's
//!   per-message debit marker makes a redelivered send job `AlreadyDebited`.
//! - It goes through `create::create`: the tenant must be able to send, the template still
//!   approved, the quota and credits must cover the recipients; opted-out contacts are skipped
//!   by the fan-out as in any campaign.

use serde_json::Value;

use super::counters;
use super::create::{self, AudienceInput, CreateInput, MAX_CONTACT_IDS, MAX_NAME_CHARS, TemplateInput};
use super::model::Campaign;
use super::report::{Walk, next_messages};
use crate::domain::Error;
use crate::domain::messages::{MessageError, MessageStatus};
use crate::domain::sending::prices::PriceTable;
use crate::ports::Ports;
use crate::ports::table::{Cond, TableError, Update};
use crate::store::{campaigns, keys};

/// The original's attribute naming its retry campaign (or [`CLAIMING`] while it is created).
pub const RETRY_ATTR: &str = "retry_campaign_id";
const CLAIMING: &str = "claiming";
const CLAIMED_AT: &str = "retry_claimed_ms";
/// A claim older than this (a crash between claim and creation) may be taken over.
pub const CLAIM_TIMEOUT_MS: i64 = 60_000;

/// The contacts whose message in `campaign` failed with a retryable error, in audience order.
pub async fn retryable_contacts(ports: &Ports, campaign: &Campaign) -> Result<Vec<String>, TableError> {
    let mut contacts = Vec::new();
    let mut walk = Walk::new(campaign.clone());
    while let Some(items) = next_messages(ports, &mut walk).await? {
        for item in items.iter().filter(|i| i.get_str("status") == Some(MessageStatus::Failed.as_str())) {
            let error: Option<MessageError> =
                item.get("error").and_then(|e| serde_json::from_value::<MessageError>(e.clone()).ok());
            let code = error.map(|e| e.code).unwrap_or(0);
            if let (true, Some(contact)) = (counters::retryable(code), item.get_str("contact_id")) {
                contacts.push(contact.to_owned());
            }
        }
    }
    Ok(contacts)
}

pub async fn retry_failed(
    ports: &Ports,
    prices: &PriceTable,
    tenant_id: &str,
    campaign_id: &str,
) -> Result<Campaign, Error> {
    let repo = campaigns::Campaigns::new(&*ports.table);
    let original = repo.get(tenant_id, campaign_id).await?.ok_or_else(|| Error::not_found("campaign"))?;
    let contacts = retryable_contacts(ports, &original).await?;
    if contacts.is_empty() {
        return Err(Error::invalid("nothing_to_retry", "no recipient of this campaign failed for a retryable reason"));
    }
    if contacts.len() > MAX_CONTACT_IDS {
        return Err(Error::invalid(
            "too_many_to_retry",
            format!("{} recipients to retry; a retry takes at most {MAX_CONTACT_IDS}", contacts.len()),
        ));
    }

    // Claim the original: one retry per campaign.
    let key = keys::campaign(tenant_id, campaign_id);
    let now_ms = ports.clock.now().timestamp_millis();
    let claim = Update::new().set(RETRY_ATTR, CLAIMING).set(CLAIMED_AT, now_ms);
    let free = Cond::Or(vec![
        Cond::AttrNotExists(RETRY_ATTR.into()),
        Cond::And(vec![
            Cond::eq(RETRY_ATTR, CLAIMING),
            Cond::Lt(CLAIMED_AT.into(), Value::from(now_ms - CLAIM_TIMEOUT_MS)),
        ]),
    ]);
    match ports.table.update(&key, claim, Some(Cond::And(vec![Cond::Exists, free]))).await {
        Ok(_) => {}
        Err(TableError::ConditionFailed { current: Some(item) }) => {
            let by = item.get_str(RETRY_ATTR).unwrap_or(CLAIMING);
            return Err(Error::conflict(
                "already_retried",
                if by == CLAIMING {
                    "this campaign is being retried".to_owned()
                } else {
                    format!("this campaign was retried by {by}; retry that campaign instead")
                },
            ));
        }
        Err(TableError::ConditionFailed { current: None }) => return Err(Error::not_found("campaign")),
        Err(e) => return Err(e.into()),
    }

    let suffix = " (retry)";
    let name: String = original.name.chars().take(MAX_NAME_CHARS - suffix.chars().count()).collect();
    let input = CreateInput {
        name: Some(format!("{name}{suffix}")),
        template: Some(TemplateInput {
            name: Some(original.template.name.clone()),
            language: Some(original.template.language.clone()),
        }),
        audience: Some(AudienceInput { all: None, tags: None, contact_ids: Some(contacts) }),
        variables: Some(original.variables.clone()),
        header: original.header.as_ref().map(Into::into),
        schedule_at: None,
    };
    match create::create(ports, prices, tenant_id, input).await {
        Ok(retry) => {
            let done = Update::new().set(RETRY_ATTR, retry.id.as_str()).remove(CLAIMED_AT);
            ports.table.update(&key, done, Some(Cond::eq(RETRY_ATTR, CLAIMING))).await?;
            Ok(retry)
        }
        Err(e) => {
            // Nothing was created: release the claim so the tenant can fix the cause and retry.
            let release = Update::new().remove(RETRY_ATTR).remove(CLAIMED_AT);
            if let Err(r) = ports.table.update(&key, release, Some(Cond::eq(RETRY_ATTR, CLAIMING))).await {
                tracing::warn!(error = %r, tenant_id, campaign_id, "retry claim not released (taken over after a minute)");
            }
            Err(e)
        }
    }
}
