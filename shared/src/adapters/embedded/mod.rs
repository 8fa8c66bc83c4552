//! Embedded adapters: SQLite for the table and the queues, AES-256-GCM with a key file for the
//! vault, an outbox folder of `.eml` files for mail. Everything lives under `MIPING_DATA_DIR`.

pub mod file_vault;
pub mod outbox;
pub mod sqlite;
pub mod sqlite_queue;
pub mod sqlite_table;
