//! Repositories over the single-table port. Each one is written once, against `ports::Table`.

pub mod contacts;
pub mod keys;
pub mod users;
