//! Validation and normalisation of contact fields, shared by the routes and the import.
//! Each check answers [`FieldError`]s naming the field (`name`, `attributes.city`, `tags[2]`)
//! so a 422 (or an import row's error) says exactly what to fix.

use serde_json::{Map, Value};

use crate::domain::FieldError;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ATTRIBUTES: usize = 100;
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1000;
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 64;
/// Longest `?q=`; a longer search cannot match a field anyway.
pub const MAX_QUERY_CHARS: usize = 200;

use crate::domain::text::has_control;

/// A display name: trimmed; empty means none.
pub fn name(raw: &str) -> Result<Option<String>, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new("name", "too_long", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if has_control(name) {
        return Err(FieldError::new("name", "invalid", "must not contain control characters"));
    }
    Ok(Some(name.to_owned()))
}

fn attribute_key(raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    let field = format!("attributes.{key}");
    if key.is_empty() || key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS || has_control(key) {
        return Err(FieldError::new(
            field,
            "invalid_key",
            format!("attribute names are 1 to {MAX_ATTRIBUTE_KEY_CHARS} printable characters"),
        ));
    }
    Ok(key.to_owned())
}

/// An attribute value: a string, a number or a boolean (what campaign variables can render).
fn attribute_value(key: &str, value: &Value) -> Result<Value, FieldError> {
    let field = || format!("attributes.{key}");
    match value {
        Value::String(s) if s.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS => {
            Err(FieldError::new(field(), "too_long", format!("must be at most {MAX_ATTRIBUTE_VALUE_CHARS} characters")))
        }
        Value::String(s) => Ok(Value::String(s.trim().to_owned())),
        Value::Number(_) | Value::Bool(_) => Ok(value.clone()),
        _ => Err(FieldError::new(field(), "invalid_type", "must be a string, a number or a boolean")),
    }
}

/// Applies `changes` to `attributes`: a value sets the key, `null` removes it (PATCH and
/// import semantics; on create there is nothing to remove, so `null` just means "no value").
pub fn merge_attributes(attributes: &mut Map<String, Value>, changes: &Map<String, Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (raw_key, value) in changes {
        let key = match attribute_key(raw_key) {
            Ok(k) => k,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if value.is_null() {
            attributes.remove(&key);
            continue;
        }
        match attribute_value(&key, value) {
            Ok(v) => {
                attributes.insert(key, v);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() && attributes.len() > MAX_ATTRIBUTES {
        errors.push(FieldError::new(
            "attributes",
            "too_many",
            format!("a contact has at most {MAX_ATTRIBUTES} attributes"),
        ));
    }
    errors
}

/// One tag, normalised: trimmed and lower-cased; letters, digits, spaces and `-_.:/`.
pub fn tag(raw: &str, field: &str) -> Result<String, FieldError> {
    let tag = raw.trim().to_lowercase();
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ':' | '/');
    if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS || !tag.chars().all(allowed) {
        return Err(FieldError::new(
            field,
            "invalid_tag",
            format!("tags are 1 to {MAX_TAG_CHARS} letters, digits, spaces or - _ . : /"),
        ));
    }
    Ok(tag)
}

/// A tag list, normalised and deduplicated (first occurrence kept, order preserved).
pub fn tags<S: AsRef<str>>(raw: &[S]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        match tag(t.as_ref(), &format!("tags[{i}]")) {
            Ok(t) if !out.contains(&t) => out.push(t),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() && out.len() > MAX_TAGS {
        errors.push(FieldError::new("tags", "too_many", format!("a contact has at most {MAX_TAGS} tags")));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Union of two tag lists, `existing` first (import merges tags into an existing contact).
pub fn union_tags(existing: &[String], more: &[String]) -> Vec<String> {
    let mut out = existing.to_vec();
    for t in more {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// A `?q=` search, as matched against [`super::Contact::search_text`]: lower-cased; when it
/// looks like a phone number, its separators are dropped so `98765 43210` finds
/// `+919876543210`. `None` for an empty search.
pub fn search_query(raw: &str) -> Result<Option<String>, FieldError> {
    let q = raw.trim().to_lowercase();
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(FieldError::new("q", "too_long", format!("must be at most {MAX_QUERY_CHARS} characters")));
    }
    let phone_like = q.chars().any(|c| c.is_ascii_digit())
        && q.chars().all(|c| c.is_ascii_digit() || c == '+' || crate::domain::phone::is_separator(c));
    if phone_like {
        let compact: String = q.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        return Ok(Some(compact));
    }
    Ok(Some(q))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        assert_eq!(tags(&[" VIP ", "vip", "b2b", "Gold Tier"]).unwrap(), ["vip", "b2b", "gold tier"]);
        let errs = tags(&["ok", "", "semi;colon"]).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["tags[1]", "tags[2]"]);
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert_eq!(tags(&many).unwrap_err()[0].code, "too_many");
    }

    #[test]
    fn attributes_merge_and_null_removes() {
        let mut attrs = Map::new();
        let changes = json!({"city": " Pune ", "age": 31, "vip": true});
        assert!(merge_attributes(&mut attrs, changes.as_object().unwrap()).is_empty());
        assert_eq!(Value::Object(attrs.clone()), json!({"city": "Pune", "age": 31, "vip": true}));
        let changes = json!({"city": null, "zip": "00123"});
        assert!(merge_attributes(&mut attrs, changes.as_object().unwrap()).is_empty());
        assert_eq!(Value::Object(attrs.clone()), json!({"age": 31, "vip": true, "zip": "00123"}));
        let bad = json!({"nested": {"a": 1}, "list": [1], "": "x"});
        let errs = merge_attributes(&mut attrs, bad.as_object().unwrap());
        let mut fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["attributes.", "attributes.list", "attributes.nested"]);
    }

    #[test]
    fn names_and_searches() {
        assert_eq!(name("  Ada  ").unwrap().as_deref(), Some("Ada"));
        assert_eq!(name("   ").unwrap(), None);
        assert_eq!(name(&"x".repeat(MAX_NAME_CHARS + 1)).unwrap_err().code, "too_long");
        assert_eq!(search_query(" Ada ").unwrap().as_deref(), Some("ada"));
        assert_eq!(search_query("+91 98765-43210").unwrap().as_deref(), Some("+919876543210"));
        assert_eq!(search_query("98765 43210").unwrap().as_deref(), Some("9876543210"));
        assert_eq!(search_query("  ").unwrap(), None);
    }
}
