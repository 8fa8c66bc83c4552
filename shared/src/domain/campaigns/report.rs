//! A campaign's report (`GET /campaigns/{id}/report`) and its recipients export
//! (`GET /campaigns/{id}/recipients.csv`).
//!
//! The report reads only the counter shards (`counters`): the funnel and the failures grouped by
//! error are moved with every status transition, so a 100,000-recipient campaign's report is 16
//! reads. The export reads the campaign's messages page by page from its sharded index (GSI3,
//! [`keys::CAMPAIGN_MESSAGE_SHARDS`] lists), one page in memory at a time.

use serde::Serialize;

use crate::domain::Error;
use crate::domain::messages::{Message, MessageStatus};
use crate::ports::Ports;
use crate::ports::table::{Item, Query, TableError};
use crate::store::{campaigns, keys};

use super::counters::{self, FailureGroup};
use super::model::CampaignView;

/// How far the campaign's messages got. Cumulative: `delivered` includes `read`, `sent` includes
/// both (what reached the customer's phone counts as sent); `failed` never counts as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    /// The audience size (as `counts.total`).
    pub recipients: i64,
    /// Messages created for the audience (recipients minus the skipped).
    pub messages: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    /// Not sent yet (queued or being sent).
    pub pending: i64,
    pub cancelled: i64,
    pub skipped_opted_out: i64,
    pub skipped_missing_data: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignReport {
    pub campaign: CampaignView,
    pub funnel: Funnel,
    /// Failures grouped by Meta's error code (0: the platform's own reason, in `title`), most
    /// frequent first, each saying whether `retry-failed` would retry it.
    pub failures: Vec<FailureGroup>,
}

pub async fn report(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<CampaignReport, Error> {
    let campaign = campaigns::Campaigns::new(&*ports.table)
        .get(tenant_id, campaign_id)
        .await?
        .ok_or_else(|| Error::not_found("campaign"))?;
    let (counts, failures) = counters::read_with_failures(ports, tenant_id, campaign_id).await?;
    let campaign = campaign.view(counts.clone());
    let c = &campaign.counts;
    let funnel = Funnel {
        recipients: c.total,
        messages: counts.messages(),
        sent: c.sent + c.delivered + c.read,
        delivered: c.delivered + c.read,
        read: c.read,
        failed: c.failed,
        pending: c.queued,
        cancelled: c.cancelled,
        skipped_opted_out: c.skipped_opted_out,
        skipped_missing_data: c.skipped_missing_data,
    };
    Ok(CampaignReport { campaign, funnel, failures })
}

/// The export's header row.
pub const CSV_HEADER: &str = "contact_id,phone,status,error_code,error_title,sent_at,delivered_at,read_at\n";
/// Messages read per page of the export.
pub const EXPORT_PAGE: usize = 500;

/// Where an export is: the shard being read and its cursor.
#[derive(Clone, Debug, Default)]
pub struct ExportCursor {
    shard: u64,
    cursor: Option<String>,
    done: bool,
}

/// Checks the campaign exists (404 otherwise) and gives the export's start.
pub async fn start_export(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<ExportCursor, Error> {
    campaigns::Campaigns::new(&*ports.table).get(tenant_id, campaign_id).await?.ok_or_else(|| Error::not_found("campaign"))?;
    Ok(ExportCursor::default())
}

/// The next rows of the export (CSV text), or `None` when it is finished. Each call reads one
/// page of one shard.
pub async fn next_rows(
    ports: &Ports,
    tenant_id: &str,
    campaign_id: &str,
    at: &mut ExportCursor,
) -> Result<Option<String>, TableError> {
    if at.done {
        return Ok(None);
    }
    let query = Query::index(keys::SECONDARY, keys::campaign_messages(tenant_id, campaign_id, at.shard))
        .limit(EXPORT_PAGE)
        .cursor(at.cursor.take());
    let page = ports.table.query(query).await?;
    match page.next_cursor {
        Some(c) => at.cursor = Some(c),
        None if at.shard + 1 < keys::CAMPAIGN_MESSAGE_SHARDS => at.shard += 1,
        None => at.done = true,
    }
    let mut out = String::with_capacity(page.items.len() * 96);
    for item in &page.items {
        row(item, &mut out);
    }
    Ok(Some(out))
}

fn row(item: &Item, out: &mut String) {
    let Ok(m) = item.to_entity::<Message>() else { return };
    let at = |s: MessageStatus| {
        item.get_i64(&s.at_attr())
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let (code, title) = match (&m.error, m.status) {
        (Some(e), MessageStatus::Failed) => (e.code.to_string(), e.title.clone().unwrap_or_default()),
        _ => (String::new(), String::new()),
    };
    let fields = [
        m.contact_id.unwrap_or_default(),
        m.to.unwrap_or_default(),
        m.status.as_str().to_owned(),
        code,
        title,
        at(MessageStatus::Sent),
        at(MessageStatus::Delivered),
        at(MessageStatus::Read),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(f, out);
    }
    out.push('\n');
}

/// RFC 4180 quoting, and a leading `=`, `+` (but a phone's), `-`, `@` defused (a spreadsheet would run it as a
/// formula: CSV injection).
fn csv_field(value: &str, out: &mut String) {
    let defuse = match value.chars().next() {
        Some('=' | '-' | '@' | '\t' | '\r') => true,
        // An E.164 phone is data; anything else after a `+` may be a formula.
        Some('+') => !value[1..].chars().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    let quote = defuse || value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
        if defuse {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let mut out = String::new();
        for v in ["plain", "a,b", "say \"hi\"", "=HYPERLINK(\"x\")", "+14155550101", "@cmd"] {
            csv_field(v, &mut out);
            out.push('|');
        }
        assert_eq!(out, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"|+14155550101|\"'@cmd\"|");
    }
}
