//! Retention (SPEC → Media and rich messages: "stored media is deleted after the plan's
//! `media_retention_days`, and its message shows `media.status: "expired"`").
//!
//! A file is due once `media_retention_days` (the tenant's plan, read when it is checked: a plan
//! change applies to files already stored) have passed since it was stored. Then:
//! - reads see it `expired` at once ([`seen_at`]: `GET /media/{id}` answers 410 `media_expired`, a
//!   send refuses it), whichever deletes the bytes;
//! - the embedded store's bytes are deleted by [`sweep`], run by the local process hourly
//!   beside the reconciler (the storage port's list + delete), which also marks the item and its
//!   inbound message `expired`;
//! - on S3 the object carries the `retention-days` tag ([`tag`]) the bucket's lifecycle rules in
//!   template.yaml match (7, 30, 90 or 365 days, rounded up; longer plans fall to the 400-day rule).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::inbound::{message_id_of, set_message_media};
use super::model::{MediaDirection, MediaItem, MediaStatus, MessageMedia};
use crate::domain::messages::model::MessageView;
use crate::domain::{Error, limits};
use crate::ports::Ports;
use crate::ports::storage::{MediaKey, MediaPrefix, Metadata, RETENTION_TAG};
use crate::ports::table::Update;
use crate::store::media::MediaStore;
use crate::store::tenants::Tenants;

/// The lifecycle rules' periods in template.yaml.
const RULES: [u64; 4] = [7, 30, 90, 365];
/// Tenants read per page by the sweep.
const TENANT_PAGE: usize = 100;

/// Whether `item`, stored under a plan keeping files `days`, is past its retention at `now`.
pub fn due(item: &MediaItem, days: Option<u64>, now: DateTime<Utc>) -> bool {
    days.is_some_and(|d| item.created_at + Duration::days(i64::try_from(d).unwrap_or(i64::MAX / 86_400_000)) <= now)
}

/// The item as a reader sees it: a ready file past its retention is `expired` (its bytes may be
/// gone already: S3's lifecycle does not tell us).
pub async fn seen_at(ports: &Ports, mut item: MediaItem, now: DateTime<Utc>) -> Result<MediaItem, Error> {
    if item.status == MediaStatus::Ready
        && due(&item, limits::media_retention_days(&*ports.table, &item.tenant_id).await?, now)
    {
        item.status = MediaStatus::Expired;
    }
    Ok(item)
}

/// Messages' files as readers see them. A message records its file's status when the file is
/// sent or fetched, and the sweep marks an inbound file's message when it deletes the file; but an
/// outbound file may be in any number of messages (a campaign's header), and on S3 the bucket's
/// lifecycle deletes files without telling anyone. So each `ready` file is looked up (once per
/// file) and shown `expired` once its item is, or once it is past the plan's retention.
pub async fn messages_as_seen(ports: &Ports, tenant_id: &str, messages: &mut [MessageView]) -> Result<(), Error> {
    let mut ready: Vec<&mut MessageMedia> =
        messages.iter_mut().filter_map(|m| m.media.as_mut()).filter(|f| f.status == MediaStatus::Ready).collect();
    if ready.is_empty() {
        return Ok(());
    }
    let days = limits::media_retention_days(&*ports.table, tenant_id).await?;
    let (store, now) = (MediaStore::new(&*ports.table), ports.clock.now());
    let mut gone: HashMap<String, bool> = HashMap::new();
    for media in ready.iter_mut() {
        let expired = match gone.get(&media.id) {
            Some(expired) => *expired,
            None => {
                let expired = store.get(tenant_id, &media.id).await?.is_some_and(|item| {
                    item.status == MediaStatus::Expired || (item.status == MediaStatus::Ready && due(&item, days, now))
                });
                gone.insert(media.id.clone(), expired);
                expired
            }
        };
        if expired {
            media.status = MediaStatus::Expired;
        }
    }
    Ok(())
}

/// The storage metadata that tags a new object of `tenant_id` with its plan's retention (the
/// smallest lifecycle rule that keeps it long enough; none past the longest).
pub async fn tag(ports: &Ports, tenant_id: &str) -> Result<Metadata, Error> {
    let mut metadata = Metadata::new();
    if let Some(days) = limits::media_retention_days(&*ports.table, tenant_id).await?
        && let Some(rule) = RULES.into_iter().find(|r| *r >= days)
    {
        metadata.insert(RETENTION_TAG.to_owned(), rule.to_string());
    }
    Ok(metadata)
}

/// Deletes the file and marks it (and a customer's file's message) `expired`. Safe to repeat.
pub async fn expire(ports: &Ports, item: &MediaItem) -> Result<bool, Error> {
    let key = MediaKey::parse(&item.storage_key).map_err(Error::internal)?;
    ports.storage.delete(&key).await?;
    let Some(expired) = MediaStore::new(&*ports.table)
        .transition(&item.tenant_id, &item.id, MediaStatus::Ready, MediaStatus::Expired, Update::new())
        .await?
    else {
        return Ok(false);
    };
    if expired.direction == MediaDirection::Inbound {
        set_message_media(ports, &item.tenant_id, &message_id_of(&item.id), &expired).await?;
    }
    Ok(true)
}

/// Every tenant's stored files past their plan's retention at `now`: deleted and marked
/// `expired` (see [`expire`]). Returns how many.
pub async fn sweep(ports: &Ports, now: DateTime<Utc>) -> Result<usize, Error> {
    let (tenants, media) = (Tenants::new(&*ports.table), MediaStore::new(&*ports.table));
    let (mut cursor, mut expired) = (None, 0);
    loop {
        let (page, next) = tenants.list(TENANT_PAGE, cursor).await?;
        for tenant in page {
            let Some(days) = limits::media_retention_days(&*ports.table, &tenant.id).await? else { continue };
            let prefix = MediaPrefix::tenant(&tenant.id).map_err(Error::internal)?;
            for object in ports.storage.list(&prefix).await? {
                // Keys are `…/{media id}.{extension}`.
                let name = object.key.as_str().rsplit('/').next().unwrap_or_default();
                let id = name.split('.').next().unwrap_or_default();
                let Some(item) = media.get(&tenant.id, id).await? else { continue };
                if item.status == MediaStatus::Ready && due(&item, Some(days), now) && expire(ports, &item).await? {
                    expired += 1;
                }
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(expired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::media::MediaKind;

    #[test]
    fn due_after_the_plans_days() {
        let at = Utc::now();
        let item = MediaItem {
            id: "med_1".into(),
            tenant_id: "ten_1".into(),
            kind: MediaKind::Image,
            mime_type: "image/png".into(),
            size: 1,
            sha256: None,
            filename: None,
            direction: MediaDirection::Outbound,
            status: MediaStatus::Ready,
            storage_key: "tenants/ten_1/outbound/med_1.png".into(),
            uploaded_by: None,
            conversation_id: None,
            error: None,
            created_at: at,
        };
        assert!(!due(&item, None, at + Duration::days(10_000)));
        assert!(!due(&item, Some(30), at + Duration::days(29)));
        assert!(due(&item, Some(30), at + Duration::days(30)));
    }
}
