//! What both table adapters share so they behave identically: the page cursor format, and the
//! request validation DynamoDB performs server-side (the embedded adapter must reject the same
//! requests, and the DynamoDB adapter checks item size client-side with the same measure).
//!
//! The cursor is base64url (no padding) of a JSON object holding the key attributes of the last
//! returned item: `PK`, `SK` and, for an index query, that index's `GSInPK`/`GSInSK`. It is
//! exactly DynamoDB's `LastEvaluatedKey`, so the DynamoDB adapter passes it back as
//! `ExclusiveStartKey`, and the embedded adapter resumes after the same position.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::ports::table::{
    Cond, Index, Item, MAX_ITEM_BYTES, MAX_TRANSACTION_OPS, PK, Query, SK, TableError, TxOp, Update,
};

/// The position a page ended at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorKey {
    pub pk: String,
    pub sk: String,
    /// `(GSInPK, GSInSK)` of the last item, for an index query.
    pub index_key: Option<(String, String)>,
}

impl CursorKey {
    /// The key of `item` as a cursor for a query on `index` (`None`: the table).
    pub fn of(item: &Item, index: Option<Index>) -> Result<Self, TableError> {
        let attr = |name: &str| {
            item.get_str(name)
                .map(str::to_owned)
                .ok_or_else(|| TableError::Corrupt(format!("returned item lacks key attribute {name}")))
        };
        let index_key = match index {
            Some(ix) => Some((attr(ix.pk_attr())?, attr(ix.sk_attr())?)),
            None => None,
        };
        Ok(Self { pk: attr(PK)?, sk: attr(SK)?, index_key })
    }

    /// The key attributes as `(name, value)` pairs, in DynamoDB's naming.
    pub fn attributes(&self, index: Option<Index>) -> Vec<(&'static str, &str)> {
        let mut attrs = vec![(PK, self.pk.as_str()), (SK, self.sk.as_str())];
        if let (Some(ix), Some((ipk, isk))) = (index, &self.index_key) {
            attrs.push((ix.pk_attr(), ipk.as_str()));
            attrs.push((ix.sk_attr(), isk.as_str()));
        }
        attrs
    }

    pub fn encode(&self, index: Option<Index>) -> String {
        let map: Map<String, Value> =
            self.attributes(index).into_iter().map(|(k, v)| (k.to_owned(), Value::String(v.to_owned()))).collect();
        URL_SAFE_NO_PAD.encode(Value::Object(map).to_string())
    }

    /// Decodes a cursor for `query`. A cursor that is malformed, or that belongs to another
    /// partition or index, is a caller bug: [`TableError::Invalid`] (as DynamoDB answers for a bad
    /// `ExclusiveStartKey`).
    pub fn decode(cursor: &str, query: &Query) -> Result<Self, TableError> {
        let invalid = |why: &str| TableError::Invalid(format!("malformed cursor: {why}"));
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid("not base64url"))?;
        let map: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| invalid("not a JSON object"))?;
        let expected = 2 + if query.index.is_some() { 2 } else { 0 };
        if map.len() != expected {
            return Err(invalid("wrong key attributes"));
        }
        let attr = |name: &str| {
            map.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| invalid("wrong key attributes"))
        };
        let key = Self {
            pk: attr(PK)?,
            sk: attr(SK)?,
            index_key: match query.index {
                Some(ix) => Some((attr(ix.pk_attr())?, attr(ix.sk_attr())?)),
                None => None,
            },
        };
        let partition = key.index_key.as_ref().map_or(&key.pk, |(ipk, _)| ipk);
        if *partition != query.pk {
            return Err(invalid("cursor of another partition"));
        }
        Ok(key)
    }
}

/// Names of attributes that can never be written by an update or used in a query filter.
fn table_key_attrs() -> [&'static str; 2] {
    [PK, SK]
}

/// The JSON length of the item, the size measure both adapters use for [`MAX_ITEM_BYTES`]
/// (counted as it is written out, without building the text).
pub fn check_item_size(item: &Item) -> Result<(), TableError> {
    let mut len = ByteCount(0);
    serde_json::to_writer(&mut len, &item.0).map_err(|e| TableError::Invalid(e.to_string()))?;
    check_size(len.0)
}

/// [`check_item_size`] for an item's JSON already written out: `len` is its length in bytes.
pub fn check_size(len: usize) -> Result<(), TableError> {
    if len > MAX_ITEM_BYTES { Err(TableError::ItemTooLarge) } else { Ok(()) }
}

/// A writer that only counts the bytes written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An item to put: a non-empty string key, index key attributes (when present) non-empty
/// strings, at most [`MAX_ITEM_BYTES`]. DynamoDB rejects the first two server-side.
pub fn validate_item(item: &Item) -> Result<(), TableError> {
    validate_item_attrs(item)?;
    check_item_size(item)
}

/// [`validate_item`] but the size: for an adapter that writes the item's JSON out anyway and
/// checks its length with [`check_size`].
pub fn validate_item_attrs(item: &Item) -> Result<(), TableError> {
    for name in table_key_attrs() {
        match item.get(name) {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err(TableError::Invalid(format!("{name} must be a non-empty string"))),
        }
    }
    for ix in Index::ALL {
        for name in [ix.pk_attr(), ix.sk_attr()] {
            match item.get(name) {
                None => {}
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(_) => return Err(TableError::Invalid(format!("{name} must be a non-empty string"))),
            }
        }
    }
    Ok(())
}

/// Key values must be non-empty (DynamoDB rejects an empty key string).
pub fn validate_key(key: &crate::ports::table::Key) -> Result<(), TableError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(TableError::Invalid("key values must be non-empty".into()));
    }
    Ok(())
}

/// An update touches each attribute once and never the table key (DynamoDB: "Two document paths
/// overlap" / "Cannot update attribute PK").
pub fn validate_update(update: &Update) -> Result<(), TableError> {
    let names = update
        .set
        .iter()
        .map(|(n, _)| n)
        .chain(update.set_if_absent.iter().map(|(n, _)| n))
        .chain(update.add.iter().map(|(n, _)| n))
        .chain(update.append.iter().map(|(n, _)| n))
        .chain(update.remove.iter());
    let mut seen = HashSet::new();
    for name in names {
        if name.is_empty() {
            return Err(TableError::Invalid("empty attribute name in update".into()));
        }
        if table_key_attrs().contains(&name.as_str()) {
            return Err(TableError::Invalid(format!("cannot update key attribute {name}")));
        }
        if !seen.insert(name.as_str()) {
            return Err(TableError::Invalid(format!("attribute {name} appears twice in one update")));
        }
    }
    Ok(())
}

/// Conditions the port can express but DynamoDB cannot evaluate are rejected by both adapters:
/// an empty `And`/`Or`, an ordering comparison (`<`, `<=`, `>`, `>=`) against anything but a
/// number or a string, a `contains` of an empty string, null, list or map.
pub fn validate_cond(cond: &Cond) -> Result<(), TableError> {
    match cond {
        Cond::Exists | Cond::NotExists => Ok(()),
        Cond::AttrExists(n) | Cond::AttrNotExists(n) | Cond::Eq(n, _) | Cond::Ne(n, _) => non_empty_name(n),
        Cond::Lt(n, v) | Cond::Le(n, v) | Cond::Gt(n, v) | Cond::Ge(n, v) => {
            non_empty_name(n)?;
            if v.is_number() || v.is_string() {
                Ok(())
            } else {
                Err(TableError::Invalid(format!("ordering comparison on {n} needs a number or a string")))
            }
        }
        Cond::Contains(n, v) => {
            non_empty_name(n)?;
            match v {
                Value::String(s) if !s.is_empty() => Ok(()),
                Value::Number(_) | Value::Bool(_) => Ok(()),
                _ => {
                    Err(TableError::Invalid(format!("contains on {n} needs a non-empty string, a number or a boolean")))
                }
            }
        }
        Cond::And(cs) | Cond::Or(cs) => {
            if cs.is_empty() {
                return Err(TableError::Invalid("empty And/Or condition".into()));
            }
            cs.iter().try_for_each(validate_cond)
        }
        Cond::Not(c) => validate_cond(c),
    }
}

fn non_empty_name(name: &str) -> Result<(), TableError> {
    if name.is_empty() { Err(TableError::Invalid("empty attribute name in condition".into())) } else { Ok(()) }
}

/// Every attribute name a condition reads (`Exists`/`NotExists` read `PK`).
fn cond_names<'a>(cond: &'a Cond, out: &mut Vec<&'a str>) {
    match cond {
        Cond::Exists | Cond::NotExists => out.push(PK),
        Cond::AttrExists(n)
        | Cond::AttrNotExists(n)
        | Cond::Eq(n, _)
        | Cond::Ne(n, _)
        | Cond::Lt(n, _)
        | Cond::Le(n, _)
        | Cond::Gt(n, _)
        | Cond::Ge(n, _)
        | Cond::Contains(n, _) => out.push(n),
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| cond_names(c, out)),
        Cond::Not(c) => cond_names(c, out),
    }
}

/// A query: a non-empty partition value, a valid filter that does not read the queried key
/// attributes (DynamoDB: "Filter Expression can only contain non-primary key attributes").
pub fn validate_query(query: &Query) -> Result<(), TableError> {
    if query.pk.is_empty() {
        return Err(TableError::Invalid("query partition value must be non-empty".into()));
    }
    if query.limit == 0 {
        return Err(TableError::Invalid("query limit must be at least 1".into()));
    }
    if let Some(filter) = &query.filter {
        validate_cond(filter)?;
        let (kp, ks) = match query.index {
            Some(ix) => (ix.pk_attr(), ix.sk_attr()),
            None => (PK, SK),
        };
        let mut names = Vec::new();
        cond_names(filter, &mut names);
        if let Some(n) = names.iter().find(|n| **n == kp || **n == ks) {
            return Err(TableError::Invalid(format!("a query filter cannot read the key attribute {n}")));
        }
    }
    Ok(())
}

/// A transaction: 1 to [`MAX_TRANSACTION_OPS`] operations, each on a different item, each valid.
pub fn validate_transaction(ops: &[TxOp]) -> Result<(), TableError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(TableError::Invalid(format!(
            "a transaction has 1 to {MAX_TRANSACTION_OPS} operations, got {}",
            ops.len()
        )));
    }
    let mut keys = HashSet::new();
    for op in ops {
        let key = op.key().ok_or_else(|| TableError::Invalid("transaction put without a key".into()))?;
        validate_key(&key)?;
        if !keys.insert(key) {
            return Err(TableError::Invalid("a transaction touches an item twice".into()));
        }
        match op {
            TxOp::Put { item, cond } => {
                validate_item(item)?;
                cond.as_ref().map_or(Ok(()), validate_cond)?;
            }
            TxOp::Update { update, cond, .. } => {
                validate_update(update)?;
                cond.as_ref().map_or(Ok(()), validate_cond)?;
            }
            TxOp::Delete { cond, .. } => cond.as_ref().map_or(Ok(()), validate_cond)?,
            TxOp::Check { cond, .. } => validate_cond(cond)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let q = Query::index(Index::Gsi2, "g");
        let item = Item::new(crate::ports::table::Key::new("p", "s")).with_index(Index::Gsi2, "g", "k");
        let key = CursorKey::of(&item, Some(Index::Gsi2)).unwrap();
        let enc = key.encode(Some(Index::Gsi2));
        assert_eq!(CursorKey::decode(&enc, &q).unwrap(), key);
        assert!(matches!(CursorKey::decode("!!", &q), Err(TableError::Invalid(_))));
        assert!(matches!(CursorKey::decode(&enc, &Query::index(Index::Gsi2, "other")), Err(TableError::Invalid(_))));
        assert!(matches!(CursorKey::decode(&enc, &Query::table("p")), Err(TableError::Invalid(_))));
    }

    #[test]
    fn update_rejects_overlaps_and_keys() {
        assert!(validate_update(&Update::new().set("a", 1).add("a", 1)).is_err());
        assert!(validate_update(&Update::new().set(PK, "x")).is_err());
        assert!(validate_update(&Update::new().set("a", 1).add("b", 1)).is_ok());
    }
}
