//! A campaign's report (`GET /campaigns/{id}/report`) and its recipients export
//! (`GET /campaigns/{id}/recipients.csv`).
//!
//! The report reads only the counter shards (`counters`): the funnel and the failures grouped by
//! error are moved with every status transition, so a 100,000-recipient campaign's report is 16
//! reads. The export walks the campaign's audience page by page ([`Walk`]), one page in memory
//! at a time, and is handed out as the deployment hands out files ([`export`]): the local
//! process streams it in its answer; on AWS, where API Gateway buffers a Lambda's answer and caps
//! it at 6 MB, it is written to the media bucket through an upload (one page and at most one
//! 5 MiB part in memory) and the answer is a presigned download.

use serde::Serialize;

use crate::domain::Error;
use crate::domain::messages::{MessageError, MessageStatus};
use crate::ports::Ports;
use futures_util::future::try_join_all;

use crate::ports::storage::{
    Direction, EXPORT_RETENTION_DAYS, MediaKey, Metadata, ObjectInfo, PresignedRequest, RETENTION_TAG,
};
use crate::ports::table::{Item, TableError};
use crate::store::{campaigns, keys, messages};

use super::counters::{self, FailureGroup};
use super::fanout::audience_query;
use super::model::Campaign;
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

/// Where a walk over a campaign's messages is. A campaign's messages are found through its
/// audience, as the fan-out found them: the campaign's own index (GSI3) only holds the messages
/// not sent yet (a sent message moves to its contact's conversation), and message ids are
/// derived from (campaign, contact), so each page of the audience is one query plus one read per
/// contact — one page in memory at a time.
#[derive(Clone, Debug)]
pub struct Walk {
    campaign: Campaign,
    cursor: Option<String>,
    /// For an explicit audience: how many contact ids are done.
    position: usize,
    done: bool,
}

impl Walk {
    pub fn new(campaign: Campaign) -> Self {
        Self { campaign, cursor: None, position: 0, done: false }
    }
}

/// The next page of the campaign's messages (contacts skipped by the fan-out have none), or
/// `None` when the walk is finished.
pub async fn next_messages(ports: &Ports, walk: &mut Walk) -> Result<Option<Vec<Item>>, TableError> {
    if walk.done {
        return Ok(None);
    }
    let c = &walk.campaign;
    let contact_ids: Vec<String> =
        match audience_query(&c.tenant_id, &c.id, &c.audience, EXPORT_PAGE, walk.cursor.take()) {
            Some(query) => {
                let page = ports.table.query(query).await?;
                walk.done = page.next_cursor.is_none();
                walk.cursor = page.next_cursor;
                page.items.iter().filter_map(|i| i.get_str("id").map(str::to_owned)).collect()
            }
            None => {
                let ids: Vec<String> =
                    c.audience.contact_ids.iter().skip(walk.position).take(EXPORT_PAGE).cloned().collect();
                walk.position += ids.len();
                walk.done = walk.position >= c.audience.contact_ids.len();
                ids
            }
        };
    let gets = contact_ids.iter().map(|contact| {
        let key = messages::key(&c.tenant_id, &keys::campaign_message_id(&c.id, contact));
        async move { ports.table.get(&key).await }
    });
    let items = try_join_all(gets).await?.into_iter().flatten().collect();
    Ok(Some(items))
}

/// The export's content type (the streamed answer's and the stored object's).
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// How long the presigned download of a stored export is valid: the client follows the
/// redirect at once.
pub const EXPORT_URL_TTL: std::time::Duration = std::time::Duration::from_secs(120);

/// How a recipients export reaches the client.
pub enum Export {
    /// The answer carries the CSV ([`csv_stream`]): the local process, whose files are served
    /// by the process itself (`Storage::redirects_downloads` is false).
    Stream(Box<Walk>),
    /// The CSV was written to storage: the answer redirects to this presigned GET.
    Download(PresignedRequest),
}

/// Checks the campaign exists (404 otherwise) and hands its export out as the storage hands
/// out files: streamed, or written under the tenant's `exports/` prefix and presigned.
pub async fn export(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Export, Error> {
    let walk = start_export(ports, tenant_id, campaign_id).await?;
    if !ports.storage.redirects_downloads() {
        return Ok(Export::Stream(Box::new(walk)));
    }
    let name = format!("{}/{campaign_id}-recipients.csv", ports.ids.new_id("exp"));
    let key = MediaKey::new(tenant_id, Direction::Exports, &name).map_err(Error::internal)?;
    store_export(ports, walk, &key).await?;
    Ok(Export::Download(ports.storage.presign_get(&key, EXPORT_URL_TTL).await?))
}

/// Writes the whole export (the same bytes as [`csv_stream`]) to `key`, a page at a time; on
/// an error the upload is abandoned and nothing is stored.
pub async fn store_export(ports: &Ports, walk: Walk, key: &MediaKey) -> Result<ObjectInfo, Error> {
    use futures_util::StreamExt;
    let metadata: Metadata = [(RETENTION_TAG.to_owned(), EXPORT_RETENTION_DAYS.to_string())].into();
    let mut upload = ports.storage.upload(key, CSV_CONTENT_TYPE, &metadata).await?;
    let mut chunks = std::pin::pin!(csv_stream(ports.clone(), walk));
    while let Some(chunk) = chunks.next().await {
        let written = match chunk {
            Ok(text) => upload.write(bytes::Bytes::from(text)).await.map_err(Error::from),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = written {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(error = %abort, %key, "abandoned export upload not aborted (the bucket's lifecycle rule will)");
            }
            return Err(e);
        }
    }
    Ok(upload.finish().await?)
}

/// Checks the campaign exists (404 otherwise) and gives the export's start.
pub async fn start_export(ports: &Ports, tenant_id: &str, campaign_id: &str) -> Result<Walk, Error> {
    let campaign = campaigns::Campaigns::new(&*ports.table)
        .get(tenant_id, campaign_id)
        .await?
        .ok_or_else(|| Error::not_found("campaign"))?;
    Ok(Walk::new(campaign))
}

/// The next rows of the export (CSV text), or `None` when it is finished.
pub async fn next_rows(ports: &Ports, walk: &mut Walk) -> Result<Option<String>, TableError> {
    let Some(items) = next_messages(ports, walk).await? else { return Ok(None) };
    let mut out = String::with_capacity(items.len() * 96);
    for item in &items {
        row(item, &mut out);
    }
    Ok(Some(out))
}

/// The whole export as a stream of text chunks (the header, then one chunk per page): what the
/// API route and the console's download send as a chunked body. An error ends the stream with
/// that error (the edge ends the body early: a truncated transfer, never a short file that looks
/// complete).
pub fn csv_stream(
    ports: Ports,
    walk: Walk,
) -> impl futures_util::Stream<Item = Result<String, TableError>> + Send + 'static {
    use futures_util::StreamExt;
    let header = futures_util::stream::once(async { Ok(CSV_HEADER.to_owned()) });
    let rows = futures_util::stream::unfold(Some(walk), move |walk| {
        let ports = ports.clone();
        async move {
            let mut walk = walk?;
            match next_rows(&ports, &mut walk).await {
                Ok(Some(rows)) => Some((Ok(rows), Some(walk))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        }
    });
    header.chain(rows)
}

fn row(item: &Item, out: &mut String) {
    // Read attribute by attribute (not the whole entity): a row is never dropped for one odd field.
    let text = |name: &str| item.get_str(name).unwrap_or_default().to_owned();
    let at = |s: MessageStatus| {
        item.get_i64(&s.at_attr())
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let status = text("status");
    let error = item.get("error").and_then(|e| serde_json::from_value::<MessageError>(e.clone()).ok());
    let (code, title) = match error {
        Some(e) if status == MessageStatus::Failed.as_str() => (e.code.to_string(), e.title.unwrap_or_default()),
        _ => (String::new(), String::new()),
    };
    let fields = [
        text("contact_id"),
        text("to"),
        status,
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
