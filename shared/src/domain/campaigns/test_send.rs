//! `POST /campaigns/test-send`: the message a campaign would send, to one number, before the
//! campaign exists (the console's wizard: "send me a test"). The variables are the campaign's
//! (`{{contact.*}}` mappings and literals), filled from the contact given by `contact_id` (the
//! console passes the first recipient), then sent as a one-off template message through
//! `POST /messages`'s use case: every check of a message applies (approved template, variables
//! that fit, an opted-out recipient refused, quota and credits), it is billed as one message and
//! shows in `GET /messages` — never in a campaign's counts.

use serde::Deserialize;
use serde_json::Value;

use super::create::TemplateInput;
use super::mapping::Mapping;
use crate::domain::messages::accept::{self, Accepted, SendInput, TemplateSend};
use crate::domain::messages::header::HeaderInput;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::store::contacts::Contacts;

/// The body of `POST /campaigns/test-send`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"to": "+919876543210", "template": {"name": "fee_reminder", "language": "en"},
    "variables": ["{{contact.name}}", "12,500", "30 Nov"], "contact_id": "con_01jd5xa1b2c3d4e5f6g7h8j9k0"}))]
#[serde(deny_unknown_fields)]
pub struct TestSendInput {
    /// The number to send the test to (E.164, or national with the tenant's `default_country`).
    pub to: Option<String>,
    pub template: Option<TemplateInput>,
    /// As in `POST /campaigns`.
    pub variables: Option<Vec<Value>>,
    /// As in `POST /campaigns` (a `{{contact.attributes.<key>}}` link is filled from the contact).
    pub header: Option<HeaderInput>,
    /// The contact whose data fills the `{{contact.*}}` variables (required when there are any).
    pub contact_id: Option<String>,
}

pub async fn test_send(ports: &Ports, tenant_id: &str, input: TestSendInput) -> Result<Accepted, Error> {
    let mut errors = Vec::new();
    let mappings: Vec<Mapping> = input
        .variables
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| match Mapping::parse(v) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(FieldError::new(format!("variables[{i}]"), "invalid_variable", e));
                None
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    // A header link may be a mapping too (`{{contact.attributes.<key>}}`).
    let mut header = input.header;
    let header_mapping = header
        .as_ref()
        .and_then(|h| h.link.as_ref())
        .and_then(|l| Mapping::parse(&Value::String(l.clone())).ok())
        .filter(|m| !matches!(m, Mapping::Literal(_)));
    let values: Vec<Value> = if header_mapping.is_none() && mappings.iter().all(|m| matches!(m, Mapping::Literal(_))) {
        mappings.into_iter().map(|m| if let Mapping::Literal(v) = m { v } else { unreachable!() }).collect()
    } else {
        let Some(contact_id) = input.contact_id.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Err(Error::validation(vec![FieldError::new(
                "contact_id",
                "required",
                "the variables are filled from a contact: give one (e.g. the first recipient)",
            )]));
        };
        let contact = Contacts::new(&*ports.table).get(tenant_id, contact_id).await?.ok_or_else(|| {
            Error::validation(vec![FieldError::new("contact_id", "unknown_contact", "no such contact")])
        })?;
        let missing = || {
            Error::validation(vec![FieldError::new(
                "contact_id",
                "missing_contact_data",
                "this contact lacks a value the variables use",
            )])
        };
        if let (Some(m), Some(h)) = (&header_mapping, header.as_mut()) {
            h.link = Some(m.render(&contact).and_then(|v| v.as_str().map(str::to_owned)).ok_or_else(missing)?);
        }
        let rendered: Option<Vec<Value>> = mappings.iter().map(|m| m.render(&contact)).collect();
        rendered.ok_or_else(missing)?
    };
    let template = input.template.unwrap_or_default();
    let send = SendInput {
        to: input.to,
        template: Some(TemplateSend {
            name: template.name,
            language: template.language,
            variables: Some(values),
            components: None,
            header,
        }),
        ..SendInput::default()
    };
    accept::accept(ports, tenant_id, send).await
}
