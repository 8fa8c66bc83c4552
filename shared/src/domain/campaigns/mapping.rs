//! Campaign variables: each entry of `variables` is either a mapping from the recipient contact
//! (`{{contact.name}}`, `{{contact.phone}}`, `{{contact.attributes.<key>}}`) or a literal.
//!
//! A string that is wholly `{{ ... }}` with an inside starting `contact.` must be one of the
//! mappings above (a typo like `{{contact.nmae}}` is a 422, not a literal sent to thousands of
//! people); anything else, including other `{{...}}` text and non-string values (a currency
//! object), is a literal.

use serde_json::Value;

use crate::domain::FieldError;
use crate::domain::contacts::Contact;
use crate::domain::templates::schema::{ParamKind, ParamSchema, check_variables};

#[derive(Clone, Debug, PartialEq)]
pub enum Mapping {
    ContactName,
    ContactPhone,
    Attribute(String),
    Literal(Value),
}

/// Longest attribute key a mapping may name (attribute keys are short identifiers).
const MAX_KEY_CHARS: usize = 64;

impl Mapping {
    pub fn parse(v: &Value) -> Result<Self, String> {
        let Some(s) = v.as_str() else { return Ok(Mapping::Literal(v.clone())) };
        let t = s.trim();
        let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) else {
            return Ok(Mapping::Literal(v.clone()));
        };
        let inner = inner.trim();
        let Some(path) = inner.strip_prefix("contact.") else { return Ok(Mapping::Literal(v.clone())) };
        match path {
            "name" => Ok(Mapping::ContactName),
            "phone" => Ok(Mapping::ContactPhone),
            _ => match path.strip_prefix("attributes.") {
                Some(key)
                    if !key.is_empty()
                        && key.chars().count() <= MAX_KEY_CHARS
                        && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
                {
                    Ok(Mapping::Attribute(key.to_owned()))
                }
                _ => Err(format!(
                    "{t} is not a contact field: use {{{{contact.name}}}}, {{{{contact.phone}}}} or {{{{contact.attributes.<key>}}}}"
                )),
            },
        }
    }

    /// The value for `contact`; `None` when the contact lacks it.
    pub fn render(&self, contact: &Contact) -> Option<Value> {
        let text = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned()));
        match self {
            Mapping::Literal(v) => Some(v.clone()),
            Mapping::ContactName => contact.name.as_deref().and_then(text),
            Mapping::ContactPhone => contact.phone.as_deref().and_then(text),
            Mapping::Attribute(key) => match contact.attributes.get(key)? {
                Value::String(s) => text(s),
                Value::Number(n) => Some(Value::String(n.to_string())),
                Value::Bool(b) => Some(Value::String(b.to_string())),
                _ => None,
            },
        }
    }
}

/// Parses `variables` and checks them against the template's schema (count, and each position's
/// type: a mapped position must take text, or a link for a media header). Field errors name
/// `variables` / `variables[i]`.
pub fn parse_all(schema: &ParamSchema, variables: &[Value]) -> Result<Vec<Mapping>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut mappings = Vec::with_capacity(variables.len());
    for (i, v) in variables.iter().enumerate() {
        match Mapping::parse(v) {
            Ok(m) => mappings.push(m),
            Err(msg) => {
                errors.push(FieldError::new(format!("variables[{i}]"), "invalid_mapping", msg));
                mappings.push(Mapping::Literal(Value::Null));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // What a contact's value would look like in each position, to reuse the template's checks.
    let samples: Vec<Value> = mappings
        .iter()
        .enumerate()
        .map(|(i, m)| match m {
            Mapping::Literal(v) => v.clone(),
            _ => match schema.variables.get(i).map(|v| v.kind) {
                Some(ParamKind::Image | ParamKind::Video | ParamKind::Document) => {
                    Value::String("https://example.com/media".into())
                }
                Some(ParamKind::Location) => Value::Null,
                _ => Value::String("text".into()),
            },
        })
        .collect();
    check_variables(schema, &samples)?;
    Ok(mappings)
}

/// The variables for one contact, checked again against the schema (a contact's value may be
/// unusable, e.g. an attribute that is not a link where the header needs one). `None`: the
/// contact cannot get this campaign's message.
pub fn render_all(schema: &ParamSchema, mappings: &[Mapping], contact: &Contact) -> Option<Vec<Value>> {
    let values = mappings.iter().map(|m| m.render(contact)).collect::<Option<Vec<_>>>()?;
    check_variables(schema, &values).ok()?;
    Some(values)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    #[test]
    fn mappings_and_literals() {
        assert_eq!(Mapping::parse(&json!("{{contact.name}}")), Ok(Mapping::ContactName));
        assert_eq!(Mapping::parse(&json!(" {{ contact.phone }} ")), Ok(Mapping::ContactPhone));
        assert_eq!(Mapping::parse(&json!("{{contact.attributes.city}}")), Ok(Mapping::Attribute("city".into())));
        assert_eq!(Mapping::parse(&json!("Hello")), Ok(Mapping::Literal(json!("Hello"))));
        assert_eq!(Mapping::parse(&json!("{{1}}")), Ok(Mapping::Literal(json!("{{1}}"))));
        assert_eq!(Mapping::parse(&json!(42)), Ok(Mapping::Literal(json!(42))));
        assert!(Mapping::parse(&json!("{{contact.email}}")).is_err());
        assert!(Mapping::parse(&json!("{{contact.attributes.}}")).is_err());
        assert!(Mapping::parse(&json!("{{contact.attributes.a b}}")).is_err());
    }

    #[test]
    fn rendering_from_a_contact() {
        let mut c = Contact::new("con_1".into(), "ten_1", Utc::now());
        c.name = Some("Ana".into());
        c.attributes.insert("city".into(), json!("Pune"));
        c.attributes.insert("visits".into(), json!(3));
        c.attributes.insert("blank".into(), json!("  "));
        assert_eq!(Mapping::ContactName.render(&c), Some(json!("Ana")));
        assert_eq!(Mapping::Attribute("city".into()).render(&c), Some(json!("Pune")));
        assert_eq!(Mapping::Attribute("visits".into()).render(&c), Some(json!("3")));
        assert_eq!(Mapping::Attribute("blank".into()).render(&c), None);
        assert_eq!(Mapping::Attribute("missing".into()).render(&c), None);
        assert_eq!(Mapping::ContactPhone.render(&c), None);
    }
}
