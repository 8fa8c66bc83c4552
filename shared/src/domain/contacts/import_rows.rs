//! Reading an import file into validated rows, one at a time (synchronous: it runs on a
//! blocking thread and hands rows over in batches, so a 100k-row file is never a 100k-element
//! vector of parsed values).
//!
//! CSV (RFC 4180 via the `csv` crate): a header row naming the columns, case-insensitively
//! `phone` (required), `name`, `tags` (`a;b`); every other column is an attribute named by its
//! header as written. A UTF-8 byte order mark is ignored, fields are trimmed, quoted fields may
//! hold commas and newlines, rows may be short or long (missing cells are empty), blank lines
//! and rows of empty cells are skipped. A cell that is not UTF-8 is read as Windows-1252/Latin-1
//! (what spreadsheet "CSV" exports often are). Attribute cells are strings (a ZIP `00123`
//! stays `00123`); empty cells set nothing.
//!
//! JSON: `{"contacts": [...]}` or a bare array, each element shaped like `POST /contacts`'s body.
//!
//! Row numbers are 1-based positions among the data rows: the CSV header is not a row, nor are
//! skipped blank lines; in JSON, the element's position in the array.

use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::fields;
use crate::domain::phone::{Country, E164};

/// A row that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct RowData {
    pub phone: E164,
    pub name: Option<String>,
    /// Validated attribute changes (`null` removes a key when merging into an existing contact).
    pub attributes: Map<String, Value>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub code: String,
    pub message: String,
}

impl RowError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParsedRow {
    pub row: u64,
    /// The phone as written in the file (for the report).
    pub phone_raw: String,
    pub data: Result<RowData, RowError>,
}

/// The file as a whole cannot be read: nothing is imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the CSV header has no `phone` column")]
    MissingPhoneColumn,
    #[error("the CSV header names the column `{0}` twice")]
    DuplicateColumn(String),
    #[error("the CSV file is empty (it needs a header row)")]
    EmptyCsv,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("the JSON body must be {{\"contacts\": [...]}} or an array of contacts")]
    WrongJsonShape,
    #[error("cannot read the body: {0}")]
    Io(String),
}

/// Validates one row's fields (national phone numbers read as `country`'s, when given); the
/// first problem is the row's error.
pub fn validate(
    country: Option<Country>,
    phone: &str,
    name: Option<&str>,
    attributes: Map<String, Value>,
    tags: &[String],
) -> Result<RowData, RowError> {
    let phone = E164::parse_in(phone, country).map_err(|e| RowError::new(e.code(), format!("phone {e}")))?;
    let name = fields::name(name.unwrap_or(""))
        .map_err(|e| RowError::new(e.code.clone(), format!("{}: {}", e.field, e.message)))?;
    let mut scratch = Map::new();
    if let Some(e) = fields::merge_attributes(&mut scratch, &attributes).into_iter().next() {
        return Err(RowError::new(e.code.clone(), format!("{}: {}", e.field, e.message)));
    }
    let tags = fields::tags(tags).map_err(|errs| {
        errs.into_iter().next().map_or_else(
            || RowError::new("invalid_tag", "invalid tag"),
            |e| RowError::new(e.code.clone(), format!("{}: {}", e.field, e.message)),
        )
    })?;
    // Keep the validated keys (trimmed) but the caller's nulls, for merging.
    let attributes = attributes.into_iter().map(|(k, v)| (k.trim().to_owned(), v)).collect();
    Ok(RowData { phone, name, attributes, tags })
}

// ---- CSV ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Phone,
    Name,
    Tags,
    Attribute,
    Ignored,
}

fn decode(cell: &[u8]) -> String {
    match std::str::from_utf8(cell) {
        Ok(s) => s.to_owned(),
        // Latin-1 maps each byte to the code point of the same value.
        Err(_) => cell.iter().map(|&b| b as char).collect(),
    }
}

/// Reads a CSV file; `sink` gets each row and returns false to stop early.
pub fn read_csv<R: Read>(
    input: R,
    country: Option<Country>,
    mut sink: impl FnMut(ParsedRow) -> bool,
) -> Result<(), ReadError> {
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(input);
    let mut record = csv::ByteRecord::new();
    // The header: the first non-blank record.
    let header: Vec<String> = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Err(ReadError::EmptyCsv),
            Ok(true) if record.iter().all(|c| c.is_empty()) => continue,
            Ok(true) => {
                break record.iter().map(|c| decode(c).trim_start_matches('\u{feff}').trim().to_owned()).collect();
            }
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    };
    let mut columns = Vec::with_capacity(header.len());
    let mut seen = std::collections::HashSet::new();
    for h in &header {
        let lower = h.to_lowercase();
        if !h.is_empty() && !seen.insert(lower.clone()) {
            return Err(ReadError::DuplicateColumn(h.clone()));
        }
        columns.push(match lower.as_str() {
            "" => Column::Ignored,
            "phone" => Column::Phone,
            "name" => Column::Name,
            "tags" => Column::Tags,
            _ => Column::Attribute,
        });
    }
    if !columns.contains(&Column::Phone) {
        return Err(ReadError::MissingPhoneColumn);
    }
    let mut row = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) if record.iter().all(|c| c.is_empty()) => continue,
            Ok(true) => {
                row += 1;
                if !sink(csv_row(country, row, &record, &columns, &header)) {
                    return Ok(());
                }
            }
            // csv's only per-record errors here are I/O (flexible rows, bytes not strings).
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    }
}

fn csv_row(
    country: Option<Country>,
    row: u64,
    record: &csv::ByteRecord,
    columns: &[Column],
    header: &[String],
) -> ParsedRow {
    let mut phone = String::new();
    let mut name = None;
    let mut tags = Vec::new();
    let mut attributes = Map::new();
    for (i, cell) in record.iter().enumerate() {
        if cell.is_empty() {
            continue;
        }
        match columns.get(i).copied().unwrap_or(Column::Ignored) {
            Column::Phone => phone = decode(cell),
            Column::Name => name = Some(decode(cell)),
            Column::Tags => {
                tags = decode(cell).split(';').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
            }
            Column::Attribute => {
                attributes.insert(header[i].clone(), Value::String(decode(cell)));
            }
            Column::Ignored => {}
        }
    }
    let data = validate(country, &phone, name.as_deref(), attributes, &tags);
    ParsedRow { row, phone_raw: phone, data }
}

// ---- JSON --------------------------------------------------------------------------------

/// Checks the whole document is well-formed JSON before anything is imported (so a truncated
/// upload is a 400, not half an import).
pub fn check_json(input: &[u8]) -> Result<(), ReadError> {
    serde_json::from_slice::<IgnoredAny>(input).map(|_| ()).map_err(|e| ReadError::MalformedJson(e.to_string()))
}

/// Reads `{"contacts": [...]}` or `[...]`, one element at a time.
pub fn read_json<R: Read>(
    input: R,
    country: Option<Country>,
    sink: impl FnMut(ParsedRow) -> bool,
) -> Result<(), ReadError> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut state = JsonRows { sink, country, row: 0, stopped: false };
    let found = (&mut de)
        .deserialize_any(Document(&mut state))
        .map_err(|e| if e.is_data() { ReadError::WrongJsonShape } else { ReadError::MalformedJson(e.to_string()) })?;
    if !found {
        return Err(ReadError::WrongJsonShape);
    }
    if !state.stopped {
        de.end().map_err(|e| ReadError::MalformedJson(e.to_string()))?;
    }
    Ok(())
}

struct JsonRows<F> {
    sink: F,
    country: Option<Country>,
    row: u64,
    stopped: bool,
}

impl<F: FnMut(ParsedRow) -> bool> JsonRows<F> {
    fn push(&mut self, element: Value) {
        self.row += 1;
        if self.stopped {
            return;
        }
        let parsed = json_row(self.country, self.row, element);
        if !(self.sink)(parsed) {
            self.stopped = true;
        }
    }
}

/// The top level: an array of contacts, or an object whose `contacts` is one. Yields whether
/// a contacts array was found.
struct Document<'s, F>(&'s mut JsonRows<F>);

impl<'de, F: FnMut(ParsedRow) -> bool> Visitor<'de> for Document<'_, F> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with a contacts array, or an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Rows(self.0).visit_seq(seq).map(|()| true)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "contacts" && !found {
                map.next_value_seed(RowsSeed(&mut *self.0))?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

impl<'de, F: FnMut(ParsedRow) -> bool> DeserializeSeed<'de> for Document<'_, F> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

struct RowsSeed<'s, F>(&'s mut JsonRows<F>);

impl<'de, F: FnMut(ParsedRow) -> bool> DeserializeSeed<'de> for RowsSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(Rows(self.0))
    }
}

struct Rows<'s, F>(&'s mut JsonRows<F>);

impl<'de, F: FnMut(ParsedRow) -> bool> Visitor<'de> for Rows<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of contacts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // One element in memory at a time.
        while let Some(element) = seq.next_element::<Value>()? {
            self.0.push(element);
        }
        Ok(())
    }
}

/// One JSON element: wrong types make the row invalid, never the import.
fn json_row(country: Option<Country>, row: u64, element: Value) -> ParsedRow {
    let Value::Object(mut obj) = element else {
        return ParsedRow {
            row,
            phone_raw: String::new(),
            data: Err(RowError::new("invalid_row", "each contact must be an object")),
        };
    };
    let phone_raw = match obj.remove("phone") {
        Some(Value::String(s)) => s,
        // Spreadsheet-to-JSON tools turn 919876543210 into a number.
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => {
            return ParsedRow {
                row,
                phone_raw: other.to_string(),
                data: Err(RowError::new("invalid_phone", "phone must be a string")),
            };
        }
    };
    let bad = |code: &str, message: &str| ParsedRow {
        row,
        phone_raw: phone_raw.clone(),
        data: Err(RowError::new(code, message)),
    };
    let name = match obj.remove("name") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(_) => return bad("invalid_type", "name must be a string"),
    };
    let attributes = match obj.remove("attributes") {
        Some(Value::Object(m)) => m,
        Some(Value::Null) | None => Map::new(),
        Some(_) => return bad("invalid_type", "attributes must be an object"),
    };
    let tags = match obj.remove("tags") {
        Some(Value::Array(list)) => {
            let strings: Option<Vec<String>> = list.into_iter().map(|t| t.as_str().map(str::to_owned)).collect();
            match strings {
                Some(s) => s,
                None => return bad("invalid_type", "tags must be strings"),
            }
        }
        Some(Value::Null) | None => Vec::new(),
        Some(_) => return bad("invalid_type", "tags must be an array of strings"),
    };
    let data = validate(country, &phone_raw, name.as_deref(), attributes, &tags);
    ParsedRow { row, phone_raw, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_rows(text: &[u8]) -> Result<Vec<ParsedRow>, ReadError> {
        let mut rows = Vec::new();
        read_csv(text, None, |r| {
            rows.push(r);
            true
        })?;
        Ok(rows)
    }

    #[test]
    fn csv_handles_bom_quotes_blank_lines_and_latin1() {
        let text = b"\xEF\xBB\xBFPhone, Name ,City,tags\r\n\
            +91 98765-43210,\"Ravi, Kumar\",Pune,vip; b2b\r\n\
            \r\n\
            ,,,\r\n\
            (020) 7946 0958,Caf\xE9,,\r\n\
            not a phone,X\r\n";
        let rows = csv_rows(text).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].data.as_ref().unwrap();
        assert_eq!(first.phone.as_str(), "+919876543210");
        assert_eq!(first.name.as_deref(), Some("Ravi, Kumar"));
        assert_eq!(first.attributes.get("City"), Some(&Value::String("Pune".into())));
        assert_eq!(first.tags, ["vip", "b2b"]);
        // A national number with its trunk 0 has no country code: not guessed at.
        assert_eq!(rows[1].row, 2);
        assert_eq!(rows[1].data.as_ref().unwrap_err().code, "invalid_phone");
        assert_eq!(rows[2].row, 3);
        assert_eq!(rows[2].data.as_ref().unwrap_err().code, "not_a_phone_number");
    }

    #[test]
    fn csv_header_errors_stop_everything() {
        assert_eq!(csv_rows(b"name,city\nA,B\n"), Err(ReadError::MissingPhoneColumn));
        assert_eq!(csv_rows(b"phone,Name,name\n"), Err(ReadError::DuplicateColumn("name".into())));
        assert_eq!(csv_rows(b"\n\n"), Err(ReadError::EmptyCsv));
    }

    #[test]
    fn json_rows_one_at_a_time_with_row_errors() {
        let body = br#"{"note": "x", "contacts": [
            {"phone": "+44 7911 123456", "name": "Ann", "attributes": {"age": 3}, "tags": ["A"]},
            {"phone": 919876543210},
            {"phone": "+919876543210", "tags": "vip"},
            7
        ]}"#;
        check_json(body).unwrap();
        let mut rows = Vec::new();
        read_json(&body[..], None, |r| {
            rows.push(r);
            true
        })
        .unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].data.as_ref().unwrap().tags, ["a"]);
        assert_eq!(rows[1].data.as_ref().unwrap().phone.as_str(), "+919876543210");
        assert_eq!(rows[2].data.as_ref().unwrap_err().code, "invalid_type");
        assert_eq!(rows[3].row, 4);
        assert!(read_json(&b"[]"[..], None, |_| true).is_ok());
        assert_eq!(read_json(&b"{\"people\": []}"[..], None, |_| true), Err(ReadError::WrongJsonShape));
        assert_eq!(read_json(&b"{\"contacts\": 5}"[..], None, |_| true), Err(ReadError::WrongJsonShape));
        assert!(matches!(check_json(b"{\"contacts\": [{\"phone\": \"1\"}"), Err(ReadError::MalformedJson(_))));
    }
}
