//! Embedded adapters: SQLite for the table and the queues, AES-256-GCM with a key file for the
//! vault, an outbox folder of `.eml` files for mail, files with signed URLs for media. Everything
//! lives under `MIPING_DATA_DIR`.

pub mod cached_table;
pub mod checkpointer;
pub mod coalesced_wal;
pub mod file_storage;
pub mod file_vault;
pub mod media_urls;
pub mod memory_limiter;
pub mod outbox;
pub mod sqlite;
pub mod sqlite_queue;
pub mod sqlite_table;
