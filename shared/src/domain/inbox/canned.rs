//! Canned replies: a tenant's saved answers, picked by `/shortcut` in the reply box. The text may
//! use `{{contact.name}}` and `{{contact.attributes.<key>}}`, filled in for the contact at hand
//! by [`render`]. Shortcuts are unique per tenant (case-insensitive; 409 `shortcut_taken`).

use serde::Deserialize;
use serde_json::Value;

use crate::domain::contacts::Contact;
use crate::domain::messages::accept::MAX_TEXT_CHARS;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::store::inbox::{CannedReplies, CannedWriteError};

pub use super::model::CannedReply;

pub const ID_PREFIX: &str = "cnr";
pub const MAX_SHORTCUT_CHARS: usize = 32;

/// `POST /canned-replies` and `PATCH /canned-replies/{id}` (absent: unchanged on a PATCH).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"shortcut": "fees", "text": "Hi {{contact.name}}, your fee is due on the 5th."}))]
pub struct CannedInput {
    /// 1 to 32 of `a-z 0-9 _ -` (a leading `/` is dropped); unique per tenant.
    pub shortcut: Option<String>,
    /// 1 to 4096 characters; may use `{{contact.name}}` and `{{contact.attributes.<key>}}`.
    pub text: Option<String>,
}

/// One placeholder of a canned reply's text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Placeholder {
    Name,
    Attribute(String),
}

fn placeholder(inner: &str) -> Option<Placeholder> {
    match inner.trim() {
        "contact.name" => Some(Placeholder::Name),
        other => other
            .strip_prefix("contact.attributes.")
            .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace))
            .map(|k| Placeholder::Attribute(k.to_owned())),
    }
}

/// The text split into literal pieces and placeholders; `Err` names the first unknown one.
fn parse(text: &str) -> Result<Vec<Result<&str, Placeholder>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else { break };
        out.push(Ok(&rest[..start]));
        let inner = &rest[start + 2..start + 2 + len];
        out.push(Err(placeholder(inner).ok_or_else(|| format!("{{{{{inner}}}}}"))?));
        rest = &rest[start + 2 + len + 2..];
    }
    out.push(Ok(rest));
    Ok(out)
}

/// The reply's text for `contact`: `{{contact.name}}` is the contact's name (empty when
/// unknown), `{{contact.attributes.<key>}}` that attribute (empty when missing).
pub fn render(text: &str, contact: &Contact) -> String {
    let Ok(pieces) = parse(text) else { return text.to_owned() };
    pieces
        .into_iter()
        .map(|p| match p {
            Ok(literal) => literal.to_owned(),
            Err(Placeholder::Name) => contact.name.clone().unwrap_or_default(),
            Err(Placeholder::Attribute(k)) => match contact.attributes.get(&k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            },
        })
        .collect()
}

fn shortcut(raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let s = raw.trim().trim_start_matches('/').to_lowercase();
    let ok = !s.is_empty()
        && s.chars().count() <= MAX_SHORTCUT_CHARS
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Some(s)
    } else {
        errors.push(FieldError::new("shortcut", "invalid", "1 to 32 of a-z, 0-9, _ and -"));
        None
    }
}

fn text(raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new("text", "invalid", format!("must be 1 to {MAX_TEXT_CHARS} characters")));
        return None;
    }
    if let Err(bad) = parse(t) {
        errors.push(FieldError::new(
            "text",
            "unknown_placeholder",
            format!("{bad}: use {{{{contact.name}}}} or {{{{contact.attributes.<key>}}}}"),
        ));
        return None;
    }
    Some(t.to_owned())
}

fn write_error(e: CannedWriteError) -> Error {
    match e {
        CannedWriteError::ShortcutTaken => Error::conflict("shortcut_taken", "another canned reply has this shortcut")
            .with_details(vec![FieldError::new("shortcut", "shortcut_taken", "already used by another canned reply")]),
        CannedWriteError::NotFound => Error::not_found("canned reply"),
        CannedWriteError::Stale => Error::conflict("conflict", "the canned reply was changed meanwhile; retry"),
        CannedWriteError::Table(e) => e.into(),
    }
}

pub async fn create(ports: &Ports, tenant_id: &str, input: CannedInput) -> Result<CannedReply, Error> {
    let mut errors = Vec::new();
    let s = match input.shortcut.as_deref() {
        Some(raw) => shortcut(raw, &mut errors),
        None => {
            errors.push(FieldError::new("shortcut", "required", "the reply's shortcut"));
            None
        }
    };
    let t = match input.text.as_deref() {
        Some(raw) => text(raw, &mut errors),
        None => {
            errors.push(FieldError::new("text", "required", "the reply's text"));
            None
        }
    };
    let (Some(shortcut), Some(text)) = (s, t) else { return Err(Error::validation(errors)) };
    let now = ports.clock.now();
    let reply = CannedReply {
        id: ports.ids.new_id(ID_PREFIX),
        tenant_id: tenant_id.to_owned(),
        shortcut,
        text,
        created_at: now,
        updated_at: now,
    };
    CannedReplies::new(&*ports.table).create(&reply).await.map_err(write_error)?;
    Ok(reply)
}

pub async fn get(ports: &Ports, tenant_id: &str, id: &str) -> Result<CannedReply, Error> {
    CannedReplies::new(&*ports.table).get(tenant_id, id).await?.ok_or_else(|| Error::not_found("canned reply"))
}

pub async fn update(ports: &Ports, tenant_id: &str, id: &str, input: CannedInput) -> Result<CannedReply, Error> {
    let previous = get(ports, tenant_id, id).await?;
    let mut errors = Vec::new();
    let mut next = previous.clone();
    if let Some(raw) = input.shortcut.as_deref()
        && let Some(s) = shortcut(raw, &mut errors)
    {
        next.shortcut = s;
    }
    if let Some(raw) = input.text.as_deref()
        && let Some(t) = text(raw, &mut errors)
    {
        next.text = t;
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    if next == previous {
        return Ok(previous);
    }
    next.updated_at = ports.clock.now().max(previous.updated_at + chrono::Duration::milliseconds(1));
    CannedReplies::new(&*ports.table).replace(&previous, &next).await.map_err(write_error)?;
    Ok(next)
}

pub async fn delete(ports: &Ports, tenant_id: &str, id: &str) -> Result<(), Error> {
    let reply = get(ports, tenant_id, id).await?;
    CannedReplies::new(&*ports.table).delete(&reply).await.map_err(write_error)
}

pub async fn list(
    ports: &Ports,
    tenant_id: &str,
    q: Option<&str>,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<CannedReply>, Option<String>), Error> {
    CannedReplies::new(&*ports.table).list(tenant_id, q, limit, cursor).await.map_err(crate::domain::error::list_error)
}

/// A canned reply rendered for one of the tenant's contacts.
pub async fn render_for(ports: &Ports, tenant_id: &str, id: &str, contact_id: &str) -> Result<String, Error> {
    let reply = get(ports, tenant_id, id).await?;
    let contact = crate::store::contacts::Contacts::new(&*ports.table)
        .get(tenant_id, contact_id)
        .await?
        .ok_or_else(|| Error::not_found("contact"))?;
    Ok(render(&reply.text, &contact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn asha() -> Contact {
        let mut c = Contact::new("con_1".into(), "t", chrono::Utc::now());
        c.name = Some("Asha".into());
        c.attributes.insert("city".into(), json!("Pune"));
        c.attributes.insert("due".into(), json!(12500));
        c
    }

    #[test]
    fn renders_name_and_attributes() {
        let text = "Hi {{contact.name}}, {{ contact.attributes.city }} office: {{contact.attributes.due}} due{{contact.attributes.none}}.";
        assert_eq!(render(text, &asha()), "Hi Asha, Pune office: 12500 due.");
        assert_eq!(render("no placeholders {{", &asha()), "no placeholders {{");
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let mut errors = Vec::new();
        assert!(text("Hi {{contact.phone}}", &mut errors).is_none());
        assert_eq!(errors[0].code, "unknown_placeholder");
        let mut errors = Vec::new();
        assert_eq!(shortcut("/Fees", &mut errors).as_deref(), Some("fees"));
        assert!(shortcut("two words", &mut errors).is_none());
    }
}
