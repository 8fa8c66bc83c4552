//! Customers' media (SPEC → Media and rich messages → inbound): the webhook processor records a
//! media message at once with `media.status: "pending"` ([`record_pending`]) and queues a job on
//! the `media` queue; the job ([`fetch`]) asks Graph where the file is (`GET /{media-id}` → a
//! 5-minute URL), downloads it with the business token, checks its SHA-256 and size, stores it
//! under `tenants/{tenant_id}/inbound/` and sets `ready`. A failure worth retrying is retried with
//! backoff (an expired URL is asked for again at once); one that is not, or the last attempt,
//! sets `failed` with the reason — on the media item and on its message, never silently.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::model::{MediaDirection, MediaItem, MediaStatus, MessageMedia};
use super::types::{self, MediaKind};
use crate::domain::webhooks::payload::InboundMessage;
use crate::domain::{Error, Kind};
use crate::ports::Ports;
use crate::ports::meta::{Disposition, MetaError};
use crate::ports::queue::OutMessage;
use crate::ports::storage::{Direction, MediaKey, sha256_hex};
use crate::ports::table::{Cond, TableError, Update};
use crate::store::keys;
use crate::store::media::MediaStore;

/// How many deliveries of a job fetch before the media is `failed` (Meta keeps a customer's
/// media for a while; the queue's backoff spreads these over tens of minutes).
pub const MAX_ATTEMPTS: u32 = 8;

/// The `media` queue's job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchJob {
    pub tenant_id: String,
    pub media_id: String,
}

/// Our media id for an inbound message's file: derived from the message id, so a redelivered
/// webhook finds the item it made before.
pub fn media_id_of(message_id: &str) -> String {
    format!("med_{}", message_id.strip_prefix("msg_").unwrap_or(message_id))
}

/// What the webhook says about a media message's file (`None`: not a media message).
struct Announced<'a> {
    meta_media_id: &'a str,
    kind: MediaKind,
    mime_type: String,
    filename: Option<String>,
    sha256: Option<String>,
}

fn announced(message: &InboundMessage) -> Option<Announced<'_>> {
    let (Some(meta_media_id), Some(kind)) = (message.media_id.as_deref(), MediaKind::parse(&message.kind)) else {
        return None;
    };
    let body = message.raw.get(&message.kind);
    let field = |name: &str| body.and_then(|b| b.get(name)).and_then(|v| v.as_str()).map(str::to_owned);
    Some(Announced {
        meta_media_id,
        kind,
        mime_type: field("mime_type").unwrap_or_default(),
        filename: super::service::clean_filename(field("filename").as_deref()),
        sha256: field("sha256"),
    })
}

/// How an inbound media message shows its file before the fetch: `pending`. The message is
/// written with it, so no reader ever sees a media message without its file's state.
pub fn pending_view(message_id: &str, message: &InboundMessage) -> Option<MessageMedia> {
    let a = announced(message)?;
    Some(MessageMedia {
        id: media_id_of(message_id),
        kind: a.kind,
        status: MediaStatus::Pending,
        mime_type: Some(a.mime_type).filter(|m| !m.is_empty()),
        filename: a.filename,
        error: None,
    })
}

/// Records a media message's file as `pending` (once), shows its state on the message (a
/// redelivery finds the item made before, maybe fetched by now), and queues its fetch while it is
/// pending. Not a media message: nothing. Safe to repeat.
pub async fn record_pending(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    conversation_id: Option<&str>,
    message: &InboundMessage,
) -> Result<(), Error> {
    let Some(a) = announced(message) else {
        return Ok(());
    };
    let id = media_id_of(message_id);
    let extension = types::by_mime(&a.mime_type).map_or("bin", |t| t.extension);
    let key = MediaKey::new(tenant_id, Direction::Inbound, &format!("{id}.{extension}")).map_err(Error::internal)?;
    let item = MediaItem {
        id: id.clone(),
        tenant_id: tenant_id.to_owned(),
        kind: a.kind,
        mime_type: a.mime_type,
        size: 0,
        sha256: a.sha256,
        filename: a.filename,
        direction: MediaDirection::Inbound,
        status: MediaStatus::Pending,
        storage_key: key.to_string(),
        uploaded_by: None,
        conversation_id: conversation_id.map(str::to_owned),
        error: None,
        created_at: ports.clock.now(),
    };
    let store = MediaStore::new(&*ports.table);
    // Where Meta keeps it, for the fetch.
    let created = store.create(&item).await?;
    let item = if created { item } else { store.get(tenant_id, &id).await?.unwrap_or(item) };
    if created {
        ports
            .table
            .update(
                &keys::media(tenant_id, &id),
                Update::new().set("meta_media_id", a.meta_media_id),
                Some(Cond::Exists),
            )
            .await?;
    }
    set_message_media(ports, tenant_id, message_id, &item).await?;
    if item.status == MediaStatus::Pending {
        let job = FetchJob { tenant_id: tenant_id.to_owned(), media_id: id };
        let body = serde_json::to_string(&job).map_err(Error::internal)?;
        ports.queue.send(crate::queues::MEDIA, OutMessage::new(body).in_group(tenant_id)).await?;
    }
    Ok(())
}

pub(crate) async fn set_message_media(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    item: &MediaItem,
) -> Result<(), Error> {
    let value = serde_json::to_value(MessageMedia::from(item)).map_err(Error::internal)?;
    match ports
        .table
        .update(&keys::message(tenant_id, message_id), Update::new().set("media", value), Some(Cond::Exists))
        .await
    {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The message a media item belongs to (`med_X` ↔ `msg_X`).
pub(crate) fn message_id_of(media_id: &str) -> String {
    format!("msg_{}", media_id.strip_prefix("med_").unwrap_or(media_id))
}

/// What one delivery of a fetch job did.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Stored (or already stored, or no longer pending).
    Done,
    /// Gave up: the item is `failed` with this reason.
    Failed(String),
}

/// One delivery of a [`FetchJob`] (`attempt` counts from 1). `Err`: retry later.
pub async fn fetch(ports: &Ports, job: &FetchJob, attempt: u32) -> Result<Fetched, Error> {
    let store = MediaStore::new(&*ports.table);
    let Some(record) = ports.table.get(&keys::media(&job.tenant_id, &job.media_id)).await? else {
        return Ok(Fetched::Done);
    };
    let item: MediaItem = record.to_entity()?;
    if item.status != MediaStatus::Pending {
        return Ok(Fetched::Done);
    }
    let meta_media_id = record.get_str("meta_media_id").unwrap_or_default().to_owned();
    match download(ports, &item, &meta_media_id).await {
        Ok(body) => {
            let key = MediaKey::parse(&item.storage_key).map_err(Error::internal)?;
            let mime = types::by_mime(&item.mime_type).map_or("application/octet-stream", |t| t.mime);
            let stored = ports
                .storage
                .put(&key, body.clone(), mime, &super::retention::tag(ports, &item.tenant_id).await?)
                .await?;
            let update = Update::new().set("size", body.len() as u64).set("sha256", stored.sha256.unwrap_or_default());
            if let Some(ready) = store
                .transition(&job.tenant_id, &job.media_id, MediaStatus::Pending, MediaStatus::Ready, update)
                .await?
            {
                set_message_media(ports, &job.tenant_id, &message_id_of(&job.media_id), &ready).await?;
            }
            Ok(Fetched::Done)
        }
        Err(e) if e.is_permanent() || attempt >= MAX_ATTEMPTS => {
            let reason = if e.is_permanent() {
                e.message.clone()
            } else {
                format!("{} (gave up after {attempt} attempts)", e.message)
            };
            let update = Update::new().set("error", reason.clone());
            if let Some(failed) = store
                .transition(&job.tenant_id, &job.media_id, MediaStatus::Pending, MediaStatus::Failed, update)
                .await?
            {
                set_message_media(ports, &job.tenant_id, &message_id_of(&job.media_id), &failed).await?;
            }
            tracing::warn!(tenant_id = %job.tenant_id, media_id = %job.media_id, reason = %reason, "inbound media failed");
            Ok(Fetched::Failed(reason))
        }
        Err(e) => Err(e),
    }
}

/// Graph's URL for the file, then the file; an expired URL (Meta's 404) is asked for once more.
/// The bytes must have the SHA-256 Meta gave and fit the kind's limit.
async fn download(ports: &Ports, item: &MediaItem, meta_media_id: &str) -> Result<Bytes, Error> {
    if meta_media_id.is_empty() {
        return Err(Error::invalid("media_unknown", "the webhook named no media id"));
    }
    let (_, token) = crate::domain::whatsapp::connection::business_token(ports, &item.tenant_id).await?;
    let limit = item.kind.max_size();
    let mut last = None;
    for _ in 0..2 {
        let info = ports.meta.get_media(&token, meta_media_id).await.map_err(graph_error)?;
        match ports.meta.download_media(&token, &info.url, limit).await {
            Ok(body) => {
                let sha = sha256_hex(&body);
                let expected = info.sha256.to_ascii_lowercase();
                if !expected.is_empty() && expected != sha && !base64_matches(&info.sha256, &sha) {
                    return Err(Error::unavailable("the downloaded file's SHA-256 is not Meta's (a broken download)"));
                }
                return Ok(body);
            }
            // Expired URL: ask again.
            Err(MetaError::Api { status: 404, .. }) => last = Some(Error::unavailable("the media URL expired")),
            Err(e) => return Err(graph_error(e)),
        }
    }
    Err(last.unwrap_or_else(|| Error::unavailable("the media URL expired")))
}

/// Meta's webhook gives the SHA-256 in base64: the same digest as `hex`?
fn base64_matches(given: &str, hex: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(given)
        .is_ok_and(|raw| raw.iter().map(|b| format!("{b:02x}")).collect::<String>() == hex)
}

fn graph_error(e: MetaError) -> Error {
    match e.disposition() {
        Disposition::Retry => Error::new(Kind::Unavailable, "meta_unavailable", format!("WhatsApp: {e}")),
        Disposition::ReauthRequired => {
            Error::new(Kind::Upstream { meta_code: e.code() }, "meta_token_expired", format!("WhatsApp: {e}"))
        }
        Disposition::Permanent => Error::invalid("media_unavailable", format!("WhatsApp refused the media: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_id_and_its_message_id_map_both_ways() {
        assert_eq!(media_id_of("msg_01ABC"), "med_01ABC");
        assert_eq!(message_id_of("med_01ABC"), "msg_01ABC");
    }

    #[test]
    fn webhook_sha256_is_base64_of_the_digest() {
        let hex = sha256_hex(b"hello");
        assert!(base64_matches("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", &hex));
        assert!(!base64_matches("AAAA", &hex));
    }
}
