//! The AWS media store: one S3 bucket (`MEDIA_BUCKET`), objects under their [`MediaKey`].
//!
//! Requests are built and SigV4-signed by `rusty-s3` (query-signed URLs, the same for the
//! platform's own calls and the URLs it hands out) and sent with reqwest, which every function
//! already links for Meta's API. aws-sdk-s3 is not used: with the CRC tables of its checksums it
//! added ~1.3 MB to every binary that handles media, for the nine S3 calls below.
//!
//! `put` records the bytes' SHA-256 as user metadata (`x-amz-meta-sha256`) and the plan's
//! retention as the object's tag. Presigned URLs: a GET for at most 5 minutes; a PUT signs
//! `content-type` and `content-length`, so S3 refuses an upload of another type or size
//! (SignatureDoesNotMatch). moto does not check presigned signatures or expiry, so the tests that
//! need that run on the embedded store; on moto they check what the URL signs.
//!
//! An [`Upload`] holds one part (5 MiB) at a time: an object that stays under one part is one
//! PutObject at `finish`; a larger one becomes a multipart upload when its first part is full
//! (CreateMultipartUpload, an UploadPart per 5 MiB, CompleteMultipartUpload). One that is never
//! finished is aborted by `abort`, else by the bucket's lifecycle rule after a day.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::ports::clock::Clock;
use crate::ports::storage::{
    self, MAX_GET_URL_TTL, MAX_PUT_URL_TTL, MediaKey, MediaPrefix, Metadata, ObjectInfo, ObjectReader, ObjectSummary,
    PresignedRequest, SHA256_METADATA, Storage, StorageError, UPLOAD_PART_SIZE, Upload,
};

/// How long the URL of one of the platform's own calls is valid: S3 checks it when the request
/// arrives, so this only has to cover the time between signing and sending.
const CALL_TTL: Duration = Duration::from_secs(300);

/// Temporary credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct S3Storage {
    http: reqwest::Client,
    bucket: Bucket,
    credentials: Arc<CredentialSource>,
    /// Tries per call, the SDK configuration's (3 by default; the tests on moto raise it).
    attempts: u32,
    clock: Arc<dyn Clock>,
    /// Where presigned GETs point ([`Storage::download_origin`]), from one presigned by
    /// [`S3Storage::with_download_origin`]: exact whatever the region, partition or endpoint.
    origin: Option<String>,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage").field("bucket", &self.bucket.name()).finish_non_exhaustive()
    }
}

/// The SDK configuration's credentials provider (on Lambda the role's keys in the environment),
/// asked again only when what it gave is about to expire.
struct CredentialSource {
    provider: Option<SharedCredentialsProvider>,
    current: Mutex<Option<(Credentials, Option<SystemTime>)>>,
}

impl CredentialSource {
    async fn get(&self) -> Result<Credentials, StorageError> {
        let renew_after = SystemTime::now() + RENEW_BEFORE;
        if let Some((credentials, expiry)) = &*self.current.lock().unwrap_or_else(|e| e.into_inner())
            && expiry.is_none_or(|at| at > renew_after)
        {
            return Ok(credentials.clone());
        }
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| StorageError::Unavailable("S3: no AWS credentials configured".into()))?;
        let fresh = provider
            .provide_credentials()
            .await
            .map_err(|e| StorageError::Unavailable(format!("S3: AWS credentials: {e}")))?;
        let credentials = match fresh.session_token() {
            Some(token) => Credentials::new_with_token(fresh.access_key_id(), fresh.secret_access_key(), token),
            None => Credentials::new(fresh.access_key_id(), fresh.secret_access_key()),
        };
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((credentials.clone(), fresh.expiry()));
        Ok(credentials)
    }
}

impl S3Storage {
    /// The bucket `bucket` in the SDK configuration's region, with its credentials. An endpoint
    /// override (moto, a MinIO) gets path-style addressing: `bucket.127.0.0.1` does not resolve.
    /// Presigned URLs start at `clock`'s time (tests move it); the platform's own calls are
    /// signed at the real time.
    pub fn new(
        sdk: &aws_types::SdkConfig,
        bucket: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StorageError> {
        let bucket = bucket.into();
        let region = sdk.region().map_or("us-east-1", |r| r.as_ref()).to_owned();
        let (endpoint, style) = match sdk.endpoint_url() {
            Some(url) => (url.to_owned(), UrlStyle::Path),
            // A name with a dot cannot be a TLS host name under s3.<region>.amazonaws.com.
            None => {
                (regional_endpoint(&region), if bucket.contains('.') { UrlStyle::Path } else { UrlStyle::VirtualHost })
            }
        };
        let endpoint = endpoint.parse().map_err(|e| StorageError::Invalid(format!("S3 endpoint {endpoint}: {e}")))?;
        let bucket = Bucket::new(endpoint, style, bucket.clone(), region)
            .map_err(|e| StorageError::Invalid(format!("S3 bucket {bucket}: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| StorageError::Unavailable(format!("S3 HTTP client: {e}")))?;
        let credentials =
            Arc::new(CredentialSource { provider: sdk.credentials_provider(), current: Mutex::new(None) });
        let attempts = sdk.retry_config().map_or(3, |r| r.max_attempts()).max(1);
        Ok(Self { http, bucket, credentials, attempts, clock, origin: None })
    }

    /// The store with its [`Storage::download_origin`] known: the origin of a presigned GET
    /// (signing is local: no request is made). Without it (signing failed: no credentials yet)
    /// the console keeps serving previews itself.
    pub async fn with_download_origin(mut self) -> Self {
        let probe = MediaKey::new("origin", storage::Direction::Outbound, "probe");
        match probe {
            Ok(key) => match self.presign_get(&key, Duration::from_secs(60)).await {
                Ok(request) => self.origin = storage::url_origin(&request.url),
                Err(e) => tracing::warn!(error = %e, "the media bucket's download origin is unknown"),
            },
            Err(e) => tracing::warn!(error = %e, "the origin probe's key"),
        }
        self
    }

    /// Creates the bucket (tests on moto; on AWS the stack owns it).
    pub async fn create_bucket(&self) -> Result<(), StorageError> {
        let credentials = self.credentials.get().await?;
        let action = self.bucket.create_bucket(&credentials);
        let url = action.sign(CALL_TTL);
        let body = action.body();
        let what = format!("bucket {}", self.bucket.name());
        self.send(&what, reqwest::Method::PUT, url, &[], Some(body.into())).await.map(drop)
    }

    /// Sends `method` to a signed `url` with the headers it signed; a transient failure (no
    /// answer, 500, 502, 503 SlowDown, 504) is sent again, as the SDK's standard retries did.
    async fn send(
        &self,
        what: &str,
        method: reqwest::Method,
        url: url::Url,
        headers: &[(String, String)],
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, StorageError> {
        let mut attempt = 1;
        loop {
            let mut request = self.http.request(method.clone(), url.as_str());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            if let Some(body) = &body {
                request = request.body(body.clone());
            }
            // S3 wants a length on every PUT and POST (411 otherwise), and reqwest leaves it out
            // when the body is empty (an empty file, CreateMultipartUpload).
            if matches!(method, reqwest::Method::PUT | reqwest::Method::POST) {
                request = request.header(http::header::CONTENT_LENGTH, body.as_ref().map_or(0, Bytes::len));
            }
            let sent = request.send().await;
            let transient = match &sent {
                Ok(response) => matches!(response.status().as_u16(), 500 | 502 | 503 | 504),
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if transient && attempt < self.attempts {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                attempt += 1;
                continue;
            }
            return checked(what, sent).await;
        }
    }

    /// The headers PutObject and CreateMultipartUpload sign and send: the type, the user
    /// metadata and the retention tag (the lifecycle rules match tags, not metadata).
    fn object_headers(content_type: &str, metadata: &Metadata) -> Vec<(String, String)> {
        let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
        headers.extend(metadata.iter().map(|(k, v)| (format!("x-amz-meta-{}", k.to_ascii_lowercase()), v.clone())));
        if let Some(days) = metadata.get(storage::RETENTION_TAG) {
            headers.push(("x-amz-tagging".to_owned(), format!("{}={days}", storage::RETENTION_TAG)));
        }
        headers
    }

    fn presigned(
        &self,
        method: http::Method,
        url: url::Url,
        headers: Vec<(String, String)>,
        ttl: Duration,
    ) -> PresignedRequest {
        let at = self.clock.now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero());
        // SigV4 dates are whole seconds.
        PresignedRequest {
            method,
            url: url.into(),
            headers,
            expires_at: DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at),
        }
    }

    /// When presigned URLs start: the store's clock, in whole seconds.
    fn signing_time(&self) -> Result<jiff::Timestamp, StorageError> {
        jiff::Timestamp::from_second(self.clock.now().timestamp())
            .map_err(|e| StorageError::Invalid(format!("presigning: {e}")))
    }
}

/// S3's regional endpoint (`s3.<region>.amazonaws.com`; China's regions are under `.com.cn`).
fn regional_endpoint(region: &str) -> String {
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://s3.{region}.{domain}")
}

fn signed_headers<'a>(action: &mut impl S3Action<'a>, headers: &'a [(String, String)]) {
    for (name, value) in headers {
        action.headers_mut().insert(name.as_str(), value.as_str());
    }
}

#[async_trait]
impl Storage for S3Storage {
    async fn put(
        &self,
        key: &MediaKey,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<ObjectInfo, StorageError> {
        storage::check_content_type(content_type)?;
        storage::check_metadata(metadata)?;
        let sha256 = storage::sha256_hex(&body);
        let size = body.len() as u64;
        let mut all = metadata.clone();
        all.insert(SHA256_METADATA.into(), sha256.clone());
        let headers = Self::object_headers(content_type, &all);
        let credentials = self.credentials.get().await?;
        let mut action = self.bucket.put_object(Some(&credentials), key.as_str());
        signed_headers(&mut action, &headers);
        self.send(key.as_str(), reqwest::Method::PUT, action.sign(CALL_TTL), &headers, Some(body)).await?;
        Ok(ObjectInfo {
            key: key.clone(),
            content_type: content_type.to_owned(),
            size,
            sha256: Some(sha256),
            metadata: metadata.clone(),
            // S3 keeps its own time; this is within the request's round trip of it.
            last_modified: self.clock.now(),
        })
    }

    async fn head(&self, key: &MediaKey) -> Result<ObjectInfo, StorageError> {
        let credentials = self.credentials.get().await?;
        let url = self.bucket.head_object(Some(&credentials), key.as_str()).sign(CALL_TTL);
        let response = self.send(key.as_str(), reqwest::Method::HEAD, url, &[], None).await?;
        Ok(object_info(key, response.headers()))
    }

    async fn open(&self, key: &MediaKey) -> Result<(ObjectInfo, ObjectReader), StorageError> {
        let credentials = self.credentials.get().await?;
        let url = self.bucket.get_object(Some(&credentials), key.as_str()).sign(CALL_TTL);
        let response = self.send(key.as_str(), reqwest::Method::GET, url, &[], None).await?;
        let info = object_info(key, response.headers());
        let bytes = response.bytes_stream().map_err(std::io::Error::other);
        Ok((info, Box::pin(tokio_util::io::StreamReader::new(bytes))))
    }

    async fn delete(&self, key: &MediaKey) -> Result<(), StorageError> {
        // S3 answers 204 for a missing key too.
        let credentials = self.credentials.get().await?;
        let url = self.bucket.delete_object(Some(&credentials), key.as_str()).sign(CALL_TTL);
        self.send(key.as_str(), reqwest::Method::DELETE, url, &[], None).await.map(drop)
    }

    async fn presign_get(&self, key: &MediaKey, ttl: Duration) -> Result<PresignedRequest, StorageError> {
        storage::check_ttl(ttl, MAX_GET_URL_TTL)?;
        let credentials = self.credentials.get().await?;
        let url = self.bucket.get_object(Some(&credentials), key.as_str()).sign_with_time(ttl, &self.signing_time()?);
        Ok(self.presigned(http::Method::GET, url, Vec::new(), ttl))
    }

    fn download_origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    async fn presign_put(
        &self,
        key: &MediaKey,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        storage::check_ttl(ttl, MAX_PUT_URL_TTL)?;
        storage::check_content_type(content_type)?;
        let headers =
            vec![("content-type".to_owned(), content_type.to_owned()), ("content-length".to_owned(), size.to_string())];
        let credentials = self.credentials.get().await?;
        let mut action = self.bucket.put_object(Some(&credentials), key.as_str());
        signed_headers(&mut action, &headers);
        let url = action.sign_with_time(ttl, &self.signing_time()?);
        Ok(self.presigned(http::Method::PUT, url, headers, ttl))
    }

    async fn list(&self, prefix: &MediaPrefix) -> Result<Vec<ObjectSummary>, StorageError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let credentials = self.credentials.get().await?;
            let mut action = self.bucket.list_objects_v2(Some(&credentials));
            action.with_prefix(prefix.as_str());
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            let url = action.sign(CALL_TTL);
            let what = format!("list {}", prefix.as_str());
            let response = self.send(&what, reqwest::Method::GET, url, &[], None).await?;
            let body = response.text().await.map_err(|e| StorageError::Unavailable(format!("S3 {what}: {e}")))?;
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&body)
                .map_err(|e| StorageError::Unavailable(format!("S3 {what}: {e}")))?;
            for object in page.contents {
                // Objects someone else wrote under the prefix with a key we would not make are skipped.
                let Ok(key) = MediaKey::parse(&object.key) else { continue };
                let last_modified = object.last_modified.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                out.push(ObjectSummary {
                    key,
                    size: object.size.unwrap_or(0),
                    last_modified: last_modified.map(|t| t.with_timezone(&Utc)).unwrap_or_default(),
                });
            }
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn upload(
        &self,
        key: &MediaKey,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<Box<dyn Upload>, StorageError> {
        storage::check_content_type(content_type)?;
        storage::check_metadata(metadata)?;
        Ok(Box::new(S3Upload {
            store: self.clone(),
            key: key.clone(),
            content_type: content_type.to_owned(),
            metadata: metadata.clone(),
            buffer: bytes::BytesMut::new(),
            upload_id: None,
            etags: Vec::new(),
            size: 0,
        }))
    }
}

/// See the module docs.
struct S3Upload {
    store: S3Storage,
    key: MediaKey,
    content_type: String,
    metadata: Metadata,
    /// Less than a part, except between a write and the part it completes being sent.
    buffer: bytes::BytesMut,
    /// Set once the first full part is sent.
    upload_id: Option<String>,
    /// The n-th part's ETag is part n's.
    etags: Vec<String>,
    size: u64,
}

impl S3Upload {
    async fn send_part(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        let (store, key) = (&self.store, &self.key);
        let credentials = store.credentials.get().await?;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let headers = S3Storage::object_headers(&self.content_type, &self.metadata);
                let mut action = store.bucket.create_multipart_upload(Some(&credentials), key.as_str());
                signed_headers(&mut action, &headers);
                let url = action.sign(CALL_TTL);
                let response = store.send(key.as_str(), reqwest::Method::POST, url, &headers, None).await?;
                let body = response.text().await.map_err(|e| StorageError::Unavailable(format!("S3 {key}: {e}")))?;
                let created = rusty_s3::actions::CreateMultipartUpload::parse_response(&body)
                    .map_err(|e| StorageError::Unavailable(format!("S3 {key}: no upload id: {e}")))?;
                let id = created.upload_id().to_owned();
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = u16::try_from(self.etags.len() + 1)
            .map_err(|_| StorageError::Invalid(format!("S3 {key}: more than {} parts", u16::MAX)))?;
        let url = store.bucket.upload_part(Some(&credentials), key.as_str(), number, &upload_id).sign(CALL_TTL);
        let response = store.send(key.as_str(), reqwest::Method::PUT, url, &[], Some(bytes)).await?;
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok());
        let etag = etag.ok_or_else(|| StorageError::Unavailable(format!("S3 {key}: part {number} has no ETag")))?;
        self.etags.push(etag.to_owned());
        Ok(())
    }
}

#[async_trait]
impl Upload for S3Upload {
    async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        self.size += bytes.len() as u64;
        self.buffer.extend_from_slice(&bytes);
        while self.buffer.len() >= UPLOAD_PART_SIZE {
            let part = self.buffer.split_to(UPLOAD_PART_SIZE).freeze();
            self.send_part(part).await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<ObjectInfo, StorageError> {
        let rest = std::mem::take(&mut self.buffer).freeze();
        let key = self.key.clone();
        match self.upload_id.clone() {
            // Under one part: a plain PutObject.
            None => return self.store.put(&key, rest, &self.content_type, &self.metadata).await,
            Some(upload_id) => {
                if !rest.is_empty() {
                    self.send_part(rest).await?;
                }
                let store = &self.store;
                let credentials = store.credentials.get().await?;
                let etags = self.etags.iter().map(String::as_str);
                let action =
                    store.bucket.complete_multipart_upload(Some(&credentials), key.as_str(), &upload_id, etags);
                let url = action.sign(CALL_TTL);
                let body = Bytes::from(action.body());
                let response = store.send(key.as_str(), reqwest::Method::POST, url, &[], Some(body)).await?;
                // S3 can answer 200 and still fail: the error is then in the body.
                let answer = response.text().await.map_err(|e| StorageError::Unavailable(format!("S3 {key}: {e}")))?;
                if let Some(code) = element(&answer, "Code") {
                    return Err(StorageError::Unavailable(format!("S3 {key}: completing the upload: {code}")));
                }
            }
        }
        Ok(ObjectInfo {
            key,
            content_type: self.content_type.clone(),
            size: self.size,
            sha256: None,
            metadata: self.metadata.clone(),
            last_modified: self.store.clock.now(),
        })
    }

    async fn abort(self: Box<Self>) -> Result<(), StorageError> {
        if let Some(upload_id) = &self.upload_id {
            let credentials = self.store.credentials.get().await?;
            let action = self.store.bucket.abort_multipart_upload(Some(&credentials), self.key.as_str(), upload_id);
            self.store.send(self.key.as_str(), reqwest::Method::DELETE, action.sign(CALL_TTL), &[], None).await?;
        }
        Ok(())
    }
}

/// What HeadObject and GetObject say of the object, from their headers.
fn object_info(key: &MediaKey, headers: &http::HeaderMap) -> ObjectInfo {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut metadata: Metadata = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().strip_prefix("x-amz-meta-")?.to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let sha256 = metadata.remove(SHA256_METADATA);
    let last_modified = text("last-modified").and_then(|t| DateTime::parse_from_rfc2822(t).ok());
    ObjectInfo {
        key: key.clone(),
        content_type: text("content-type").unwrap_or("application/octet-stream").to_owned(),
        size: text("content-length").and_then(|n| n.parse().ok()).unwrap_or(0),
        sha256,
        metadata,
        last_modified: last_modified.map(|t| t.with_timezone(&Utc)).unwrap_or_default(),
    }
}

/// The answer when it is a success; otherwise the error. A missing key is `NotFound` (GetObject
/// says NoSuchKey; HeadObject has no body, so a bare 404, which a missing bucket also gives); a
/// missing bucket (NoSuchBucket) and everything else is `Unavailable`.
async fn checked(
    what: &str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<reqwest::Response, StorageError> {
    let response = sent.map_err(|e| StorageError::Unavailable(format!("S3 {what}: {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let code = element(&body, "Code");
    if matches!(code, Some("NoSuchKey" | "NotFound")) || (status.as_u16() == 404 && code != Some("NoSuchBucket")) {
        return Err(StorageError::NotFound(what.to_owned()));
    }
    let message = element(&body, "Message").unwrap_or_default();
    Err(StorageError::Unavailable(format!("S3 {what}: {status} {} {message}", code.unwrap_or("(no code)"))))
}

/// The text of `<name>` in one of S3's small XML error documents (`<Error><Code>…</Code>…`).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_document_gives_its_code_and_message() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>b</BucketName></Error>";
        assert_eq!(element(xml, "Code"), Some("NoSuchBucket"));
        assert_eq!(element(xml, "Message"), Some("The specified bucket does not exist"));
        assert_eq!(element(xml, "RequestId"), None);
        assert_eq!(
            element("<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>", "Code"),
            None
        );
    }

    #[test]
    fn regions_have_their_partitions_endpoint() {
        assert_eq!(regional_endpoint("eu-west-1"), "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(regional_endpoint("cn-north-1"), "https://s3.cn-north-1.amazonaws.com.cn");
    }
}
