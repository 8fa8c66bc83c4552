//! Media: `POST /{phone}/media` (multipart upload), `GET /{media-id}` (metadata and a
//! short-lived download URL), `DELETE /{media-id}`, and the download URL itself
//! (`/whatsapp_business/attachments/?mid&ext&hash`, Meta's `lookaside.fbsbx.com` path) which
//! wants the business's token as a bearer header.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::{Params, ok, own_phone};
use crate::business::Business;
use crate::errors::GraphError;
use crate::faults::{self, Endpoint, Fault};
use crate::media::{self, MediaObject, Origin};
use crate::state::{Sim, unix_now};

/// The fields of an upload form.
struct Upload {
    messaging_product: Option<String>,
    kind: Option<String>,
    file: Option<(Bytes, Option<String>)>,
}

async fn read_form(headers: &HeaderMap, body: Bytes) -> Result<Upload, GraphError> {
    let mut form = Upload { messaging_product: None, kind: None, file: None };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    // Not multipart: Graph finds no file in it.
    let Ok(boundary) = multer::parse_boundary(content_type) else { return Ok(form) };
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let bad = |e: multer::Error| GraphError::invalid_param(format!("The multipart body could not be read: {e}"));
    while let Some(field) = parts.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(str::to_owned);
                form.file = Some((field.bytes().await.map_err(bad)?, name));
            }
            Some("messaging_product") => form.messaging_product = Some(field.text().await.map_err(bad)?),
            Some("type") => form.kind = Some(field.text().await.map_err(bad)?),
            _ => {}
        }
    }
    Ok(form)
}

fn required(what: &str) -> GraphError {
    GraphError::invalid_param(format!("The parameter {what} is required.")).messaging()
}

/// Checks type, size and content before anything is stored, like Meta; answers `{id}`.
pub async fn upload(
    sim: &Sim,
    business: &Business,
    phone_id: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    let phone = own_phone(business, phone_id, &Method::POST)?;
    let form = read_form(headers, body).await?;
    if form.messaging_product.as_deref().map(|p| p.trim().trim_matches('"')) != Some("whatsapp") {
        return Err(required("messaging_product"));
    }
    let (bytes, filename) = form.file.ok_or_else(|| required("file"))?;
    let mime = form.kind.map(|t| t.trim().trim_matches('"').to_owned()).ok_or_else(|| required("type"))?;
    let kind = media::kind_of(&mime).ok_or_else(|| media::unsupported_type(&mime))?;
    if bytes.len() as u64 > kind.max_size() {
        return Err(media::too_large(kind));
    }
    if !media::content_matches(&mime, &bytes) {
        return Err(media::content_mismatch(&mime));
    }
    let object = MediaObject::new(&phone.id, &mime, &bytes, filename, Origin::Uploaded);
    store_media(sim, object.clone(), bytes).await?;
    Ok(ok(json!({ "id": object.id })))
}

/// `POST /{app_id}/uploads?file_name=&file_length=&file_type=` (Meta's Resumable Upload API, which
/// template samples go through): a session for one file of a type and size Meta takes. The
/// session is its own id (`upload:…` carries name, length and type), so nothing is stored yet.
pub fn start_upload(sim: &Sim, app_id: &str, query: &Params) -> Result<Response, GraphError> {
    if app_id != sim.config().app_id {
        return Err(GraphError::unknown_object(app_id, "post"));
    }
    let param = |k: &str| query.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let name = param("file_name").ok_or_else(|| required("file_name"))?;
    let mime = param("file_type").ok_or_else(|| required("file_type"))?;
    let length: u64 = param("file_length")
        .ok_or_else(|| required("file_length"))?
        .parse()
        .map_err(|_| GraphError::invalid_param("The parameter file_length must be a number of bytes."))?;
    let kind = media::kind_of(&mime).ok_or_else(|| media::unsupported_type(&mime))?;
    if length == 0 || length > kind.max_size() {
        return Err(media::too_large(kind));
    }
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let session = json!({"n": name, "l": length, "t": mime, "r": nonce.to_string()}).to_string();
    let id = format!("upload:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(session));
    Ok(ok(json!({ "id": id })))
}

/// `POST /upload:{session}` (`file_offset: 0`, the bytes as the body): checked like any upload,
/// stored, and answered with the handle a template's `example.header_handle` takes
/// (`4::<type>:<media id>`; the bytes stay readable through `/_sim/media/{id}/bytes`).
pub async fn finish_upload(sim: &Sim, id: &str, headers: &HeaderMap, body: Bytes) -> Result<Response, GraphError> {
    let unknown = || GraphError::unknown_object(id, "post");
    let session = id
        .strip_prefix("upload:")
        .and_then(|s| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok())
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
        .ok_or_else(unknown)?;
    let (name, length, mime) = (
        session["n"].as_str().unwrap_or_default().to_owned(),
        session["l"].as_u64().unwrap_or_default(),
        session["t"].as_str().ok_or_else(unknown)?.to_owned(),
    );
    if headers.get("file_offset").and_then(|v| v.to_str().ok()).map(str::trim) != Some("0") {
        return Err(GraphError::invalid_param("The file_offset header must be 0 for a new upload."));
    }
    if body.len() as u64 != length {
        return Err(GraphError::invalid_param(format!(
            "The upload has {} bytes but the session declared file_length {length}.",
            body.len()
        )));
    }
    if !media::content_matches(&mime, &body) {
        return Err(media::content_mismatch(&mime));
    }
    let object = MediaObject::new("", &mime, &body, Some(name), Origin::Uploaded);
    let handle = format!("4::{}:{}", base64::engine::general_purpose::STANDARD.encode(&mime), object.id);
    store_media(sim, object, body).await?;
    Ok(ok(json!({ "h": handle })))
}

/// Bytes first, then the record: a snapshot never names media whose bytes are missing.
pub async fn store_media(sim: &Sim, object: MediaObject, bytes: Bytes) -> Result<(), GraphError> {
    sim.store.put_blob(&object.id, bytes).await.map_err(|e| {
        tracing::error!(error = %e, "meta simulator: cannot store media");
        GraphError::new(StatusCode::INTERNAL_SERVER_ERROR, 2, "OAuthException", "(#2) Service temporarily unavailable")
            .transient(true)
    })?;
    sim.lock().media.insert(object.id.clone(), object);
    sim.persist();
    Ok(())
}

/// The media object, if the token's business owns it.
fn owned(sim: &Sim, business: &Business, id: &str, method: &Method) -> Result<MediaObject, GraphError> {
    let object = sim.lock().media.get(id).cloned();
    match object {
        Some(m) if business.phone(&m.phone_number_id).is_some() => Ok(m),
        Some(_) => Err(GraphError::permission()),
        None => Err(GraphError::unknown_object(id, &method.as_str().to_ascii_lowercase())),
    }
}

pub fn exists(sim: &Sim, id: &str) -> bool {
    sim.lock().media.contains_key(id)
}

/// `GET /{media-id}[?phone_number_id=]`.
pub fn get(
    sim: &Sim,
    business: &Business,
    id: &str,
    query: &Params,
    headers: &HeaderMap,
) -> Result<Response, GraphError> {
    if let Some(e) = sim.lock().take_scripted(Endpoint::GetMedia) {
        return Err(e);
    }
    let m = owned(sim, business, id, &Method::GET)?;
    if let Some(p) = query.get("phone_number_id")
        && *p != m.phone_number_id
    {
        return Err(GraphError::invalid_param(format!("Media {id} does not belong to phone number {p}.")));
    }
    let config = sim.config();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    Ok(ok(json!({
        "url": media::download_url(host, &m.id, config.media_url_ttl, &config.app_secret),
        "mime_type": m.mime_type,
        "sha256": m.sha256,
        "file_size": m.file_size,
        "id": m.id,
        "messaging_product": "whatsapp",
    })))
}

/// `DELETE /{media-id}` → `{success: true}`; the bytes go too.
pub async fn delete(sim: &Sim, business: &Business, id: &str) -> Result<Response, GraphError> {
    if let Some(e) = sim.lock().take_scripted(Endpoint::DeleteMedia) {
        return Err(e);
    }
    owned(sim, business, id, &Method::DELETE)?;
    sim.lock().media.remove(id);
    sim.persist();
    if let Err(e) = sim.store.delete_blob(id).await {
        tracing::warn!(error = %e, media_id = id, "meta simulator: media bytes not deleted");
    }
    Ok(ok(json!({ "success": true })))
}

/// Graph's answer to a DELETE of an id it does not know.
pub fn delete_unknown() -> GraphError {
    GraphError::invalid_param("Invalid post_id parameter")
}

/// The download URL: checks the signature, the expiry and the bearer token (in that order),
/// with the same injectable faults as Graph requests plus an expired URL.
pub async fn download(State(sim): State<Arc<Sim>>, Query(query): Query<Params>, headers: HeaderMap) -> Response {
    let config = sim.config();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    match faults::draw(&config.faults) {
        Some(Fault::ServerError(e)) => return e.into_response(),
        Some(Fault::Timeout) => {
            tokio::time::sleep(faults::TIMEOUT_HOLD).await;
            return faults::after_timeout().into_response();
        }
        Some(Fault::ExpiredToken) if token.is_some() => return GraphError::expired_token().into_response(),
        _ => {}
    }
    if faults::draw_ratio(config.faults.media_url_expired_ratio) {
        return media::url_expired().into_response();
    }
    if let Some(e) = sim.lock().take_scripted(Endpoint::DownloadMedia) {
        return e.into_response();
    }
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let (mid, hash) = (get("mid"), get("hash"));
    let Ok(ext) = get("ext").parse::<u64>() else { return media::url_mismatch().into_response() };
    if media::url_hash(&config.app_secret, mid, ext) != hash {
        return media::url_mismatch().into_response();
    }
    if unix_now() >= ext {
        return media::url_expired().into_response();
    }
    let Some(token) = token else { return GraphError::missing_token().into_response() };
    let Some(business) = crate::token::business_of(&token, &config.app_secret) else {
        return GraphError::invalid_token().into_response();
    };
    let object = match owned(&sim, &business, mid, &Method::GET) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    match sim.store.get_blob(mid).await {
        Ok(Some(bytes)) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, object.mime_type.clone()),
                    (header::CACHE_CONTROL, "private, no-cache, no-store, must-revalidate".to_owned()),
                ],
                bytes,
            )
                .into_response();
            if let Some(name) =
                object.filename.as_deref().and_then(|n| header::HeaderValue::from_str(&disposition(n)).ok())
            {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, name);
            }
            response
        }
        // Deleted between the metadata check and now.
        Ok(None) => GraphError::unknown_object(mid, "get").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "meta simulator: cannot read media");
            faults::after_timeout().into_response()
        }
    }
}

/// `attachment; filename="…"` with anything but plain printable ASCII replaced.
fn disposition(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    format!("attachment; filename=\"{safe}\"")
}
