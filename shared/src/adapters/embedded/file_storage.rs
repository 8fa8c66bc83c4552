//! The embedded media store: one file per object under `<data_dir>/media/`.
//!
//! ```text
//! <data_dir>/media/tenants/{tenant}/{inbound|outbound}/{name}         the bytes (0600)
//! <data_dir>/media/.meta/tenants/{tenant}/{inbound|outbound}/{name}.json  content type, size,
//!                                                                      sha256, metadata, time
//! ```
//!
//! Keys are [`MediaKey`]s, so a key is always a relative path of plain segments below the root.
//! Both files are written under a hidden temporary name and renamed into place, the metadata
//! first: a visible data file always has its metadata (a crash between the renames leaves a
//! metadata file without data, which reads as missing). Presigned requests are [`MediaUrls`].
//! An [`Upload`] streams into the same kind of hidden temporary file, renamed into place (after
//! its metadata) by `finish` and removed by `abort` or when dropped unfinished.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::media_urls::MediaUrls;
use crate::ports::clock::Clock;
use crate::ports::storage::{
    self, MAX_GET_URL_TTL, MAX_PUT_URL_TTL, MediaKey, MediaPrefix, Metadata, ObjectInfo, ObjectReader, ObjectSummary,
    PresignedRequest, Storage, StorageError, Upload,
};

const META_DIR: &str = ".meta";

#[derive(Clone)]
pub struct FileStorage {
    root: PathBuf,
    urls: MediaUrls,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStorage").field("root", &self.root).field("urls", &self.urls).finish_non_exhaustive()
    }
}

/// What `.meta/{key}.json` holds.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    content_type: String,
    size: u64,
    sha256: Option<String>,
    metadata: Metadata,
    last_modified: DateTime<Utc>,
}

impl FileStorage {
    /// Creates `root` if needed. Presigned URLs are signed by `urls`; times come from `clock`.
    pub fn open(root: impl Into<PathBuf>, urls: MediaUrls, clock: Arc<dyn Clock>) -> Result<Self, StorageError> {
        let root = root.into();
        std::fs::create_dir_all(root.join(META_DIR)).map_err(|e| io_error(&root, &e))?;
        Ok(Self { root, urls, clock })
    }

    /// The signer, for the HTTP layer that serves `/media-files/…`.
    pub fn urls(&self) -> &MediaUrls {
        &self.urls
    }

    fn data_path(&self, key: &MediaKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn meta_path(&self, key: &MediaKey) -> PathBuf {
        self.root.join(META_DIR).join(format!("{key}.json"))
    }

    async fn read_info(&self, key: &MediaKey) -> Result<ObjectInfo, StorageError> {
        let (data, meta) = (self.data_path(key), self.meta_path(key));
        let blocking_key = key.clone();
        blocking(move || {
            if !data.is_file() {
                return Err(StorageError::NotFound(blocking_key.to_string()));
            }
            let raw = std::fs::read(&meta).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => StorageError::NotFound(blocking_key.to_string()),
                _ => io_error(&meta, &e),
            })?;
            let sidecar: Sidecar = serde_json::from_slice(&raw)
                .map_err(|e| StorageError::Unavailable(format!("{}: {e}", meta.display())))?;
            Ok(info(blocking_key, sidecar))
        })
        .await
    }
}

fn info(key: MediaKey, sidecar: Sidecar) -> ObjectInfo {
    ObjectInfo {
        key,
        content_type: sidecar.content_type,
        size: sidecar.size,
        sha256: sidecar.sha256,
        metadata: sidecar.metadata,
        last_modified: sidecar.last_modified,
    }
}

#[async_trait]
impl Storage for FileStorage {
    /// The local process answers `GET /media/{id}` with the file itself (SPEC: a redirect only on AWS).
    fn redirects_downloads(&self) -> bool {
        false
    }

    async fn put(
        &self,
        key: &MediaKey,
        body: Bytes,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<ObjectInfo, StorageError> {
        storage::check_content_type(content_type)?;
        storage::check_metadata(metadata)?;
        let sidecar = Sidecar {
            content_type: content_type.to_owned(),
            size: body.len() as u64,
            sha256: Some(storage::sha256_hex(&body)),
            metadata: metadata.clone(),
            last_modified: self.clock.now(),
        };
        let json = serde_json::to_vec(&sidecar).map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let (data, meta) = (self.data_path(key), self.meta_path(key));
        blocking(move || {
            write_atomically(&meta, &json)?;
            write_atomically(&data, &body)
        })
        .await?;
        Ok(info(key.clone(), sidecar))
    }

    async fn head(&self, key: &MediaKey) -> Result<ObjectInfo, StorageError> {
        self.read_info(key).await
    }

    async fn open(&self, key: &MediaKey) -> Result<(ObjectInfo, ObjectReader), StorageError> {
        let info = self.read_info(key).await?;
        let path = self.data_path(key);
        let file = tokio::fs::File::open(&path).await.map_err(|e| match e.kind() {
            // Deleted between the two reads.
            std::io::ErrorKind::NotFound => StorageError::NotFound(key.to_string()),
            _ => io_error(&path, &e),
        })?;
        Ok((info, Box::pin(file)))
    }

    async fn delete(&self, key: &MediaKey) -> Result<(), StorageError> {
        let (data, meta) = (self.data_path(key), self.meta_path(key));
        blocking(move || {
            // Data first: once it is gone the object reads as missing, whatever happens next.
            for path in [data, meta] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&path, &e)),
                }
            }
            Ok(())
        })
        .await
    }

    async fn presign_get(&self, key: &MediaKey, ttl: Duration) -> Result<PresignedRequest, StorageError> {
        storage::check_ttl(ttl, MAX_GET_URL_TTL)?;
        let expires_at = expiry(self.clock.now(), ttl);
        Ok(PresignedRequest {
            method: http::Method::GET,
            url: self.urls.get_url(key, expires_at),
            headers: Vec::new(),
            expires_at,
        })
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
        let expires_at = expiry(self.clock.now(), ttl);
        Ok(PresignedRequest {
            method: http::Method::PUT,
            url: self.urls.put_url(key, content_type, size, expires_at),
            headers: vec![("content-type".into(), content_type.into()), ("content-length".into(), size.to_string())],
            expires_at,
        })
    }

    async fn upload(
        &self,
        key: &MediaKey,
        content_type: &str,
        metadata: &Metadata,
    ) -> Result<Box<dyn Upload>, StorageError> {
        storage::check_content_type(content_type)?;
        storage::check_metadata(metadata)?;
        let data = self.data_path(key);
        let tmp = temporary(&data);
        let opened = tmp.clone();
        let file = blocking(move || {
            let dir = opened.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
            private_file().open(&opened).map_err(|e| io_error(&opened, &e))
        })
        .await?;
        Ok(Box::new(FileUpload {
            store: self.clone(),
            key: key.clone(),
            content_type: content_type.to_owned(),
            metadata: metadata.clone(),
            file: Some(tokio::fs::File::from_std(file)),
            tmp,
            size: 0,
        }))
    }

    async fn list(&self, prefix: &MediaPrefix) -> Result<Vec<ObjectSummary>, StorageError> {
        let root = self.root.clone();
        let prefix = prefix.clone();
        let mut keys = blocking(move || {
            let mut found = Vec::new();
            walk(&root, &root.join(prefix.as_str()), &mut found)?;
            Ok(found)
        })
        .await?;
        keys.sort();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            match self.read_info(&key).await {
                Ok(info) => out.push(ObjectSummary { key, size: info.size, last_modified: info.last_modified }),
                // Deleted while listing.
                Err(StorageError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// See the module docs. `file` is `None` once finished or aborted.
struct FileUpload {
    store: FileStorage,
    key: MediaKey,
    content_type: String,
    metadata: Metadata,
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    size: u64,
}

impl FileUpload {
    fn file(&mut self) -> Result<&mut tokio::fs::File, StorageError> {
        self.file.as_mut().ok_or_else(|| StorageError::Invalid("the upload is over".into()))
    }
}

#[async_trait]
impl Upload for FileUpload {
    async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        use tokio::io::AsyncWriteExt;
        let tmp = self.tmp.clone();
        self.file()?.write_all(&bytes).await.map_err(|e| io_error(&tmp, &e))?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<ObjectInfo, StorageError> {
        use tokio::io::AsyncWriteExt;
        let tmp = self.tmp.clone();
        let mut file = self.file.take().ok_or_else(|| StorageError::Invalid("the upload is over".into()))?;
        let synced = async {
            file.flush().await?;
            file.sync_all().await
        };
        if let Err(e) = synced.await {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error(&tmp, &e));
        }
        drop(file);
        let sidecar = Sidecar {
            content_type: self.content_type.clone(),
            size: self.size,
            sha256: None,
            metadata: self.metadata.clone(),
            last_modified: self.store.clock.now(),
        };
        let json = serde_json::to_vec(&sidecar).map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let (data, meta) = (self.store.data_path(&self.key), self.store.meta_path(&self.key));
        blocking(move || {
            write_atomically(&meta, &json)?;
            std::fs::rename(&tmp, &data).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io_error(&data, &e)
            })
        })
        .await?;
        Ok(info(self.key.clone(), sidecar))
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StorageError> {
        self.file = None;
        let tmp = self.tmp.clone();
        blocking(move || match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&tmp, &e)),
            _ => Ok(()),
        })
        .await
    }
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        // Unfinished: nothing of it stays (finish and abort took the file first).
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The expiry as S3 states it: whole seconds.
fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    let at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero());
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// Every file below `dir` that is a valid key (temporary files are hidden, so never one).
fn walk(root: &Path, dir: &Path, found: &mut Vec<MediaKey>) -> Result<(), StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(dir, &e)),
    };
    for entry in entries {
        let path = entry.map_err(|e| io_error(dir, &e))?.path();
        if path.is_dir() {
            walk(root, &path, found)?;
        } else if let Some(key) =
            path.strip_prefix(root).ok().and_then(|rel| rel.to_str()).and_then(|rel| MediaKey::parse(rel).ok())
        {
            found.push(key);
        }
    }
    Ok(())
}

/// Writes `path` through a hidden temporary file in its folder (created as needed), synced and
/// renamed into place; readable by the owner only, as the outbox and the key files.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
    let tmp = temporary(path);
    let written = private_file()
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, &e)
    })
}

/// A hidden temporary name next to `path` (never a valid key, so never listed).
fn temporary(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()))
}

/// A new file readable by the owner only.
fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StorageError::Unavailable(format!("storage task failed: {e}")))?
}

fn io_error(path: &Path, e: &std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::ports::clock::SystemClock;
    use crate::ports::storage::Direction;

    fn storage(root: &Path) -> FileStorage {
        let urls = MediaUrls::new(SecretString::from("k"), "http://127.0.0.1:3000");
        FileStorage::open(root, urls, Arc::new(SystemClock)).unwrap()
    }

    #[tokio::test]
    async fn objects_are_files_under_the_root_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = storage(dir.path());
        let key = MediaKey::new("ten_1", Direction::Inbound, "med_1/photo.jpg").unwrap();
        store.put(&key, Bytes::from_static(b"jpeg"), "image/jpeg", &Metadata::new()).await.unwrap();
        let path = dir.path().join("tenants/ten_1/inbound/med_1/photo.jpg");
        assert_eq!(std::fs::read(&path).unwrap(), b"jpeg");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("photo.jpg")]);
    }

    #[tokio::test]
    async fn metadata_without_data_reads_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = storage(dir.path());
        let key = MediaKey::new("ten_1", Direction::Inbound, "half-written").unwrap();
        store.put(&key, Bytes::from_static(b"x"), "text/plain", &Metadata::new()).await.unwrap();
        std::fs::remove_file(dir.path().join(key.as_str())).unwrap();
        assert!(matches!(store.head(&key).await, Err(StorageError::NotFound(_))));
        assert!(store.list(&MediaPrefix::tenant("ten_1").unwrap()).await.unwrap().is_empty());
    }
}
