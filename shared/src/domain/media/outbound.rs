//! Sending a stored file (SPEC: "uploaded to Meta (`POST /{phone}/media`) and sent by id, never by
//! our own link"): the send worker asks [`meta_media_id`] for Meta's id of the message's file on
//! the sending number — uploaded once per file and number, then reused while Meta keeps it.

use secrecy::SecretString;

use super::model::MessageMedia;
use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::meta::MetaError;
use crate::ports::storage::MediaKey;
use crate::ports::table::{Item, TableError};
use crate::store::keys;
use crate::store::media::MediaStore;

/// How long an upload's id is reused: Meta keeps uploaded media 30 days.
pub const META_ID_TTL_SECS: i64 = 29 * 24 * 3600;

/// Meta's id for `media` on `phone_number_id`, uploading the file if this number has none yet.
/// The outer error is ours (storage, table); the inner one is Meta's answer to the upload, which
/// the caller treats like an answer to the send.
pub async fn meta_media_id(
    ports: &Ports,
    token: &SecretString,
    phone_number_id: &str,
    tenant_id: &str,
    media: &MessageMedia,
) -> Result<Result<String, MetaError>, Error> {
    let cache = keys::media_meta_upload(tenant_id, &media.id, phone_number_id);
    if let Some(id) = ports.table.get(&cache).await?.and_then(|i| i.get_str("meta_media_id").map(str::to_owned)) {
        return Ok(Ok(id));
    }
    let item =
        MediaStore::new(&*ports.table).get(tenant_id, &media.id).await?.ok_or_else(|| Error::not_found("media"))?;
    let key = MediaKey::parse(&item.storage_key).map_err(Error::internal)?;
    let object = ports.storage.get(&key).await?;
    let filename =
        item.filename.clone().unwrap_or_else(|| key.as_str().rsplit('/').next().unwrap_or("file").to_owned());
    let id = match ports.meta.upload_media(token, phone_number_id, &item.mime_type, &filename, object.body).await {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let record =
        Item::new(cache).with("meta_media_id", id.clone()).with_ttl(ports.clock.epoch_seconds() + META_ID_TTL_SECS);
    match ports.table.put(record, None).await {
        Ok(()) => {}
        // Not kept: the next send uploads again, nothing worse.
        Err(TableError::Unavailable(e)) => tracing::warn!(error = %e, "media upload id not cached"),
        Err(e) => return Err(e.into()),
    }
    Ok(Ok(id))
}
