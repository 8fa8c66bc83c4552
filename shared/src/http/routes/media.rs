//! `/media`: upload a file (`POST /media`, a multipart form), grant a direct upload to storage
//! (`POST /media/uploads`), download one (`GET /media/{id}` → 302 to a URL valid 5 minutes).
//! Tenant users (admins and agents); every key is built from the caller's tenant, so another
//! tenant's id is not found (404). The form is read as a stream: the file's type is decided from
//! its first bytes and its size counted as it arrives, so a refused file is never stored.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::Error;
use crate::domain::media::MediaView;
use crate::domain::media::incoming::Incoming;
use crate::domain::media::service::{self, Download, Upload, UploadRequest};
use crate::domain::media::types::MAX_MEDIA_SIZE;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::{ApiError, ApiJson, ApiResult, Created};

/// The largest `POST /media` body: the largest file plus the form around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_MEDIA_SIZE as usize + 1024 * 1024;

fn upload_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload))
}

fn other_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(grant_upload)).routes(routes!(download))
}

pub fn routes() -> OpenApiRouter<AppState> {
    upload_routes().merge(other_routes())
}

pub fn router(state: AppState) -> Router {
    let upload_route = Router::from(upload_routes()).layer(RequestBodyLimitLayer::new(UPLOAD_BODY_LIMIT));
    Router::from(other_routes())
        .merge(upload_route)
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// The multipart form of `POST /media` (documentation only: the handler streams it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// The file. Its part's `Content-Type` (or, without one, its file name's extension, or its
    /// first bytes) gives its type, which its first bytes must match.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/media", tag = tags::MEDIA, operation_id = "upload_media",
    summary = "Upload a file to send (multipart form, field `file`)",
    description = "Meta's types and limits are checked before anything is stored: image jpeg/png ≤ 5 MB, audio \
        aac/amr/mpeg/mp4/ogg ≤ 16 MB, video mp4/3gpp ≤ 16 MB, document pdf/Office/plain text ≤ 100 MB, sticker webp \
        ≤ 500 KB. The file's first bytes must be what its type starts with (a `.png` that is an executable is \
        refused). Larger files than a request can carry: `POST /media/uploads`.",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The stored file", body = MediaView),
        (status = 413, description = "Over the type's limit (`media_too_large`)", body = ErrorBody),
        (status = 415, description = "Not a multipart form, a type WhatsApp does not take, or content that is not \
            its declared type (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "No `file` field, or an empty file", body = ErrorBody),
    ))]
async fn upload(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Created<MediaView>> {
    let upload = read_form(&headers, body).await?;
    let item = service::upload(&state.ports, p.tenant_id()?, &p.user.id, upload).await?;
    Ok(Created(item.into()))
}

fn form_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::StreamReadFailed(_) => ApiError::from(Error::new(
            crate::domain::Kind::TooLarge,
            "media_too_large",
            "the upload is larger than any file WhatsApp takes",
        )),
        other => ApiError::bad_request("invalid_form", format!("the multipart form could not be read: {other}")),
    }
}

/// Reads the form's `file` field, deciding its type from its first bytes and refusing it as soon
/// as it is over that type's limit; whatever follows a refusal is read and dropped (so the client
/// gets the answer, not a reset connection), never stored.
async fn read_form(headers: &HeaderMap, body: Body) -> Result<Upload, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as multipart/form-data with a `file` field",
        )
    })?;
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        if field.name() != Some("file") {
            while field.chunk().await.map_err(form_error)?.is_some() {}
            continue;
        }
        let declared = field.content_type().map(|m| m.to_string());
        let mut incoming = Incoming::new(declared, field.file_name().map(str::to_owned));
        while let Some(chunk) = field.chunk().await.map_err(form_error)? {
            incoming.push(&chunk);
        }
        drain(form).await;
        return Ok(incoming.finish()?);
    }
    Err(ApiError::validation(vec![crate::http::FieldError::new("file", "required", "is required")]))
}

/// Reads the rest of the form without keeping it.
async fn drain(mut form: multer::Multipart<'_>) {
    while let Ok(Some(mut field)) = form.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = MediaUploadRequest, example = json!({"filename": "catalogue-2027.pdf", "mime_type": "application/pdf", "size": 73400320}))]
struct GrantBody {
    filename: Option<String>,
    /// One of the types `POST /media` takes.
    mime_type: Option<String>,
    /// Bytes; at most the type's limit.
    size: Option<u64>,
}

/// A granted direct upload.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MediaUpload, example = json!({"id": "med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y", "upload_url": "https://media.example.com/tenants/ten_1/outbound/med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y.pdf?X-Amz-Signature=…",
    "method": "PUT", "headers": {"content-type": "application/pdf", "content-length": "73400320"}, "expires_at": "2026-12-06T10:15:00Z"}))]
struct GrantView {
    /// The media id (usable once the bytes are uploaded).
    id: String,
    /// PUT the file's bytes here, with exactly `headers`.
    upload_url: String,
    method: String,
    #[schema(value_type = Object)]
    headers: serde_json::Map<String, serde_json::Value>,
    /// The upload must start before this.
    expires_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/media/uploads", tag = tags::MEDIA, operation_id = "create_media_upload",
    summary = "Upload a large file straight to storage",
    description = "Grants a PUT of exactly `size` bytes of `mime_type` (an S3 presigned URL on AWS, a signed local URL \
        on the local process), valid 15 minutes. The file's content is checked when the media is first used: one \
        that is not its declared type is deleted and answers 415.",
    security(("bearer" = [])),
    request_body = GrantBody,
    responses(
        (status = 201, description = "Where to PUT the file", body = GrantView),
        (status = 413, description = "Over the type's limit (`media_too_large`)", body = ErrorBody),
        (status = 415, description = "A type WhatsApp does not take (`unsupported_media_type`)", body = ErrorBody),
        (status = 422, description = "`mime_type` or `size` missing or invalid", body = ErrorBody),
    ))]
async fn grant_upload(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<GrantBody>,
) -> ApiResult<Created<GrantView>> {
    let input = UploadRequest { filename: body.filename, mime_type: body.mime_type, size: body.size };
    let grant = service::grant_upload(&state.ports, p.tenant_id()?, &p.user.id, input).await?;
    let headers = grant.request.headers.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
    Ok(Created(GrantView {
        id: grant.item.id,
        upload_url: grant.request.url,
        method: grant.request.method.to_string(),
        headers,
        expires_at: grant.request.expires_at,
    }))
}

#[utoipa::path(get, path = "/media/{id}", tag = tags::MEDIA, operation_id = "download_media",
    summary = "Download a file",
    description = "The file (local process), or on AWS a 302 to a presigned S3 URL of it valid 5 minutes. An agent \
        sees a customer's file only if they see its conversation.",
    security(("bearer" = [])), params(("id" = String, Path, description = "Media id")),
    responses(
        (status = 200, description = "The file, with its content type", content_type = "application/octet-stream"),
        (status = 302, description = "`Location`: the file's URL, valid 5 minutes (AWS)"),
        (status = 404, description = "No such media", body = ErrorBody),
        (status = 409, description = "Not uploaded or fetched yet (`media_not_ready`)", body = ErrorBody),
        (status = 410, description = "Deleted after the plan's retention (`media_expired`)", body = ErrorBody),
        (status = 415, description = "A direct upload whose content was not its declared type (deleted)", body = ErrorBody),
    ))]
async fn download(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<Response> {
    let (item, download) = service::download(&state.ports, p.tenant_id()?, &id, &super::inbox::scope(&p)).await?;
    let no_store = (header::CACHE_CONTROL, "private, no-store".to_owned());
    Ok(match download {
        Download::Redirect(request) => (StatusCode::FOUND, [(header::LOCATION, request.url), no_store]).into_response(),
        Download::File(object) => {
            let headers = [
                (header::CONTENT_TYPE, object.info.content_type),
                (header::CONTENT_DISPOSITION, content_disposition(item.filename.as_deref())),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                no_store,
            ];
            (headers, object.body).into_response()
        }
    })
}

/// `inline`, with the file name when it has one: ASCII in `filename` (others replaced), the
/// exact name in `filename*` (RFC 6266 / 8187).
pub fn content_disposition(filename: Option<&str>) -> String {
    let Some(name) = filename else { return "inline".into() };
    let ascii: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
