//! The simulator's durable state, when it is given a directory ([`crate::SimConfig::data_dir`]):
//!
//! ```text
//! <dir>/state.json      templates (with review state and edit history), registrations,
//!                       subscriptions, used codes, media metadata — one JSON snapshot
//! <dir>/media/<id>      the bytes of each media object
//! ```
//!
//! The snapshot is small (a local install's templates and media ids), so every change rewrites
//! it whole: written to a temporary file, synced, then renamed over the old one, so a crash
//! leaves either the old or the new state, never half of one. Businesses and numbers need no
//! storage: they derive from the code ([`crate::business`]). What is only useful while running
//! (sent-message log, rate windows, webhook log, scripted faults) is not kept.
//!
//! Media older than Meta's 30 days is dropped at start-up (bytes included). Without a directory
//! everything lives in memory, media bytes included.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::media::MediaObject;
use crate::templates::TemplateRecord;

const SNAPSHOT: &str = "state.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub used_codes: Vec<String>,
    pub next_template: u64,
    /// Every WABA's templates, each WABA's in creation order.
    pub templates: Vec<TemplateRecord>,
    pub subscribed: Vec<String>,
    pub registered: Vec<String>,
    pub media: Vec<MediaObject>,
}

/// Where snapshots and media bytes go.
pub enum Store {
    Memory(Mutex<HashMap<String, Bytes>>),
    Dir {
        dir: PathBuf,
        /// Serialises snapshot writes: each writer snapshots the newest state while holding it,
        /// so an older snapshot can never be renamed over a newer one.
        writing: Mutex<()>,
    },
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
}

impl Store {
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// Opens (creating) `dir` and reads its snapshot, if any. A snapshot that cannot be read is
    /// an error, never an empty start: that would silently lose every template.
    pub fn open(dir: &Path) -> std::io::Result<(Self, Option<Snapshot>)> {
        std::fs::create_dir_all(dir.join("media"))?;
        let path = dir.join(SNAPSHOT);
        let snapshot = match std::fs::read(&path) {
            Ok(raw) => {
                let s: Snapshot = serde_json::from_slice(&raw).map_err(|e| invalid(&path, e))?;
                if s.version != FORMAT_VERSION {
                    return Err(invalid(&path, format!("unknown format version {}", s.version)));
                }
                Some(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok((Self::Dir { dir: dir.to_owned(), writing: Mutex::new(()) }, snapshot))
    }

    /// Writes the snapshot `take` returns, atomically; `take` runs under the write lock.
    pub fn save(&self, take: impl FnOnce() -> Snapshot) -> std::io::Result<()> {
        let Self::Dir { dir, writing } = self else { return Ok(()) };
        let _guard = writing.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = take();
        snapshot.version = FORMAT_VERSION;
        let raw = serde_json::to_vec_pretty(&snapshot).map_err(std::io::Error::other)?;
        write_atomically(dir, SNAPSHOT, &raw)
    }

    pub async fn put_blob(&self, id: &str, bytes: Bytes) -> std::io::Result<()> {
        match self {
            Self::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), bytes);
                Ok(())
            }
            Self::Dir { dir, .. } => {
                let dir = dir.join("media");
                let id = id.to_owned();
                tokio::task::spawn_blocking(move || write_atomically(&dir, &id, &bytes))
                    .await
                    .map_err(std::io::Error::other)?
            }
        }
    }

    pub async fn get_blob(&self, id: &str) -> std::io::Result<Option<Bytes>> {
        match self {
            Self::Memory(m) => Ok(m.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()),
            Self::Dir { dir, .. } => match tokio::fs::read(dir.join("media").join(id)).await {
                Ok(b) => Ok(Some(Bytes::from(b))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    pub async fn delete_blob(&self, id: &str) -> std::io::Result<()> {
        match self {
            Self::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
                Ok(())
            }
            Self::Dir { dir, .. } => match tokio::fs::remove_file(dir.join("media").join(id)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// Deletes a blob synchronously (start-up clean-up of expired media).
    pub fn delete_blob_now(&self, id: &str) {
        match self {
            Self::Memory(m) => {
                m.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
            }
            Self::Dir { dir, .. } => {
                let _ = std::fs::remove_file(dir.join("media").join(id));
            }
        }
    }

    /// Whether a media object's bytes are there (a snapshot entry without them is dropped on load).
    pub fn has_blob(&self, id: &str) -> bool {
        match self {
            Self::Memory(m) => m.lock().unwrap_or_else(|e| e.into_inner()).contains_key(id),
            Self::Dir { dir, .. } => dir.join("media").join(id).is_file(),
        }
    }
}

/// temp file in the same directory → fsync → rename → fsync the directory.
fn write_atomically(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", ulid::Ulid::new()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))?;
        // The rename itself is durable only once the directory is synced (best effort where a
        // platform cannot open directories).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_round_trips_and_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (store, none) = Store::open(dir.path()).unwrap();
        assert!(none.is_none());
        store.save(|| Snapshot { used_codes: vec!["c".into()], next_template: 7, ..Snapshot::default() }).unwrap();
        let (_, some) = Store::open(dir.path()).unwrap();
        let s = some.unwrap();
        assert_eq!((s.used_codes, s.next_template, s.version), (vec!["c".to_owned()], 7, FORMAT_VERSION));
        // No temporary file is left behind.
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

        std::fs::write(dir.path().join(SNAPSHOT), b"{\"version\": 1, \"templ").unwrap();
        let err = Store::open(dir.path()).err().expect("a torn snapshot is refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
