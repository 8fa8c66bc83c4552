//! The media storage port: tenants' files (inbound media fetched from Meta, uploads to send), by key.
//! AWS: S3 (`MEDIA_BUCKET`). Embedded: files under `<data_dir>/media/`, with signed local URLs.
//!
//! Keys are always `tenants/{tenant_id}/{inbound|outbound|exports}/{name…}` ([`MediaKey`]): a key that
//! could leave its tenant's prefix (`..`, an absolute path, a backslash, an empty segment) cannot
//! be made, so no adapter has to defend against one and no URL can name another tenant's file
//! once the caller checked the tenant part.
//!
//! Presigned requests let a browser or Meta-free client move bytes without passing them through
//! a Lambda: a GET URL valid at most [`MAX_GET_URL_TTL`] (SPEC: ≤ 5 minutes) and a PUT URL for a
//! direct upload bound to one content type and one exact size.
//!
//! A large object the platform produces itself (a campaign's recipients export) is written part
//! by part through an [`Upload`], in constant memory whatever its size.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// Longest validity of a presigned GET URL (SPEC → Media: ≤ 5 minutes).
pub const MAX_GET_URL_TTL: Duration = Duration::from_secs(5 * 60);
/// Longest validity of a presigned PUT URL: the upload must start within it (S3 checks the
/// expiry when a request starts, so a large upload may take longer than this).
pub const MAX_PUT_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// The user metadata key adapters store the SHA-256 (lowercase hex) of what `put` wrote under.
pub const SHA256_METADATA: &str = "sha256";

/// S3's limits: 1,024 bytes of key, 2 KB of user metadata.
const MAX_KEY_LEN: usize = 1024;
const MAX_SEGMENT_LEN: usize = 255;
const MAX_METADATA_BYTES: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Files customers sent (fetched from Meta).
    Inbound,
    /// Files the tenant uploads to send.
    Outbound,
    /// Files the platform writes for the tenant to download (a campaign's recipients CSV),
    /// kept a day ([`EXPORT_RETENTION_DAYS`]).
    Exports,
}

/// How long an export stays downloadable (a lifecycle rule on S3, template.yaml).
pub const EXPORT_RETENTION_DAYS: u32 = 1;

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Exports => "exports",
        }
    }

    fn parse(segment: &str) -> Option<Self> {
        match segment {
            "inbound" => Some(Direction::Inbound),
            "outbound" => Some(Direction::Outbound),
            "exports" => Some(Direction::Exports),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid media key: {0}")]
pub struct KeyError(String);

/// A valid storage key: `tenants/{tenant_id}/{inbound|outbound|exports}/{name}` where every segment is
/// 1–255 of `A-Z a-z 0-9 . _ -`, does not start with a dot (no `.`, `..` or hidden files) and
/// the whole key is at most 1,024 bytes. `name` may have several segments (`med_…/photo.jpg`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaKey {
    key: String,
    tenant_len: usize,
    direction: Direction,
}

impl MediaKey {
    pub fn new(tenant_id: &str, direction: Direction, name: &str) -> Result<Self, KeyError> {
        Self::parse(&format!("tenants/{tenant_id}/{}/{name}", direction.as_str()))
    }

    /// Reads a key as stored or as it appears in a URL path (already percent-decoded).
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        if key.len() > MAX_KEY_LEN {
            return Err(KeyError(format!("longer than {MAX_KEY_LEN} bytes")));
        }
        let segments: Vec<&str> = key.split('/').collect();
        if let Some(bad) = segments.iter().find(|s| !valid_segment(s)) {
            return Err(KeyError(format!(
                "segment {bad:?} (segments are 1-{MAX_SEGMENT_LEN} of A-Z a-z 0-9 . _ -, not starting with a dot)"
            )));
        }
        match segments.as_slice() {
            ["tenants", tenant, direction, _name, ..] => {
                let direction = Direction::parse(direction)
                    .ok_or_else(|| KeyError(format!("{direction:?} is not inbound, outbound or exports")))?;
                Ok(Self { key: key.to_owned(), tenant_len: tenant.len(), direction })
            }
            _ => Err(KeyError("not tenants/{tenant_id}/{inbound|outbound|exports}/{name}".into())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn tenant_id(&self) -> &str {
        &self.key["tenants/".len().."tenants/".len() + self.tenant_len]
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }
}

impl std::fmt::Display for MediaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)
    }
}

fn valid_segment(segment: &str) -> bool {
    (1..=MAX_SEGMENT_LEN).contains(&segment.len())
        && !segment.starts_with('.')
        && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A listing prefix: one tenant's files, or one direction of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPrefix(String);

impl MediaPrefix {
    pub fn tenant(tenant_id: &str) -> Result<Self, KeyError> {
        if !valid_segment(tenant_id) {
            return Err(KeyError(format!("tenant id {tenant_id:?}")));
        }
        Ok(Self(format!("tenants/{tenant_id}/")))
    }

    pub fn direction(tenant_id: &str, direction: Direction) -> Result<Self, KeyError> {
        Ok(Self(format!("{}{}/", Self::tenant(tenant_id)?.0, direction.as_str())))
    }

    /// Always ends with `/`, so `tenants/ten_1/` never matches `tenants/ten_10/…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn contains(&self, key: &MediaKey) -> bool {
        key.as_str().starts_with(&self.0)
    }
}

/// User metadata: keys `[a-z0-9-]{1,64}`, values printable ASCII (S3 sends them as headers),
/// at most 2 KB together. [`SHA256_METADATA`] is the adapters' own.
pub type Metadata = BTreeMap<String, String>;

/// The metadata key the S3 adapter also sets as the object's tag of that name: the bucket's
/// lifecycle rules (template.yaml) match tags, not metadata. Its value is a rule's days.
pub const RETENTION_TAG: &str = "retention-days";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: MediaKey,
    pub content_type: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes, recorded by `put`. Objects uploaded through a
    /// presigned PUT or written through an [`Upload`] have none until someone hashes them.
    pub sha256: Option<String>,
    /// The caller's metadata (without [`SHA256_METADATA`]).
    pub metadata: Metadata,
    pub last_modified: DateTime<Utc>,
}

/// An object's info and its bytes in memory (see [`Storage::open`] for large files).
#[derive(Clone, Debug)]
pub struct Object {
    pub info: ObjectInfo,
    pub body: Bytes,
}

/// A streaming read of an object's bytes.
pub type ObjectReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// A request someone else makes without our credentials: `method` on `url` with exactly `headers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedRequest {
    pub method: http::Method,
    pub url: String,
    /// Headers the request must carry as given (a presigned PUT's `content-type` and
    /// `content-length`: the signature covers them).
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no object {0}")]
    NotFound(String),
    /// The caller asked for something the port refuses (bad content type or metadata, a
    /// presigned URL valid too long). Retrying the same call cannot succeed.
    #[error("invalid storage request: {0}")]
    Invalid(String),
    /// The backend failed or is not configured; worth a retry if it is transient.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// `scheme://host[:port]` of an absolute URL (`None` for anything else).
pub fn url_origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Stores `body` under `key` (replacing what was there) with its content type and metadata;
    /// records the bytes' SHA-256.
    async fn put(
        &self,
        key: &MediaKey,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<ObjectInfo, StorageError>;

    async fn head(&self, key: &MediaKey) -> Result<ObjectInfo, StorageError>;

    /// The object's info and a reader of its bytes (files of up to 100 MB are not read whole).
    async fn open(&self, key: &MediaKey) -> Result<(ObjectInfo, ObjectReader), StorageError>;

    /// The object's info and all its bytes.
    async fn get(&self, key: &MediaKey) -> Result<Object, StorageError> {
        let (info, mut reader) = self.open(key).await?;
        let mut body = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
        reader.read_to_end(&mut body).await.map_err(|e| StorageError::Unavailable(format!("reading {key}: {e}")))?;
        Ok(Object { info, body: body.into() })
    }

    /// Deletes the object; deleting a missing one succeeds (retries and retention sweeps repeat).
    async fn delete(&self, key: &MediaKey) -> Result<(), StorageError>;

    /// A GET of the object valid for `ttl` (at most [`MAX_GET_URL_TTL`]) from the adapter's clock.
    async fn presign_get(&self, key: &MediaKey, ttl: Duration) -> Result<PresignedRequest, StorageError>;

    /// A PUT of exactly `size` bytes of `content_type` to `key`, valid for `ttl` (at most
    /// [`MAX_PUT_URL_TTL`]). Whether another type or size is refused depends on the backend
    /// enforcing signatures (S3 and the embedded URLs do; moto does not check them).
    async fn presign_put(
        &self,
        key: &MediaKey,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError>;

    /// How the API hands a file to a client: `true`, a redirect to [`Storage::presign_get`]
    /// (S3: the bytes never pass through a Lambda); `false`, the API answers with the bytes
    /// itself (the embedded store, served by the same local process anyway).
    fn redirects_downloads(&self) -> bool {
        true
    }

    /// The origin (`scheme://host[:port]`) of the URLs [`Storage::presign_get`] hands out, when
    /// they are not the platform's own: a console page that shows files straight from storage
    /// (previews in the inbox) allows it in its Content-Security-Policy. `None`: not known, or
    /// the platform's own origin (the embedded store), and the console serves previews itself.
    fn download_origin(&self) -> Option<&str> {
        None
    }

    /// Every object under `prefix`, in key order (for retention sweeps on the embedded store;
    /// S3 expires objects with a lifecycle rule instead).
    async fn list(&self, prefix: &MediaPrefix) -> Result<Vec<ObjectSummary>, StorageError>;

    /// Starts writing an object of unknown size part by part (see [`Upload`]). Nothing is
    /// visible under `key` until [`Upload::finish`], which replaces what was there.
    async fn upload(
        &self,
        key: &MediaKey,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<Box<dyn Upload>, StorageError>;
}

/// An object being written in parts, in constant memory: an adapter holds at most one part
/// ([`UPLOAD_PART_SIZE`]) before sending it on (S3: a multipart upload; embedded: a hidden
/// temporary file renamed into place). Dropped or aborted before `finish`, it leaves nothing
/// readable (S3's lifecycle rule also aborts incomplete uploads after a day).
#[async_trait]
pub trait Upload: Send {
    /// Appends `bytes`.
    async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError>;
    /// Completes the object and answers its info (`sha256` only if an adapter hashed it).
    async fn finish(self: Box<Self>) -> Result<ObjectInfo, StorageError>;
    /// Discards what was written.
    async fn abort(self: Box<Self>) -> Result<(), StorageError>;
}

/// The most an [`Upload`] holds in memory: S3's smallest part (every part but the last).
pub const UPLOAD_PART_SIZE: usize = 5 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: MediaKey,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// Where no store is configured (a Lambda without `MEDIA_BUCKET`): every call fails loudly with
/// the reason, as the other optional AWS resources do, instead of failing the cold start.
#[derive(Clone, Debug)]
pub struct NoStorage(pub String);

impl NoStorage {
    fn fail<T>(&self) -> Result<T, StorageError> {
        Err(StorageError::Unavailable(self.0.clone()))
    }
}

#[async_trait]
impl Storage for NoStorage {
    async fn put(&self, _: &MediaKey, _: Bytes, _: &str, _: &Metadata) -> Result<ObjectInfo, StorageError> {
        self.fail()
    }
    async fn head(&self, _: &MediaKey) -> Result<ObjectInfo, StorageError> {
        self.fail()
    }
    async fn open(&self, _: &MediaKey) -> Result<(ObjectInfo, ObjectReader), StorageError> {
        self.fail()
    }
    async fn delete(&self, _: &MediaKey) -> Result<(), StorageError> {
        self.fail()
    }
    async fn presign_get(&self, _: &MediaKey, _: Duration) -> Result<PresignedRequest, StorageError> {
        self.fail()
    }
    async fn presign_put(&self, _: &MediaKey, _: &str, _: u64, _: Duration) -> Result<PresignedRequest, StorageError> {
        self.fail()
    }
    async fn list(&self, _: &MediaPrefix) -> Result<Vec<ObjectSummary>, StorageError> {
        self.fail()
    }
    async fn upload(&self, _: &MediaKey, _: &str, _: &Metadata) -> Result<Box<dyn Upload>, StorageError> {
        self.fail()
    }
}

/// Lowercase hex SHA-256, the form [`ObjectInfo::sha256`] and Meta's media `sha256` use.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A media type as sent in a `Content-Type` header: `type/subtype` of RFC 6838 name characters,
/// optionally `; parameters` of printable ASCII. Nothing that could end a header line.
pub fn check_content_type(content_type: &str) -> Result<(), StorageError> {
    let invalid = || StorageError::Invalid(format!("content type {content_type:?}"));
    let (essence, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let (kind, subtype) = essence.trim().split_once('/').ok_or_else(invalid)?;
    let name = |s: &str| {
        (1..=127).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let printable = params.bytes().all(|b| (0x20..0x7f).contains(&b));
    if name(kind) && name(subtype) && printable { Ok(()) } else { Err(invalid()) }
}

/// Checks the caller's metadata (see [`Metadata`]).
pub fn check_metadata(metadata: &Metadata) -> Result<(), StorageError> {
    let mut total = 0;
    for (key, value) in metadata {
        let key_ok = (1..=64).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !key_ok || key == SHA256_METADATA {
            return Err(StorageError::Invalid(format!("metadata key {key:?}")));
        }
        if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(StorageError::Invalid(format!("metadata {key} must be printable ASCII")));
        }
        total += key.len() + value.len();
    }
    if total > MAX_METADATA_BYTES {
        return Err(StorageError::Invalid(format!("metadata over {MAX_METADATA_BYTES} bytes")));
    }
    Ok(())
}

/// Refuses a presigned URL valid longer than the port allows (or not at all).
pub fn check_ttl(ttl: Duration, max: Duration) -> Result<(), StorageError> {
    if ttl.is_zero() || ttl > max {
        return Err(StorageError::Invalid(format!("a presigned URL is valid 1 s to {} s, not {ttl:?}", max.as_secs())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_tenant_direction_name() {
        let key = MediaKey::new("ten_01abc", Direction::Inbound, "med_01/photo.jpg").unwrap();
        assert_eq!(key.as_str(), "tenants/ten_01abc/inbound/med_01/photo.jpg");
        assert_eq!(key.tenant_id(), "ten_01abc");
        assert_eq!(key.direction(), Direction::Inbound);
        assert_eq!(MediaKey::parse(key.as_str()).unwrap(), key);
    }

    #[test]
    fn keys_that_could_escape_their_prefix_are_refused() {
        for bad in [
            "tenants/ten_1/inbound/../../ten_2/inbound/x",
            "tenants/ten_1/inbound/..",
            "tenants/../inbound/x",
            "/tenants/ten_1/inbound/x",
            "tenants/ten_1/inbound/a\\..\\b",
            "tenants/ten_1/inbound//x",
            "tenants/ten_1/inbound/x/",
            "tenants/ten_1/inbound/.hidden",
            "tenants/ten_1/inbound/a b",
            "tenants/ten_1/inbound/caf\u{e9}",
            "tenants/ten_1/inbound/x\r\n",
            "tenants/ten_1/other/x",
            "tenants/ten_1/inbound",
            "media/ten_1/inbound/x",
            "",
        ] {
            assert!(MediaKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(MediaKey::new("../ten_2", Direction::Outbound, "x").is_err());
        assert!(MediaKey::new("ten_1", Direction::Outbound, "../x").is_err());
        assert!(MediaKey::parse(&format!("tenants/t/inbound/{}", "a".repeat(256))).is_err());
        assert!(MediaKey::parse(&format!("tenants/t/inbound/{}", vec!["a".repeat(200); 6].join("/"))).is_err());
    }

    #[test]
    fn a_prefix_matches_only_its_own_tenant_and_direction() {
        let ten1 = MediaPrefix::tenant("ten_1").unwrap();
        let inbound = MediaPrefix::direction("ten_1", Direction::Inbound).unwrap();
        let key = MediaKey::new("ten_1", Direction::Inbound, "x").unwrap();
        let other = MediaKey::new("ten_10", Direction::Inbound, "x").unwrap();
        let outbound = MediaKey::new("ten_1", Direction::Outbound, "x").unwrap();
        assert!(ten1.contains(&key) && inbound.contains(&key) && ten1.contains(&outbound));
        assert!(!ten1.contains(&other) && !inbound.contains(&outbound));
        assert!(MediaPrefix::tenant("..").is_err() && MediaPrefix::tenant("a/b").is_err());
    }

    #[test]
    fn content_types_cannot_break_a_header() {
        for ok in [
            "image/jpeg",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "text/plain; charset=utf-8",
            "audio/ogg; codecs=opus",
        ] {
            assert!(check_content_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "image",
            "/png",
            "image/png\r\nx-amz-acl: public-read",
            "image/p ng",
            "text/plain; a=\u{e9}",
            "imagé/png",
        ] {
            assert!(check_content_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metadata_is_header_safe_and_leaves_sha256_to_the_adapter() {
        let ok: Metadata = [("filename".to_string(), "invoice 42.pdf".to_string())].into();
        assert!(check_metadata(&ok).is_ok());
        for (k, v) in [("sha256", "x"), ("File", "x"), ("a b", "x"), ("name", "line\nbreak"), ("name", "caf\u{e9}")] {
            assert!(check_metadata(&[(k.to_string(), v.to_string())].into()).is_err(), "{k}={v:?}");
        }
        assert!(check_metadata(&[("big".to_string(), "x".repeat(2100))].into()).is_err());
    }

    #[test]
    fn presigned_urls_live_at_most_their_limit() {
        assert!(check_ttl(MAX_GET_URL_TTL, MAX_GET_URL_TTL).is_ok());
        assert!(check_ttl(MAX_GET_URL_TTL + Duration::from_secs(1), MAX_GET_URL_TTL).is_err());
        assert!(check_ttl(Duration::ZERO, MAX_GET_URL_TTL).is_err());
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
