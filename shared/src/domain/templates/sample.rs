//! A media-header template's sample for Meta's review (`example.header_handle`): one of the
//! tenant's uploaded files (`POST /media`), sent through Meta's Resumable Upload API with the
//! business token; Meta's handle goes into the HEADER component.

use super::meta_error;
use crate::domain::inbox::Scope;
use crate::domain::media::{MediaKind, service};
use crate::domain::{Error, FieldError};
use crate::ports::Ports;

/// The handle of `media_id` (a ready image, video or document of the tenant) as Meta's sample.
/// 422 on `field` for a file of another kind or that is not the tenant's; Meta's refusal as
/// creating a template answers it.
pub async fn upload(ports: &Ports, tenant_id: &str, media_id: &str, field: &str) -> Result<String, Error> {
    sample(ports, tenant_id, media_id, None, field).await
}

/// [`upload`] for a header of `kind` (the builder's header type): a file of another kind is
/// refused on `field` before anything goes to Meta, whose review would reject the mismatch.
pub async fn upload_for(
    ports: &Ports,
    tenant_id: &str,
    media_id: &str,
    kind: MediaKind,
    field: &str,
) -> Result<String, Error> {
    sample(ports, tenant_id, media_id, Some(kind), field).await
}

async fn sample(
    ports: &Ports,
    tenant_id: &str,
    media_id: &str,
    expected: Option<MediaKind>,
    field: &str,
) -> Result<String, Error> {
    let refuse = |code: &'static str, message: &str| Error::validation(vec![FieldError::new(field, code, message)]);
    let (item, object) = match service::read_file(ports, tenant_id, media_id, &Scope::All).await {
        Ok(found) => found,
        Err(e) if e.kind == crate::domain::Kind::NotFound => {
            return Err(refuse("invalid_media_id", "is not a media item of this tenant"));
        }
        Err(e) => return Err(e),
    };
    if !matches!(item.kind, MediaKind::Image | MediaKind::Video | MediaKind::Document) {
        return Err(refuse("invalid_kind", "a header sample is an image, a video or a document"));
    }
    if let Some(kind) = expected.filter(|k| *k != item.kind) {
        let message = format!("is {} file: this header takes {}", with_article(item.kind), with_article(kind));
        return Err(Error::validation(vec![FieldError::new(field, "kind_mismatch", message)]));
    }
    let (_, token) = crate::domain::whatsapp::connection::waba_access(ports, tenant_id).await?;
    let name = item.filename.clone().unwrap_or_else(|| format!("sample.{}", item.kind.as_str()));
    ports.meta.upload_sample(&token, &name, &item.mime_type, object.body).await.map_err(meta_error)
}

/// "an image", "a document".
fn with_article(kind: MediaKind) -> String {
    let article = if kind == MediaKind::Image { "an" } else { "a" };
    format!("{article} {}", kind.as_str())
}
