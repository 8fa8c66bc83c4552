//! The AWS media store: one S3 bucket (`MEDIA_BUCKET`), objects under their [`MediaKey`].
//!
//! `put` records the bytes' SHA-256 as user metadata (`x-amz-meta-sha256`). Presigned URLs are
//! SigV4 query-signed: a GET for at most 5 minutes; a PUT signs `content-type` and
//! `content-length`, so S3 refuses an upload of another type or size (SignatureDoesNotMatch).
//! moto does not check presigned signatures or expiry, so the tests that need that run on the
//! embedded store; on moto they check what the URL signs.
//!
//! An [`Upload`] holds one part (5 MiB) at a time: an object that stays under one part is one
//! PutObject at `finish`; a larger one becomes a multipart upload when its first part is full
//! (CreateMultipartUpload, an UploadPart per 5 MiB, CompleteMultipartUpload). One that is never
//! finished is aborted by `abort`, else by the bucket's lifecycle rule after a day.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest as SdkPresigned, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::ports::clock::Clock;
use crate::ports::storage::{
    self, MAX_GET_URL_TTL, MAX_PUT_URL_TTL, MediaKey, MediaPrefix, Metadata, ObjectInfo, ObjectReader, ObjectSummary,
    PresignedRequest, SHA256_METADATA, Storage, StorageError, UPLOAD_PART_SIZE, Upload,
};

#[derive(Clone)]
pub struct S3Storage {
    client: aws_sdk_s3::Client,
    bucket: String,
    clock: Arc<dyn Clock>,
    /// Where presigned GETs point ([`Storage::download_origin`]), from one presigned by
    /// [`S3Storage::with_download_origin`]: exact whatever the region, partition or endpoint.
    origin: Option<String>,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage").field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

impl S3Storage {
    /// Presigned URLs start at `clock`'s time (tests move it; the SDK's own clock otherwise).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self { client, bucket: bucket.into(), clock, origin: None }
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

    /// A client for `sdk`. An endpoint override (moto, a MinIO) gets path-style addressing:
    /// `bucket.127.0.0.1` does not resolve.
    pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn presigning(&self, ttl: Duration) -> Result<PresigningConfig, StorageError> {
        let start = SystemTime::from(self.clock.now());
        PresigningConfig::builder()
            .start_time(start)
            .expires_in(ttl)
            .build()
            .map_err(|e| StorageError::Invalid(format!("presigning: {e}")))
    }

    fn presigned(
        &self,
        method: http::Method,
        request: SdkPresigned,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let start = self.clock.now();
        let at = start + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero());
        Ok(PresignedRequest {
            method,
            url: request.uri().to_owned(),
            headers: request.headers().map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned())).collect(),
            // SigV4 dates are whole seconds.
            expires_at: DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at),
        })
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
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .set_metadata(Some(all.into_iter().collect()))
            .set_tagging(tagging(metadata))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| error(key, e))?;
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
        let out =
            self.client.head_object().bucket(&self.bucket).key(key.as_str()).send().await.map_err(|e| error(key, e))?;
        Ok(object_info(key, out.content_type, out.content_length, out.metadata, out.last_modified))
    }

    async fn open(&self, key: &MediaKey) -> Result<(ObjectInfo, ObjectReader), StorageError> {
        let out =
            self.client.get_object().bucket(&self.bucket).key(key.as_str()).send().await.map_err(|e| error(key, e))?;
        let info = object_info(key, out.content_type, out.content_length, out.metadata, out.last_modified);
        Ok((info, Box::pin(out.body.into_async_read())))
    }

    async fn delete(&self, key: &MediaKey) -> Result<(), StorageError> {
        // S3 answers 204 for a missing key too.
        self.client.delete_object().bucket(&self.bucket).key(key.as_str()).send().await.map_err(|e| error(key, e))?;
        Ok(())
    }

    async fn presign_get(&self, key: &MediaKey, ttl: Duration) -> Result<PresignedRequest, StorageError> {
        storage::check_ttl(ttl, MAX_GET_URL_TTL)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(self.presigning(ttl)?)
            .await
            .map_err(|e| error(key, e))?;
        self.presigned(http::Method::GET, request, ttl)
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
        let length = i64::try_from(size).map_err(|_| StorageError::Invalid(format!("size {size}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .content_length(length)
            .presigned(self.presigning(ttl)?)
            .await
            .map_err(|e| error(key, e))?;
        self.presigned(http::Method::PUT, request, ttl)
    }

    async fn list(&self, prefix: &MediaPrefix) -> Result<Vec<ObjectSummary>, StorageError> {
        let mut out = Vec::new();
        let mut pages =
            self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix.as_str()).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StorageError::Unavailable(DisplayErrorContext(e).to_string()))?;
            for object in page.contents.unwrap_or_default() {
                // Objects someone else wrote under the prefix with a key we would not make are skipped.
                let Some(key) = object.key.as_deref().and_then(|k| MediaKey::parse(k).ok()) else { continue };
                out.push(ObjectSummary {
                    key,
                    size: object.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    last_modified: time(object.last_modified),
                });
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
            parts: Vec::new(),
            size: 0,
        }))
    }
}

/// The lifecycle rule for the plan's retention (rules match tags, not metadata).
fn tagging(metadata: &Metadata) -> Option<String> {
    metadata.get(storage::RETENTION_TAG).map(|days| format!("{}={days}", storage::RETENTION_TAG))
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
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
    size: u64,
}

impl S3Upload {
    async fn send_part(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        let (client, bucket, key) = (&self.store.client, &self.store.bucket, &self.key);
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = client
                    .create_multipart_upload()
                    .bucket(bucket)
                    .key(key.as_str())
                    .content_type(&self.content_type)
                    .set_metadata(Some(self.metadata.clone().into_iter().collect()))
                    .set_tagging(tagging(&self.metadata))
                    .send()
                    .await
                    .map_err(|e| error(key, e))?;
                let id = out.upload_id.ok_or_else(|| StorageError::Unavailable(format!("S3 {key}: no upload id")))?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let out = client
            .upload_part()
            .bucket(bucket)
            .key(key.as_str())
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| error(key, e))?;
        self.parts.push(aws_sdk_s3::types::CompletedPart::builder().set_e_tag(out.e_tag).part_number(number).build());
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
                let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build();
                self.store
                    .client
                    .complete_multipart_upload()
                    .bucket(&self.store.bucket)
                    .key(key.as_str())
                    .upload_id(upload_id)
                    .multipart_upload(parts)
                    .send()
                    .await
                    .map_err(|e| error(&key, e))?;
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
            self.store
                .client
                .abort_multipart_upload()
                .bucket(&self.store.bucket)
                .key(self.key.as_str())
                .upload_id(upload_id)
                .send()
                .await
                .map_err(|e| error(&self.key, e))?;
        }
        Ok(())
    }
}

fn object_info(
    key: &MediaKey,
    content_type: Option<String>,
    length: Option<i64>,
    metadata: Option<std::collections::HashMap<String, String>>,
    last_modified: Option<aws_sdk_s3::primitives::DateTime>,
) -> ObjectInfo {
    let mut metadata: Metadata = metadata.unwrap_or_default().into_iter().collect();
    let sha256 = metadata.remove(SHA256_METADATA);
    ObjectInfo {
        key: key.clone(),
        content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
        size: length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        sha256,
        metadata,
        last_modified: time(last_modified),
    }
}

fn time(t: Option<aws_sdk_s3::primitives::DateTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())).unwrap_or_default()
}

/// A missing key is `NotFound` (GetObject says NoSuchKey; HeadObject has no body, so a bare 404,
/// which a missing bucket also gives); a missing bucket (NoSuchBucket) and everything else is
/// `Unavailable`.
fn error<E>(key: &MediaKey, e: SdkError<E>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.as_service_error().and_then(|s| s.code());
    let missing = matches!(code, Some("NoSuchKey" | "NotFound"))
        || (code != Some("NoSuchBucket") && e.raw_response().is_some_and(|r| r.status().as_u16() == 404));
    if missing {
        return StorageError::NotFound(key.to_string());
    }
    StorageError::Unavailable(format!("S3 {key}: {}", DisplayErrorContext(e)))
}
