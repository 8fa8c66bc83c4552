//! `GET /app/media/{id}`: a file of the tenant for its signed-in team — the images, videos and
//! voice notes the inbox thread previews and the documents it links. The API's use case and rule
//! ([`service::download`], the inbox scope: an agent sees a customer's file only if they see its
//! conversation; another tenant's id is not found → the 404 page). Where storage hands out URLs
//! (S3) every file goes straight from there: a document as a download, a preview allowed by the
//! pages' Content-Security-Policy (`security::csp` adds the store's origin). The embedded store's
//! files are served by the console itself.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use miping::app::AppState;
use miping::domain::media::service::{self, Download, Upload};
use miping::domain::media::{MediaItem, MediaKind};
use miping::domain::{Error, FieldError, Kind};
use miping::http::routes::media::content_disposition;
use miping::ports::storage::MediaKey;

use crate::page;
use crate::session::TenantMember;

pub fn routes() -> Router<AppState> {
    Router::new().route("/{id}", get(file))
}

/// What a file answer carries besides its type: never rendered as a page of ours (no scripts,
/// sandboxed when opened on its own), cached briefly by this browser only (a media id's bytes
/// never change).
const FILE_CSP: &str = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox";

async fn file(State(state): State<AppState>, member: TenantMember, Path(id): Path<String>) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let scope = miping::http::routes::inbox::scope(&viewer.principal);
    let (item, download) = match service::download(&state.ports, &tenant_id, &id, &scope).await {
        Ok(found) => found,
        Err(e) => {
            return match e.kind {
                Kind::NotFound => page::not_found_page(),
                Kind::Conflict => page::message_page(
                    StatusCode::CONFLICT,
                    "Not downloaded yet",
                    "This file is still on its way from WhatsApp. Go back: the conversation shows it once it is here.",
                ),
                Kind::Gone => page::message_page(
                    StatusCode::GONE,
                    "File deleted",
                    "This file was deleted after the plan's retention period.",
                ),
                Kind::Invalid | Kind::UnsupportedType => page::message_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "File not available",
                    &crate::forms::sentence(&e.message),
                ),
                _ => page::failed("a media file", e),
            };
        }
    };
    let document = item.kind == MediaKind::Document;
    // Straight from storage where it hands out URLs: a Lambda cannot answer more than 6 MB (a
    // 16 MB video, a 5 MB photo once base64-encoded). A document as a download; a preview where
    // the pages' Content-Security-Policy allows the store's origin (`security::csp`).
    let straight = document || state.ports.storage.download_origin().is_some();
    let object = match download {
        Download::Redirect(request) if straight => {
            return (StatusCode::FOUND, [(header::LOCATION, request.url)]).into_response();
        }
        Download::File(object) => object,
        // A preview from a store whose origin the pages do not allow: through the console.
        Download::Redirect(_) => {
            let key = match MediaKey::parse(&item.storage_key) {
                Ok(key) => key,
                Err(e) => return page::failed("a media key", e),
            };
            match state.ports.storage.get(&key).await {
                Ok(object) => object,
                Err(e) => return page::failed("a media file", e),
            }
        }
    };
    let disposition = content_disposition(item.filename.as_deref());
    let disposition = if document { disposition.replacen("inline", "attachment", 1) } else { disposition };
    (
        [
            (header::CONTENT_TYPE, object.info.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::CONTENT_SECURITY_POLICY, FILE_CSP.to_owned()),
        ],
        object.body,
    )
        .into_response()
}

/// A file a form chose for `field` (a template's sample, a campaign's or a template reply's media
/// header), stored through `POST /media`'s use case (type, content and size checked before
/// anything is kept). Its refusal (415, 413: no details of its own) is placed on `field`, with
/// its status.
pub async fn store(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
    file: Result<Upload, Error>,
    field: &str,
) -> Result<MediaItem, Error> {
    let stored = match file {
        Ok(upload) => service::upload(&state.ports, tenant_id, user_id, upload).await,
        Err(e) => Err(e),
    };
    stored.map_err(|e| on_field(e, field))
}

/// `e` shown next to `field` when it names no field itself (a server failure stays as it is).
pub fn on_field(mut e: Error, field: &str) -> Error {
    if e.details.is_empty() && e.kind != Kind::Internal {
        e.details.push(FieldError::new(field, e.code, e.message.clone()));
    }
    e
}

/// A file input's `accept` for media of `kind` (every type WhatsApp takes without one): the
/// upload use case's own list.
pub fn accept(kind: Option<MediaKind>) -> String {
    let types = miping::domain::media::types::TYPES.iter().filter(|t| kind.is_none_or(|k| t.kind == k));
    types.map(|t| t.mime).collect::<Vec<_>>().join(",")
}
