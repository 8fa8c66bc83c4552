//! Media objects: Meta's supported types and size limits, the content check an upload passes,
//! the signed short-lived download URLs, and the record the simulator keeps per media id.
//! Generated sample files (what a customer "sends") live in [`crate::samples`].

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::GraphError;

const MB: u64 = 1024 * 1024;

/// What WhatsApp calls a media message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Image,
    Audio,
    Video,
    Document,
    Sticker,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Image, Kind::Audio, Kind::Video, Kind::Document, Kind::Sticker];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }

    /// Meta's per-type size limit (a sticker's is the animated one's).
    pub fn max_size(self) -> u64 {
        match self {
            Self::Image => 5 * MB,
            Self::Audio | Self::Video => 16 * MB,
            Self::Document => 100 * MB,
            Self::Sticker => 500 * 1024,
        }
    }

    fn limit_text(self) -> &'static str {
        match self {
            Self::Image => "5MB",
            Self::Audio | Self::Video => "16MB",
            Self::Document => "100MB",
            Self::Sticker => "500KB",
        }
    }
}

/// The largest upload body the simulator reads (the biggest file plus multipart overhead).
pub const MAX_UPLOAD_BODY: usize = 100 * 1024 * 1024 + 64 * 1024;

/// Meta's supported MIME types, in the order its upload error lists them.
const SUPPORTED: &[(&str, Kind)] = &[
    ("audio/aac", Kind::Audio),
    ("audio/mp4", Kind::Audio),
    ("audio/mpeg", Kind::Audio),
    ("audio/amr", Kind::Audio),
    ("audio/ogg", Kind::Audio),
    ("audio/opus", Kind::Audio),
    ("application/vnd.ms-powerpoint", Kind::Document),
    ("application/msword", Kind::Document),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", Kind::Document),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", Kind::Document),
    ("application/vnd.ms-excel", Kind::Document),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Kind::Document),
    ("application/pdf", Kind::Document),
    ("text/plain", Kind::Document),
    ("image/jpeg", Kind::Image),
    ("image/png", Kind::Image),
    ("image/webp", Kind::Sticker),
    ("video/mp4", Kind::Video),
    ("video/3gpp", Kind::Video),
];

/// `audio/ogg; codecs=opus` → `audio/ogg`.
pub fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The kind a MIME type uploads as, if Meta supports it.
pub fn kind_of(mime: &str) -> Option<Kind> {
    let m = essence(mime);
    SUPPORTED.iter().find(|(t, _)| *t == m).map(|(_, k)| *k)
}

/// Whether a message of `kind` may carry media of `mime` (a sticker is webp only; an image is
/// jpeg/png; documents take any supported type, as WhatsApp sends any file as a document).
pub fn fits(kind: Kind, mime: &str) -> bool {
    match kind {
        Kind::Document => kind_of(mime).is_some(),
        k => kind_of(mime) == Some(k),
    }
}

/// Meta's answer to an unsupported `type`.
pub fn unsupported_type(received: &str) -> GraphError {
    let list: Vec<&str> = SUPPORTED.iter().map(|(t, _)| *t).collect();
    GraphError::invalid_param(format!(
        "Param file must be a file with one of the following types: {}. Received file of type '{received}'.",
        list.join(", ")
    ))
}

fn upload_error(details: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 131053, "OAuthException", "(#131053) Media upload error")
        .details(details)
        .messaging()
}

pub fn too_large(kind: Kind) -> GraphError {
    upload_error(format!(
        "Media file size too big. Max file size we currently support: {}. Please communicate with your customer to \
         ensure the file size is under {}.",
        kind.limit_text(),
        kind.limit_text()
    ))
}

pub fn content_mismatch(mime: &str) -> GraphError {
    upload_error(format!("The uploaded file's content is not a valid {mime} file."))
}

/// Whether the bytes start like a file of `mime` (types without a fixed signature pass).
pub fn content_matches(mime: &str, b: &[u8]) -> bool {
    let ftyp = b.len() >= 12 && &b[4..8] == b"ftyp";
    match essence(mime).as_str() {
        "image/jpeg" => b.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/webp" => b.len() >= 12 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP",
        "application/pdf" => b.starts_with(b"%PDF-"),
        "audio/ogg" | "audio/opus" => b.starts_with(b"OggS"),
        "video/mp4" | "audio/mp4" => ftyp,
        "video/3gpp" => ftyp && b[8..10] == *b"3g",
        "audio/amr" => b.starts_with(b"#!AMR"),
        "audio/aac" => b.len() >= 2 && b[0] == 0xFF && b[1] & 0xF6 == 0xF0,
        "audio/mpeg" => b.starts_with(b"ID3") || (b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0),
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
        }
        m if m.starts_with("application/vnd.openxmlformats") => b.starts_with(b"PK\x03\x04"),
        _ => true,
    }
}

/// Where a media object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `POST /{phone}/media` by the business.
    Uploaded,
    /// Sent by a customer (`/_sim/inbound`).
    Inbound,
}

/// A media id's metadata (the bytes are kept by the simulator's blob store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaObject {
    pub id: String,
    /// The number it was uploaded to or received on.
    pub phone_number_id: String,
    pub mime_type: String,
    /// Hex SHA-256 of the bytes (what `GET /{media-id}` answers; webhooks carry it base64).
    pub sha256: String,
    pub file_size: u64,
    pub filename: Option<String>,
    pub origin: Origin,
    /// Unix seconds.
    pub created_at: u64,
}

impl MediaObject {
    pub fn new(phone_number_id: &str, mime_type: &str, bytes: &[u8], filename: Option<String>, origin: Origin) -> Self {
        Self {
            id: new_media_id(),
            phone_number_id: phone_number_id.to_owned(),
            mime_type: mime_type.to_owned(),
            sha256: crate::webhooks::hex(&Sha256::digest(bytes)),
            file_size: bytes.len() as u64,
            filename,
            origin,
            created_at: crate::state::unix_now(),
        }
    }

    /// The SHA-256 as inbound webhooks carry it (base64).
    pub fn sha256_base64(&self) -> String {
        let raw: Vec<u8> = (0..self.sha256.len() / 2)
            .filter_map(|i| u8::from_str_radix(&self.sha256[2 * i..2 * i + 2], 16).ok())
            .collect();
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

/// Meta keeps uploaded media 30 days; the simulator drops older media when it starts.
pub const LIFETIME_SECS: u64 = 30 * 24 * 3600;

impl MediaObject {
    pub fn expired(&self, now: u64) -> bool {
        now.saturating_sub(self.created_at) >= LIFETIME_SECS
    }
}

/// 16 digits starting with 9 (no business, number or template id has that shape).
fn new_media_id() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen_range(0..1_000_000_000_000_000);
    format!("9{n:015}")
}

/// Meta's `lookaside.fbsbx.com` URL shape: `mid` the media id, `ext` the expiry (unix seconds),
/// `hash` a MAC over both, so the URL cannot be stretched or pointed at another media id.
pub fn download_url(host: &str, media_id: &str, ttl: Duration, secret: &str) -> String {
    let ext = crate::state::unix_now() + ttl.as_secs();
    format!("http://{host}{DOWNLOAD_PATH}?mid={media_id}&ext={ext}&hash={}", url_hash(secret, media_id, ext))
}

pub const DOWNLOAD_PATH: &str = "/whatsapp_business/attachments/";

pub fn url_hash(secret: &str, media_id: &str, ext: u64) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(format!("media-url:{media_id}:{ext}").as_bytes());
    format!("AT{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&m.finalize().into_bytes()[..18]))
}

/// The download URL has passed its `ext` (also what a scripted `ExpiredUrl` fault answers).
pub fn url_expired() -> GraphError {
    GraphError::new(StatusCode::NOT_FOUND, 100, "OAuthException", "URL signature expired")
        .details("The media URL has expired. Retrieve a new URL with GET /{media-id}.")
}

/// The `hash` does not match `mid` and `ext` (an edited or made-up URL).
pub fn url_mismatch() -> GraphError {
    GraphError::new(StatusCode::FORBIDDEN, 100, "OAuthException", "URL signature mismatch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_kinds_and_limits() {
        assert_eq!(kind_of("audio/ogg; codecs=opus"), Some(Kind::Audio));
        assert_eq!(kind_of("IMAGE/PNG"), Some(Kind::Image));
        assert_eq!(kind_of("image/gif"), None);
        assert!(fits(Kind::Document, "image/png"));
        assert!(!fits(Kind::Image, "application/pdf"));
        assert!(!fits(Kind::Sticker, "image/png"));
        assert_eq!(Kind::Sticker.max_size(), 512_000);
        let e = unsupported_type("image/gif").body();
        assert!(e["error"]["message"].as_str().unwrap().ends_with("Received file of type 'image/gif'."));
    }

    #[test]
    fn content_checks_look_at_the_bytes() {
        assert!(content_matches("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!content_matches("image/png", b"MZ\x90\x00 an executable"));
        assert!(!content_matches("image/jpeg", b"%PDF-1.4"));
        assert!(content_matches("video/mp4", b"\0\0\0\x18ftypisom\0\0\x02\0"));
        assert!(content_matches("text/plain", b"anything"));
    }

    #[test]
    fn urls_are_bound_to_media_and_expiry() {
        assert_eq!(url_hash("s", "9", 10), url_hash("s", "9", 10));
        assert_ne!(url_hash("s", "9", 10), url_hash("s", "9", 11));
        assert_ne!(url_hash("s", "9", 10), url_hash("s", "8", 10));
        let m = MediaObject::new("p", "text/plain", b"hello", None, Origin::Uploaded);
        assert_eq!(m.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(m.sha256_base64(), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
        assert_eq!(m.id.len(), 16);
    }
}
