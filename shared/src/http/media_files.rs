//! `/media-files/{key}`: the embedded media store's signed URLs (what S3 presigned URLs are on
//! AWS), served by the local process. A request is checked against its URL's signature and
//! expiry ([`MediaUrls::verify`](crate::adapters::embedded::media_urls::MediaUrls::verify)) and
//! then acts on that one key: GET/HEAD read the file, PUT stores exactly the type and size the
//! URL was made for. Any refusal is 403 (404 is for a valid URL whose file is gone). No session
//! is involved: the signature is the authorisation, made by a route that checked the caller's.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http::{HeaderMap, Method, StatusCode, Uri, header};

use crate::adapters::embedded::file_storage::FileStorage;
use crate::adapters::embedded::media_urls::{MediaRequest, PATH_PREFIX};
use crate::ports::storage::{Metadata, Storage, StorageError};

/// The largest file a signed PUT may carry (the largest media file WhatsApp takes).
pub const MAX_PUT_BYTES: usize = crate::domain::media::types::MAX_MEDIA_SIZE as usize;

pub fn router(storage: Arc<FileStorage>) -> Router {
    Router::new()
        .route(&format!("{PATH_PREFIX}{{*key}}"), axum::routing::any(serve))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PUT_BYTES))
        .with_state(storage)
}

async fn serve(
    State(storage): State<Arc<FileStorage>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let request = MediaRequest {
        method: &method,
        key: uri.path().strip_prefix(PATH_PREFIX).unwrap_or_default(),
        query: uri.query().unwrap_or_default(),
        content_type: text(header::CONTENT_TYPE),
        content_length: text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
    };
    let key = match storage.urls().verify(&request, Utc::now()) {
        Ok(key) => key,
        Err(refused) => return (StatusCode::FORBIDDEN, refused.to_string()).into_response(),
    };
    let result = if method == Method::PUT {
        let content_type = request.content_type.unwrap_or_default();
        storage.put(&key, body, content_type, &Metadata::new()).await.map(|_| StatusCode::OK.into_response())
    } else {
        storage.get(&key).await.map(|object| {
            let headers = [
                (header::CONTENT_TYPE, object.info.content_type),
                (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ];
            if method == Method::HEAD { headers.into_response() } else { (headers, object.body).into_response() }
        })
    };
    match result {
        Ok(response) => response,
        Err(StorageError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(StorageError::Invalid(e)) => (StatusCode::BAD_REQUEST, e).into_response(),
        Err(StorageError::Unavailable(e)) => {
            tracing::error!(error = %e, "media store unavailable");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
