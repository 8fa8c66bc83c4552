//! Media use cases: upload (whole, or a grant for a direct upload to storage), and the download
//! URL of an item for the tenant's team. Type and size are checked before anything is stored
//! (`types`); a direct upload's bytes are checked the first time the item is used, before anyone
//! can download or send them (a file that is not what it declared is deleted: `rejected`).

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::model::{MediaDirection, MediaItem, MediaStatus};
use super::types::{self, MediaType, SNIFF_BYTES};
use crate::domain::inbox::Scope;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::storage::{
    Direction, MAX_GET_URL_TTL, MAX_PUT_URL_TTL, MediaKey, Object, PresignedRequest, StorageError,
};
use crate::ports::table::Update;
use crate::store::media::MediaStore;

/// Longest file name kept (the rest of a longer one is cut).
pub const MAX_FILENAME_CHARS: usize = 240;
/// How long a download URL is valid (SPEC: at most 5 minutes).
pub const DOWNLOAD_URL_TTL: Duration = MAX_GET_URL_TTL;
/// How long a direct upload URL is valid: the upload must start within it.
pub const UPLOAD_URL_TTL: Duration = MAX_PUT_URL_TTL;

/// The file name as given, without any folder part or control characters; `None` if nothing is left.
pub fn clean_filename(name: Option<&str>) -> Option<String> {
    let name = name?.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = name.chars().filter(|c| !c.is_control()).take(MAX_FILENAME_CHARS).collect();
    let clean = clean.trim();
    (!clean.is_empty() && clean != "." && clean != "..").then(|| clean.to_owned())
}

fn outbound_key(tenant_id: &str, id: &str, media_type: &MediaType) -> Result<MediaKey, Error> {
    MediaKey::new(tenant_id, Direction::Outbound, &format!("{id}.{}", media_type.extension)).map_err(Error::internal)
}

fn new_item(
    ports: &Ports,
    tenant_id: &str,
    uploaded_by: &str,
    media_type: &MediaType,
    size: u64,
    filename: Option<String>,
    status: MediaStatus,
) -> Result<(MediaItem, MediaKey), Error> {
    let id = ports.ids.new_id("med");
    let key = outbound_key(tenant_id, &id, media_type)?;
    let item = MediaItem {
        id,
        tenant_id: tenant_id.to_owned(),
        kind: media_type.kind,
        mime_type: media_type.mime.to_owned(),
        size,
        sha256: None,
        filename,
        direction: MediaDirection::Outbound,
        status,
        storage_key: key.to_string(),
        uploaded_by: Some(uploaded_by.to_owned()),
        conversation_id: None,
        error: None,
        created_at: ports.clock.now(),
    };
    Ok((item, key))
}

/// A whole file to upload (`POST /media`).
#[derive(Clone, Debug)]
pub struct Upload {
    /// The part's `Content-Type`, if any.
    pub declared_type: Option<String>,
    pub filename: Option<String>,
    pub body: Bytes,
}

/// `POST /media`: checks type, content and size, then stores the file under the tenant's
/// outbound prefix and records it `ready`.
pub async fn upload(ports: &Ports, tenant_id: &str, uploaded_by: &str, input: Upload) -> Result<MediaItem, Error> {
    let filename = clean_filename(input.filename.as_deref());
    let head = &input.body[..input.body.len().min(SNIFF_BYTES)];
    let complete = input.body.len() <= SNIFF_BYTES;
    let media_type = types::admit(input.declared_type.as_deref(), filename.as_deref(), head, complete)?;
    types::check_size(media_type, input.body.len() as u64)?;
    let (mut item, key) =
        new_item(ports, tenant_id, uploaded_by, media_type, input.body.len() as u64, filename, MediaStatus::Ready)?;
    let stored =
        ports.storage.put(&key, input.body, media_type.mime, &super::retention::tag(ports, tenant_id).await?).await?;
    item.sha256 = stored.sha256;
    if !MediaStore::new(&*ports.table).create(&item).await? {
        return Err(Error::conflict("conflict", "a media item with this id exists"));
    }
    Ok(item)
}

/// What `POST /media/uploads` asks for.
#[derive(Clone, Debug, Default)]
pub struct UploadRequest {
    pub filename: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
}

/// A granted direct upload: the item (`uploading`) and the request the client makes.
#[derive(Clone, Debug)]
pub struct UploadGrant {
    pub item: MediaItem,
    pub request: PresignedRequest,
}

/// `POST /media/uploads`: a presigned PUT of exactly the declared type and size, granted only for
/// a type WhatsApp takes within its limit. The bytes are checked on first use.
pub async fn grant_upload(
    ports: &Ports,
    tenant_id: &str,
    uploaded_by: &str,
    input: UploadRequest,
) -> Result<UploadGrant, Error> {
    let mut errors = Vec::new();
    let mime = input.mime_type.as_deref().map(str::trim).filter(|m| !m.is_empty());
    if mime.is_none() {
        errors.push(FieldError::new("mime_type", "required", "is required"));
    }
    match input.size {
        None => errors.push(FieldError::new("size", "required", "is required")),
        Some(0) => errors.push(FieldError::new("size", "invalid", "must be at least 1 byte")),
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let (mime, size) = (mime.unwrap_or_default(), input.size.unwrap_or_default());
    let media_type = types::by_mime(mime)
        .ok_or_else(|| Error::unsupported_type(format!("{mime} is not a media type WhatsApp takes")))?;
    types::check_size(media_type, size)?;
    let filename = clean_filename(input.filename.as_deref());
    let (item, key) = new_item(ports, tenant_id, uploaded_by, media_type, size, filename, MediaStatus::Uploading)?;
    let request = ports.storage.presign_put(&key, media_type.mime, size, UPLOAD_URL_TTL).await?;
    if !MediaStore::new(&*ports.table).create(&item).await? {
        return Err(Error::conflict("conflict", "a media item with this id exists"));
    }
    Ok(UploadGrant { item, request })
}

/// The item, if `scope` may see it: inbound media is seen by whoever sees its conversation.
pub async fn get(ports: &Ports, tenant_id: &str, id: &str, scope: &Scope) -> Result<MediaItem, Error> {
    let item = MediaStore::new(&*ports.table).get(tenant_id, id).await?.ok_or_else(|| Error::not_found("media"))?;
    if let Some(conversation_id) = &item.conversation_id
        && crate::domain::inbox::list::get(ports, tenant_id, conversation_id, scope).await?.is_none()
    {
        return Err(Error::not_found("media"));
    }
    super::retention::seen_at(ports, item, ports.clock.now()).await
}

/// The item, ready to download or send: a direct upload is checked now (once). 409
/// `media_not_ready` while it is pending or not uploaded yet, 410 `media_expired`, 422
/// `media_failed` / 415 for a rejected upload.
pub async fn ready(ports: &Ports, tenant_id: &str, id: &str, scope: &Scope) -> Result<MediaItem, Error> {
    let item = get(ports, tenant_id, id, scope).await?;
    match item.status {
        MediaStatus::Ready => Ok(item),
        MediaStatus::Uploading => finish_upload(ports, item).await,
        MediaStatus::Pending => {
            Err(Error::conflict("media_not_ready", "the file is still being fetched from WhatsApp"))
        }
        MediaStatus::Failed => Err(Error::invalid(
            "media_failed",
            format!("the file could not be fetched: {}", item.error.as_deref().unwrap_or("unknown reason")),
        )),
        MediaStatus::Rejected => Err(Error::unsupported_type(
            item.error.unwrap_or_else(|| "the uploaded file was not what it declared".into()),
        )),
        MediaStatus::Expired => Err(Error::new(
            crate::domain::Kind::Gone,
            "media_expired",
            "the file was deleted after the plan's retention",
        )),
    }
}

/// How a file reaches the client that asked for it.
#[derive(Debug)]
pub enum Download {
    /// A URL of the file valid [`DOWNLOAD_URL_TTL`] (S3 presigned).
    Redirect(PresignedRequest),
    /// The bytes themselves (the embedded store).
    File(Object),
}

/// `GET /media/{id}`: the file of a ready item, as the storage hands files out.
pub async fn download(ports: &Ports, tenant_id: &str, id: &str, scope: &Scope) -> Result<(MediaItem, Download), Error> {
    let item = ready(ports, tenant_id, id, scope).await?;
    let key = MediaKey::parse(&item.storage_key).map_err(Error::internal)?;
    let download = if ports.storage.redirects_downloads() {
        Download::Redirect(ports.storage.presign_get(&key, DOWNLOAD_URL_TTL).await?)
    } else {
        Download::File(ports.storage.get(&key).await?)
    };
    Ok((item, download))
}

/// Checks a direct upload's stored bytes: the size it declared, the content its type starts
/// with; hashes them and sets `ready`. A file that is not what it declared is deleted (`rejected`).
async fn finish_upload(ports: &Ports, item: MediaItem) -> Result<MediaItem, Error> {
    let key = MediaKey::parse(&item.storage_key).map_err(Error::internal)?;
    let media_type =
        types::by_mime(&item.mime_type).ok_or_else(|| Error::internal("stored media of an unknown type"))?;
    let (info, mut reader) = match ports.storage.open(&key).await {
        Ok(opened) => opened,
        Err(StorageError::NotFound(_)) => {
            return Err(Error::conflict(
                "media_not_ready",
                "the file has not been uploaded yet (PUT it to upload_url)",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf).await.map_err(|e| Error::from(StorageError::Unavailable(e.to_string())))?;
        if n == 0 {
            break;
        }
        if head.len() < SNIFF_BYTES {
            head.extend_from_slice(&buf[..n.min(SNIFF_BYTES - head.len())]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let verdict = if size != item.size || info.size != item.size {
        Err(Error::invalid("size_mismatch", format!("{size} bytes were uploaded, {} declared", item.size)))
    } else {
        types::check_content(media_type, &head, size as usize <= SNIFF_BYTES)
    };
    let store = MediaStore::new(&*ports.table);
    match verdict {
        Ok(()) => {
            let sha256: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
            let update = Update::new().set("sha256", sha256);
            match store
                .transition(&item.tenant_id, &item.id, MediaStatus::Uploading, MediaStatus::Ready, update)
                .await?
            {
                Some(ready) => Ok(ready),
                // Someone else finished it first: whatever they decided stands.
                None => reread(ports, &item).await,
            }
        }
        Err(refusal) => {
            ports.storage.delete(&key).await?;
            let update = Update::new().set("error", refusal.message.clone());
            store.transition(&item.tenant_id, &item.id, MediaStatus::Uploading, MediaStatus::Rejected, update).await?;
            Err(Error::unsupported_type(refusal.message))
        }
    }
}

async fn reread(ports: &Ports, item: &MediaItem) -> Result<MediaItem, Error> {
    let current = MediaStore::new(&*ports.table)
        .get(&item.tenant_id, &item.id)
        .await?
        .ok_or_else(|| Error::not_found("media"))?;
    match current.status {
        MediaStatus::Ready => Ok(current),
        _ => Err(Error::unsupported_type(current.error.unwrap_or_else(|| "the uploaded file was refused".into()))),
    }
}

/// A tenant's own image, ready (the brand logo): 422 on `field` otherwise (`invalid_media_id`
/// for an id that is not the tenant's, `not_an_image`, `media_not_ready` for a direct upload not
/// checked yet: this reads the table only, so the settings route needs no storage).
pub async fn own_image(ports: &Ports, tenant_id: &str, id: &str, field: &str) -> Result<MediaItem, Error> {
    let refuse = |code: &'static str, message: &str| Error::validation(vec![FieldError::new(field, code, message)]);
    let Some(item) = MediaStore::new(&*ports.table).get(tenant_id, id).await? else {
        return Err(refuse("invalid_media_id", "is not a media item of this tenant"));
    };
    if item.kind != types::MediaKind::Image {
        return Err(refuse("not_an_image", "must be an image (jpeg or png)"));
    }
    if item.status != MediaStatus::Ready {
        return Err(refuse("media_not_ready", "is not a ready file (upload a logo with POST /media)"));
    }
    Ok(item)
}

/// [`upload`] of an image only (a brand logo): anything else is refused before it is stored
/// (422 `not_an_image` on `file`, besides the type, content and size checks of any upload).
pub async fn upload_image(
    ports: &Ports,
    tenant_id: &str,
    uploaded_by: &str,
    input: Upload,
) -> Result<MediaItem, Error> {
    let filename = clean_filename(input.filename.as_deref());
    let head = &input.body[..input.body.len().min(SNIFF_BYTES)];
    let media_type =
        types::admit(input.declared_type.as_deref(), filename.as_deref(), head, input.body.len() <= SNIFF_BYTES)?;
    if media_type.kind != types::MediaKind::Image {
        return Err(Error::validation(vec![FieldError::new("file", "not_an_image", "must be an image (jpeg or png)")]));
    }
    upload(ports, tenant_id, uploaded_by, input).await
}

/// The bytes of a ready item, whatever the storage (for files the console serves itself, like
/// the brand logo under its own Content-Security-Policy).
pub async fn read_file(ports: &Ports, tenant_id: &str, id: &str, scope: &Scope) -> Result<(MediaItem, Object), Error> {
    let item = ready(ports, tenant_id, id, scope).await?;
    let key = MediaKey::parse(&item.storage_key).map_err(Error::internal)?;
    let object = ports.storage.get(&key).await?;
    Ok((item, object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_folders_and_control_characters() {
        assert_eq!(clean_filename(Some("../../etc/passwd")).as_deref(), Some("passwd"));
        assert_eq!(clean_filename(Some("C:\\Users\\a\\Invoice 42.pdf")).as_deref(), Some("Invoice 42.pdf"));
        assert_eq!(clean_filename(Some("bad\r\nname.pdf")).as_deref(), Some("badname.pdf"));
        assert_eq!(clean_filename(Some("folder/")), None);
        assert_eq!(clean_filename(Some("..")), None);
        assert_eq!(clean_filename(None), None);
        assert_eq!(clean_filename(Some(&"é".repeat(400))).map(|n| n.chars().count()), Some(MAX_FILENAME_CHARS));
    }
}
