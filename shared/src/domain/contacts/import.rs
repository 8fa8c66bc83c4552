//! Bulk import: `POST /contacts/import` with a CSV or JSON file (see [`super::import_rows`]
//! for the formats and row numbering).
//!
//! The body is read on a blocking thread that parses and validates rows (phone numbers are the
//! CPU-heavy part) and hands them over in batches through a bounded channel, while this side
//! writes: new contacts in transactions of as many as fit (`Contacts::create_batch`), and rows
//! whose phone already has a contact merged into it (name replaced when given, attributes
//! merged, tags added). So at most a few batches of parsed rows exist at any time, and a bad
//! row only ever lands in the report.
//!
//! Outcomes per row: `imported` (a new contact), `updated` (merged into an existing one),
//! `skipped_duplicates` (the same phone earlier in this file, however it was written: the first
//! one wins), or `invalid` with an error code. With a plan `contact_limit`, new contacts past
//! the limit are invalid with `contact_limit_reached` (rows that update existing contacts still
//! apply); the limit is a condition on the exact counter, so nothing is created past it even
//! with concurrent imports.

use std::collections::HashSet;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Map;
use tokio::sync::mpsc;

use super::import_rows::{self, ParsedRow, ReadError, RowData, RowError};
use super::service::ID_PREFIX;
use super::{Contact, fields};
use crate::domain::limits;
use crate::domain::{Error, FieldError};
use crate::ports::table::TableError;
use crate::ports::{IdGen, Ports, Table};
use crate::store::contacts::{BatchResult, Contacts, ReplaceOutcome};

/// Rows per hand-over from the reader thread.
pub const ROWS_PER_BATCH: usize = 500;
/// The report lists at most this many invalid rows (`invalid_count` has the total), so a file
/// of garbage cannot produce a response larger than a Lambda may return.
pub const MAX_LISTED_INVALID: usize = 1000;
/// Merges into existing contacts run this many at a time.
const UPDATE_CONCURRENCY: usize = 8;
const MAX_MERGE_ATTEMPTS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub imported: u64,
    pub updated: u64,
    pub skipped_duplicates: u64,
    /// The first [`MAX_LISTED_INVALID`] invalid rows, in row order.
    pub invalid: Vec<InvalidRow>,
    pub invalid_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InvalidRow {
    pub row: u64,
    /// As written in the file.
    pub phone: String,
    /// Stable code: `invalid_phone`, `not_a_phone_number`, `required`, `invalid_tag`,
    /// `contact_limit_reached`, ...
    pub error: String,
    pub message: String,
}

/// Writes parsed rows for one tenant; feed it batches in file order, then take the report.
pub struct Importer<'a> {
    table: &'a dyn Table,
    ids: &'a dyn IdGen,
    now: DateTime<Utc>,
    tenant_id: String,
    limit: Option<u64>,
    /// E.164 numbers seen in this file (valid rows only).
    seen: HashSet<String>,
    report: ImportReport,
}

enum MergeError {
    Row(RowError),
    Table(TableError),
}

impl<'a> Importer<'a> {
    pub fn new(
        table: &'a dyn Table,
        ids: &'a dyn IdGen,
        now: DateTime<Utc>,
        tenant_id: &str,
        limit: Option<u64>,
    ) -> Self {
        Self {
            table,
            ids,
            now,
            tenant_id: tenant_id.to_owned(),
            limit,
            seen: HashSet::new(),
            report: ImportReport::default(),
        }
    }

    pub fn finish(self) -> ImportReport {
        self.report
    }

    pub async fn process(&mut self, rows: Vec<ParsedRow>) -> Result<(), TableError> {
        let mut invalid = Vec::new();
        let mut fresh: Vec<(u64, String, RowData)> = Vec::new();
        let mut contacts = Vec::new();
        for r in rows {
            match r.data {
                Err(e) => {
                    invalid.push(InvalidRow { row: r.row, phone: r.phone_raw, error: e.code, message: e.message })
                }
                Ok(data) if !self.seen.insert(data.phone.as_str().to_owned()) => self.report.skipped_duplicates += 1,
                Ok(data) => {
                    contacts.push(self.new_contact(&data));
                    fresh.push((r.row, r.phone_raw, data));
                }
            }
        }
        let results = Contacts::new(self.table).create_batch(&self.tenant_id, &contacts, self.limit).await?;
        let mut existing = Vec::new();
        for ((row, phone, data), result) in fresh.into_iter().zip(results) {
            match result {
                BatchResult::Created => self.report.imported += 1,
                BatchResult::OverLimit => invalid.push(InvalidRow {
                    row,
                    phone,
                    error: "contact_limit_reached".into(),
                    message: match self.limit {
                        Some(l) => format!("your plan allows {l} contacts"),
                        None => "your plan's contact limit is reached".into(),
                    },
                }),
                BatchResult::Exists(id) => existing.push((row, phone, data, id)),
            }
        }
        let (table, tenant_id, now) = (self.table, self.tenant_id.as_str(), self.now);
        let merges: Vec<_> =
            futures_util::stream::iter(existing.into_iter().map(|(row, phone, data, id)| async move {
                let outcome = merge_into(table, tenant_id, &id, &data, now).await;
                (row, phone, outcome)
            }))
            .buffer_unordered(UPDATE_CONCURRENCY)
            .collect()
            .await;
        for (row, phone, outcome) in merges {
            match outcome {
                Ok(()) => self.report.updated += 1,
                Err(MergeError::Row(e)) => invalid.push(InvalidRow { row, phone, error: e.code, message: e.message }),
                Err(MergeError::Table(e)) => return Err(e),
            }
        }
        invalid.sort_by_key(|i| i.row);
        self.report.invalid_count += invalid.len() as u64;
        let room = MAX_LISTED_INVALID.saturating_sub(self.report.invalid.len());
        self.report.invalid.extend(invalid.into_iter().take(room));
        Ok(())
    }

    fn new_contact(&self, data: &RowData) -> Contact {
        let mut c = Contact::new(self.ids.new_id(ID_PREFIX), &self.tenant_id, self.now);
        c.phone = Some(data.phone.as_str().to_owned());
        c.name.clone_from(&data.name);
        // Validated already; on a new contact a `null` just sets nothing.
        fields::merge_attributes(&mut c.attributes, &data.attributes);
        c.tags.clone_from(&data.tags);
        c
    }
}

/// Merges a row into the existing contact `id` (optimistic, retried when it changes meanwhile).
async fn merge_into(
    table: &dyn Table,
    tenant_id: &str,
    id: &str,
    data: &RowData,
    now: DateTime<Utc>,
) -> Result<(), MergeError> {
    let contacts = Contacts::new(table);
    for _ in 0..MAX_MERGE_ATTEMPTS {
        let Some(current) = contacts.get(tenant_id, id).await.map_err(MergeError::Table)? else {
            return Err(MergeError::Row(RowError::new(
                "conflict",
                "the existing contact was deleted during the import",
            )));
        };
        let mut next = current.clone();
        if data.name.is_some() {
            next.name.clone_from(&data.name);
        }
        let mut attributes: Map<_, _> = next.attributes.clone();
        if let Some(e) = fields::merge_attributes(&mut attributes, &data.attributes).into_iter().next() {
            return Err(MergeError::Row(RowError::new(e.code, format!("{}: {}", e.field, e.message))));
        }
        next.attributes = attributes;
        next.tags = fields::union_tags(&current.tags, &data.tags);
        if next.tags.len() > fields::MAX_TAGS {
            return Err(MergeError::Row(RowError::new(
                "too_many",
                format!("tags: a contact has at most {} tags", fields::MAX_TAGS),
            )));
        }
        if next == current {
            return Ok(());
        }
        next.updated_at = now;
        match contacts.replace(&current, &next).await.map_err(MergeError::Table)? {
            ReplaceOutcome::Done => return Ok(()),
            ReplaceOutcome::Stale | ReplaceOutcome::IdentityTaken(_) => continue,
        }
    }
    Err(MergeError::Row(RowError::new("conflict", "the existing contact kept changing during the import; retry")))
}

/// Collects rows into batches for the channel; stops the reader when the writer is gone.
struct Batcher {
    tx: mpsc::Sender<Result<Vec<ParsedRow>, ReadError>>,
    batch: Vec<ParsedRow>,
}

impl Batcher {
    fn push(&mut self, row: ParsedRow) -> bool {
        self.batch.push(row);
        self.batch.len() < ROWS_PER_BATCH || self.flush()
    }
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.tx.blocking_send(Ok(std::mem::replace(&mut self.batch, Vec::with_capacity(ROWS_PER_BATCH)))).is_ok()
    }
}

fn read_error(e: ReadError) -> Error {
    let field = |f: &str, code: &str| Error::validation(vec![FieldError::new(f, code, e.to_string())]);
    match &e {
        ReadError::MissingPhoneColumn => field("phone", "missing_column"),
        ReadError::DuplicateColumn(c) => field(c, "duplicate_column"),
        ReadError::EmptyCsv => field("file", "empty"),
        ReadError::WrongJsonShape => field("contacts", "required"),
        ReadError::MalformedJson(_) => Error::malformed("malformed_json", e.to_string()),
        ReadError::Io(_) => Error::malformed("invalid_body", e.to_string()),
    }
}

/// Imports `body` for the tenant (see the module docs).
pub async fn import(ports: &Ports, tenant_id: &str, format: Format, body: Bytes) -> Result<ImportReport, Error> {
    let limit = limits::contact_limit(&*ports.table, tenant_id).await?;
    let country = crate::domain::tenants::settings::default_country(ports, tenant_id).await?;
    let (tx, mut rx) = mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batcher = Batcher { tx: tx.clone(), batch: Vec::with_capacity(ROWS_PER_BATCH) };
        let read = match format {
            Format::Csv => import_rows::read_csv(&body[..], country, |r| batcher.push(r)),
            Format::Json => import_rows::check_json(&body)
                .and_then(|()| import_rows::read_json(&body[..], country, |r| batcher.push(r))),
        };
        match read {
            Ok(()) => {
                batcher.flush();
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    let mut importer = Importer::new(&*ports.table, &*ports.ids, ports.clock.now(), tenant_id, limit);
    let mut rows_seen = false;
    while let Some(message) = rx.recv().await {
        match message {
            Ok(rows) => {
                rows_seen = true;
                importer.process(rows).await?;
            }
            // Header and document errors come before any row: nothing was written.
            Err(e) if !rows_seen => return Err(read_error(e)),
            Err(e) => {
                tracing::warn!(error = %e, "import stopped part-way");
                return Err(read_error(e));
            }
        }
    }
    reader.await.map_err(Error::internal)?;
    Ok(importer.finish())
}
