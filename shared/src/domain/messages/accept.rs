//! `POST /messages`: every check a message must pass before it is accepted, then the durable
//! write and the hand-off to the send worker.
//!
//! The checks run cheapest and most fundamental first, so a request that is wrong in several ways
//! gets the error the caller must fix first: the body's shape (422), the recipient (422/404), the
//! tenant may send (403), the connection is usable (409), the contact has not opted out (422),
//! the template or the service window (422), the plan quota (429). Nothing is written until all
//! of them pass: a refused message leaves no contact, conversation or usage behind.
//!
//! Accepted means durably queued: the message row (and the conversation's preview) is written in
//! one transaction, then the send job is queued; a queue failure marks the row failed and the
//! caller gets 503 (see `dispatch`). A message with `schedule_at` is stored `scheduled` and not
//! queued: releasing due scheduled messages is the scheduler's job (a later piece).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dispatch;
use super::header::{self, HeaderInput, TemplateHeader};
use super::interactive::{self, Interactive, InteractiveInput};
use super::{Direction, Message, MessageStatus};
use crate::domain::contacts::Contact;
use crate::domain::contacts::service::{ID_PREFIX as CONTACT_PREFIX, limit_reached};
use crate::domain::media::{self, MediaKind, MediaStatus, MessageMedia};
use crate::domain::phone::{Country, E164};
use crate::domain::templates::model::Template;
use crate::domain::templates::schema::{build_send_components, check_variables};
use crate::domain::whatsapp::connection::business_token;
use crate::domain::{Error, FieldError};
use crate::domain::{inbox, limits, tenants, usage};
use crate::ports::Ports;
use crate::store::contacts::{Contacts, CreateError, Identity};
use crate::store::media::MediaStore;
use crate::store::templates;

/// Longest free-text message WhatsApp accepts.
pub const MAX_TEXT_CHARS: usize = 4096;
/// How far ahead a message may be scheduled: far enough for any campaign calendar, near enough
/// that a typo in the year is caught.
pub const MAX_SCHEDULE_AHEAD: Duration = Duration::days(365);

/// The body of `POST /messages`. Everything optional so that a missing field is a 422 naming it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"to": "+919876543210", "template": {"name": "fee_reminder", "language": "en", "variables": ["Asha", "12,500", "30 Nov"]}}))]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// An E.164 phone number or the id of one of the tenant's contacts.
    pub to: Option<String>,
    pub template: Option<TemplateSend>,
    pub text: Option<TextSend>,
    /// A file uploaded with `POST /media` (free-form: inside the 24 h window, like text).
    pub media: Option<MediaSend>,
    /// Reply buttons or a list (free-form: inside the 24 h window, like text).
    pub interactive: Option<InteractiveInput>,
    /// RFC 3339; kept as text so a malformed date is a 422 naming the field, not a 400.
    pub schedule_at: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "document", "media_id": "med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y", "caption": "Your invoice", "filename": "INV-42.pdf"}))]
pub struct MediaSend {
    /// `image`, `audio`, `video`, `document` or `sticker`: the file's own kind.
    pub kind: Option<String>,
    /// A media id from `POST /media` (or a checked `POST /media/uploads`).
    pub media_id: Option<String>,
    /// Not taken: upload the file (`POST /media`) and send its id (422 `link_not_supported`).
    pub link: Option<String>,
    /// Images, videos and documents: up to 1,024 characters.
    pub caption: Option<String>,
    /// Documents: the name the customer sees (the upload's own otherwise).
    pub filename: Option<String>,
}

/// Longest media caption WhatsApp accepts.
pub const MAX_CAPTION_CHARS: usize = 1024;

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSend {
    pub name: Option<String>,
    pub language: Option<String>,
    /// Values for the template's parameters, checked against its schema.
    pub variables: Option<Vec<Value>>,
    /// Meta's send `components`, passed through as given (for callers that build them).
    pub components: Option<Value>,
    /// Templates with an image, video or document header: the file (required for them, refused
    /// for others). `variables` then hold the other parameters only.
    pub header: Option<HeaderInput>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextSend {
    pub body: Option<String>,
}

/// The 202 answer.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "msg_01jd5xa1b2c3d4e5f6g7h8j9k0", "status": "queued", "to": "+919876543210", "created_at": "2026-11-21T08:00:00Z"}))]
pub struct Accepted {
    pub id: String,
    pub status: MessageStatus,
    pub to: String,
    pub created_at: DateTime<Utc>,
}

/// What the body asks for, once its shape is valid.
enum Content {
    Template { name: String, language: String, params: Params, header: Option<TemplateHeader> },
    Text(String),
    Media { kind: MediaKind, media_id: String, caption: Option<String>, filename: Option<String> },
    Interactive(Interactive),
}

enum Params {
    Variables(Vec<Value>),
    Components(Value),
}

enum Target {
    Phone(E164),
    ContactId(String),
}

struct Shape {
    target: Target,
    content: Content,
    schedule_at: Option<DateTime<Utc>>,
}

/// The audit entry of an accepted message (its id and status), written in the message's own
/// transaction: recorded exactly when the message is.
pub type AuditEntryFor<'a> = &'a (dyn Fn(&str, MessageStatus) -> crate::domain::audit::Entry + Send + Sync);

/// Checks, stores and dispatches one message for `tenant_id`.
pub async fn accept(ports: &Ports, tenant_id: &str, input: SendInput) -> Result<Accepted, Error> {
    accept_audited(ports, tenant_id, input, None).await
}

/// [`accept`], with the audit entry `audit` makes stored in the message's transaction (no
/// write of its own after the message's, and no message without its entry or the reverse).
pub async fn accept_audited(
    ports: &Ports,
    tenant_id: &str,
    input: SendInput,
    audit: Option<AuditEntryFor<'_>>,
) -> Result<Accepted, Error> {
    let now = ports.clock.now();
    let country = crate::domain::tenants::settings::default_country(ports, tenant_id).await?;
    let shape = shape(input, now, country)?;

    // The recipient: an existing contact, or a new phone (the contact is created only once the
    // message is accepted).
    let contacts = Contacts::new(&*ports.table);
    let (contact, phone) = match &shape.target {
        Target::ContactId(id) => {
            let contact = contacts.get(tenant_id, id).await?.ok_or_else(|| Error::not_found("contact"))?;
            let to = contact.phone.clone().or_else(|| contact.wa_user_id.clone()).ok_or_else(|| {
                Error::validation(vec![FieldError::new("to", "no_recipient", "this contact has no phone number")])
            })?;
            (Some(contact), to)
        }
        Target::Phone(p) => (contacts.find(tenant_id, Identity::Phone, p.as_str()).await?, p.as_str().to_owned()),
    };

    let tenant = tenants::get(ports, tenant_id).await?;
    if let Some(code) = tenants::sending_state(&tenant, now).error_code() {
        return Err(Error::forbidden(code, "this tenant may not send messages now"));
    }
    // Only the verdict matters here; the worker opens the token again when it sends.
    business_token(ports, tenant_id).await?;

    if contact.as_ref().is_some_and(|c| c.opted_out) {
        return Err(Error::invalid("contact_opted_out", "this contact has opted out of messages from this business"));
    }

    let mut header_media = None;
    let (kind, template, category, text) = match &shape.content {
        Content::Template { name, language, params, header } => {
            let t = approved_template(ports, tenant_id, name, language).await?;
            let components = match params {
                Params::Variables(vars) => {
                    check_variables(&header::without_header(&t.parameters), vars).map_err(invalid_variables)?;
                    header_media =
                        header::check(ports, tenant_id, &t.parameters, header.as_ref(), "template.header").await?;
                    let value = header.as_ref().map(|h| header::variable(h, None));
                    build_send_components(&t, &header::full_variables(value, vars))
                }
                Params::Components(c) => {
                    // Built by the caller: its header component carries the file (by Meta's id or a link).
                    let has_header = c
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c.get("type").and_then(Value::as_str) == Some("header"));
                    if header::media_header(&t.parameters).is_some() && !has_header {
                        return Err(Error::validation(vec![FieldError::new(
                            "template.components",
                            "header_required",
                            "this template has a media header: include Meta's header component (or send variables and header)",
                        )]));
                    }
                    c.clone()
                }
            };
            let send = json!({"name": t.name, "language": {"code": t.language}, "components": components});
            ("template", Some(send), Some(t.category.to_ascii_lowercase()), None)
        }
        Content::Text(body) => {
            window_open(ports, tenant_id, contact.as_ref(), shape.schedule_at.unwrap_or(now)).await?;
            ("text", None, Some("service".to_owned()), Some(body.clone()))
        }
        Content::Media { kind, media_id, caption, .. } => {
            window_open(ports, tenant_id, contact.as_ref(), shape.schedule_at.unwrap_or(now)).await?;
            let refuse = |code: &'static str, message: String| {
                Error::validation(vec![FieldError::new("media.media_id", code, message)])
            };
            // Ready now (a direct upload is checked here), and of the kind it is sent as.
            let item = match media::service::ready(ports, tenant_id, media_id, &inbox::Scope::All).await {
                Ok(item) => item,
                Err(e) if e.kind == crate::domain::Kind::NotFound => {
                    return Err(refuse("invalid_media_id", "is not a media item of this tenant".into()));
                }
                Err(e) => return Err(e),
            };
            if item.kind != *kind {
                return Err(refuse(
                    "kind_mismatch",
                    format!("is a {} file, not {}", item.kind.as_str(), kind.as_str()),
                ));
            }
            (kind.as_str(), None, Some("service".to_owned()), caption.clone())
        }
        Content::Interactive(i) => {
            window_open(ports, tenant_id, contact.as_ref(), shape.schedule_at.unwrap_or(now)).await?;
            ("interactive", None, Some("service".to_owned()), Some(i.body().to_owned()))
        }
    };

    // SPEC: the plan caps business-initiated messages, i.e. templates; free text inside the
    // service window answers the customer and is not counted (as inbox replies are not).
    let counts = kind == "template";
    let limit = if counts { limits::monthly_message_limit(&*ports.table, tenant_id).await? } else { None };
    if let Some(limit) = limit {
        let used = usage::messages_sent(ports, tenant_id, tenant.starts_at).await?;
        if used >= limit {
            return Err(Error::limit(
                "quota_exceeded",
                format!("your plan allows {limit} messages per month and they are used up"),
            ));
        }
    }

    let contact = match contact {
        Some(c) => c,
        None => create_contact(ports, tenant_id, &phone, now).await?,
    };
    let status = if shape.schedule_at.is_some() { MessageStatus::Scheduled } else { MessageStatus::Queued };
    let preview = text.clone().unwrap_or_else(|| template.as_ref().map(inbox::template_preview).unwrap_or_default());
    let media = match &shape.content {
        Content::Template { .. } => header_media,
        Content::Media { kind, media_id, filename, .. } => {
            let item = MediaStore::new(&*ports.table).get(tenant_id, media_id).await?;
            Some(MessageMedia {
                id: media_id.clone(),
                kind: *kind,
                status: MediaStatus::Ready,
                mime_type: item.as_ref().map(|i| i.mime_type.clone()),
                filename: filename.clone().or_else(|| item.and_then(|i| i.filename)),
                error: None,
            })
        }
        _ => None,
    };
    let message = Message {
        contact_id: Some(contact.id.clone()),
        conversation_id: Some(inbox::conversation_id(&contact.id)),
        to: Some(phone.clone()),
        template,
        category,
        text,
        media,
        interactive: match &shape.content {
            Content::Interactive(i) => Some(serde_json::to_value(i).map_err(Error::internal)?),
            _ => None,
        },
        schedule_at: shape.schedule_at,
        ..Message::new(ports.ids.new_id("msg"), tenant_id, Direction::Outbound, kind, status, now)
    };
    // Counted at acceptance (queued or scheduled), beside the message's own writes rather than
    // after them: one round trip to the table instead of two in every send's latency. A message
    // that is not accepted after all gives its count back. The counter is sharded and not
    // transactional with the check above, so concurrent sends can pass the check together and
    // overshoot the limit by at most their number. A failed count is logged, not returned:
    // answering 5xx for a message already queued would invite a retry that sends it twice.
    let count =
        async { if counts { Some(usage::record_sent(ports, tenant_id, tenant.starts_at, 1).await) } else { None } };
    let entry = audit.map(|make| crate::store::audit::AuditLog::item(&make(&message.id, status))).transpose()?;
    let (accepted, counted) = tokio::join!(dispatch::accept_with(ports, &message, &preview, entry), count);
    match (accepted, counted) {
        (Ok(()), Some(Err(e))) => {
            tracing::warn!(error = %e, tenant_id, message_id = %message.id, "message not counted in usage");
        }
        (Err(refused), Some(Ok(()))) => {
            if let Err(e) = usage::record_sent(ports, tenant_id, tenant.starts_at, -1).await {
                tracing::warn!(error = %e, tenant_id, message_id = %message.id, "count of a refused message kept");
            }
            return Err(refused);
        }
        (accepted, _) => accepted?,
    }
    Ok(Accepted { id: message.id, status, to: phone, created_at: now })
}

/// The body's shape: every problem at once, each naming its field.
fn shape(input: SendInput, now: DateTime<Utc>, country: Option<Country>) -> Result<Shape, Error> {
    let mut errors = Vec::new();
    let target = match input.to.as_deref().map(str::trim).unwrap_or("") {
        "" => {
            errors.push(FieldError::new("to", "required", "an E.164 phone number or a contact id"));
            None
        }
        id if id.starts_with(&format!("{CONTACT_PREFIX}_")) => Some(Target::ContactId(id.to_owned())),
        raw => match E164::parse_in(raw, country) {
            Ok(p) => Some(Target::Phone(p)),
            Err(e) => {
                errors.push(FieldError::new("to", e.code(), e.to_string()));
                None
            }
        },
    };
    let given = [input.template.is_some(), input.text.is_some(), input.media.is_some(), input.interactive.is_some()];
    let content = match (input.template, input.text, input.media, input.interactive) {
        _ if given.iter().filter(|g| **g).count() > 1 => {
            errors.push(FieldError::new(
                "template",
                "exclusive",
                "give one of template, text, media or interactive, not several",
            ));
            None
        }
        (_, _, _, Some(i)) => interactive::shape(i, "interactive", &mut errors).map(Content::Interactive),
        (_, _, Some(m), _) => media_shape(m, &mut errors),
        (Some(t), _, _, _) => template_shape(t, &mut errors),
        (None, Some(t), None, None) => {
            let body = t.body.map(|b| b.trim().to_owned()).unwrap_or_default();
            if body.is_empty() || body.chars().count() > MAX_TEXT_CHARS {
                errors.push(FieldError::new(
                    "text.body",
                    "invalid",
                    format!("must be 1 to {MAX_TEXT_CHARS} characters"),
                ));
                None
            } else {
                Some(Content::Text(body))
            }
        }
        (None, None, None, None) => {
            errors.push(FieldError::new("template", "required", "give one of template, text, media or interactive"));
            None
        }
    };
    let schedule_at = schedule_at(input.schedule_at.as_deref(), now, &mut errors);
    match (target, content) {
        (Some(target), Some(content)) if errors.is_empty() => Ok(Shape { target, content, schedule_at }),
        _ => Err(Error::validation(errors)),
    }
}

fn media_shape(m: MediaSend, errors: &mut Vec<FieldError>) -> Option<Content> {
    let before = errors.len();
    let kind = match m.kind.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("media.kind", "required", "image, audio, video, document or sticker"));
            None
        }
        Some(k) => MediaKind::parse(k).or_else(|| {
            errors.push(FieldError::new("media.kind", "invalid", "must be image, audio, video, document or sticker"));
            None
        }),
    };
    if m.link.is_some() {
        errors.push(FieldError::new(
            "media.link",
            "link_not_supported",
            "upload the file with POST /media and send its media_id (WhatsApp gets files by id, never by our link)",
        ));
    }
    let media_id = m.media_id.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
    if media_id.is_none() && m.link.is_none() {
        errors.push(FieldError::new("media.media_id", "required", "the id of a file uploaded with POST /media"));
    }
    let caption = m.caption.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if caption.as_ref().is_some_and(|c| c.chars().count() > MAX_CAPTION_CHARS) {
        errors.push(FieldError::new("media.caption", "too_long", format!("at most {MAX_CAPTION_CHARS} characters")));
    }
    if caption.is_some() && matches!(kind, Some(MediaKind::Audio | MediaKind::Sticker)) {
        errors.push(FieldError::new("media.caption", "not_allowed", "audio and stickers take no caption"));
    }
    let filename = media::service::clean_filename(m.filename.as_deref());
    match (kind, media_id) {
        (Some(kind), Some(media_id)) if errors.len() == before => {
            Some(Content::Media { kind, media_id, caption, filename })
        }
        _ => None,
    }
}

/// Free-form content (text, a file) goes out only inside the customer service window, open at `at`.
async fn window_open(
    ports: &Ports,
    tenant_id: &str,
    contact: Option<&Contact>,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let open = match contact {
        Some(c) => inbox::get(ports, tenant_id, &inbox::conversation_id(&c.id), &inbox::Scope::All)
            .await?
            .is_some_and(|conv| conv.window_open(at)),
        None => false,
    };
    if !open {
        return Err(Error::invalid(
            "outside_service_window",
            "the customer has not written in the last 24 hours: free text is not allowed, send a template instead",
        ));
    }
    Ok(())
}

fn template_shape(t: TemplateSend, errors: &mut Vec<FieldError>) -> Option<Content> {
    let name = t.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let language = t.language.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if name.is_none() {
        errors.push(FieldError::new("template.name", "required", "the template's name"));
    }
    if language.is_none() {
        errors.push(FieldError::new("template.language", "required", "the template's language code, e.g. en_US"));
    }
    let params = match (t.variables, t.components) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "template.components",
                "exclusive",
                "give either variables or components, not both",
            ));
            None
        }
        (None, Some(c)) if !c.as_array().is_some_and(|a| a.iter().all(Value::is_object)) => {
            errors.push(FieldError::new(
                "template.components",
                "invalid",
                "must be an array of Meta's send components",
            ));
            None
        }
        (None, Some(c)) => Some(Params::Components(c)),
        // No variables is a valid answer for a template without parameters.
        (v, None) => Some(Params::Variables(v.unwrap_or_default())),
    };
    let header = match t.header {
        Some(_) if matches!(params, Some(Params::Components(_))) => {
            errors.push(FieldError::new(
                "template.header",
                "exclusive",
                "with components, the header is Meta's header component: leave header out",
            ));
            return None;
        }
        Some(h) => Some(header::shape(h, "template.header", false, errors)?),
        None => None,
    };
    Some(Content::Template { name: name?, language: language?, params: params?, header })
}

pub(crate) async fn approved_template(
    ports: &Ports,
    tenant_id: &str,
    name: &str,
    language: &str,
) -> Result<Template, Error> {
    let Some(t) = templates::Templates::new(&*ports.table).find_by_name(tenant_id, name, language).await? else {
        return Err(Error::invalid("unknown_template", format!("no template {name} in {language}")).with_details(
            vec![FieldError::new("template.name", "unknown_template", "no such template for this language")],
        ));
    };
    if t.status != "APPROVED" {
        return Err(Error::invalid(
            "template_not_approved",
            format!("template {name} in {language} is {}; only APPROVED templates can be sent", t.status),
        ));
    }
    Ok(t)
}

/// The contact for a phone the tenant has not messaged before. Created like an inbound sender's
/// contact but within the plan's contact limit (this one is the business's initiative).
async fn create_contact(ports: &Ports, tenant_id: &str, phone: &str, now: DateTime<Utc>) -> Result<Contact, Error> {
    let contacts = Contacts::new(&*ports.table);
    let mut contact = Contact::new(ports.ids.new_id(CONTACT_PREFIX), tenant_id, now);
    contact.phone = Some(phone.to_owned());
    let limit = limits::contact_limit(&*ports.table, tenant_id).await?;
    match contacts.create(&contact, limit).await {
        Ok(()) => Ok(contact),
        // A concurrent request created it: use that one.
        Err(CreateError::Exists { .. }) => contacts
            .find(tenant_id, Identity::Phone, phone)
            .await?
            .ok_or_else(|| Error::unavailable("the contact is being changed; retry")),
        Err(CreateError::LimitReached) => Err(limit_reached(limit)),
        Err(CreateError::Table(e)) => Err(e.into()),
    }
}

/// Variables that do not fit a template's parameters (messages and campaigns alike); `details`
/// names each bad one.
pub(crate) fn invalid_variables(details: Vec<FieldError>) -> Error {
    Error::invalid("invalid_variables", "the variables do not match the template's parameters").with_details(details)
}

/// A `schedule_at` (messages and campaigns): an RFC 3339 time in the future, at most
/// [`MAX_SCHEDULE_AHEAD`] away; otherwise a field error and `None`.
pub(crate) fn schedule_at(
    raw: Option<&str>,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(raw?).map(|d| d.with_timezone(&Utc)) {
        Ok(at) if at <= now => {
            errors.push(FieldError::new("schedule_at", "in_the_past", "must be in the future"));
            None
        }
        Ok(at) if at > now + MAX_SCHEDULE_AHEAD => {
            errors.push(FieldError::new("schedule_at", "too_far", "must be within 365 days"));
            None
        }
        Ok(at) => Some(at),
        Err(_) => {
            errors.push(FieldError::new("schedule_at", "invalid", "must be an RFC 3339 date-time"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> SendInput {
        serde_json::from_value(v).expect("input deserializes")
    }

    fn fields(e: Error) -> Vec<String> {
        e.details.into_iter().map(|d| d.field).collect()
    }

    #[test]
    fn exactly_one_of_template_and_text() {
        let now = Utc::now();
        let both = shape(
            input(json!({"to": "+14155550123", "text": {"body": "hi"}, "template": {"name": "a", "language": "en"}})),
            now,
            None,
        );
        assert_eq!(fields(both.err().expect("refused")), ["template"]);
        let neither = shape(input(json!({"to": "+14155550123"})), now, None);
        assert_eq!(fields(neither.err().expect("refused")), ["template"]);
    }

    #[test]
    fn every_shape_problem_at_once() {
        let e = shape(input(json!({"to": "12", "template": {"variables": [], "components": []}, "schedule_at": "2000-01-01T00:00:00Z"})), Utc::now(), None)
            .err()
            .expect("refused");
        assert_eq!(e.kind, crate::domain::Kind::Invalid);
        assert_eq!(fields(e), ["to", "template.name", "template.language", "template.components", "schedule_at"]);
    }

    #[test]
    fn contact_ids_and_phones() {
        let now = Utc::now();
        let s = shape(input(json!({"to": "con_01ABC", "text": {"body": "hi"}})), now, None).expect("valid");
        assert!(matches!(s.target, Target::ContactId(id) if id == "con_01ABC"));
        let s = shape(input(json!({"to": "+1 415 555 0123", "text": {"body": "hi"}})), now, None).expect("valid");
        assert!(matches!(s.target, Target::Phone(p) if p.as_str() == "+14155550123"));
        let national = input(json!({"to": "098765 43210", "text": {"body": "hi"}}));
        let s = shape(national, now, Country::parse("IN")).expect("valid");
        assert!(matches!(s.target, Target::Phone(p) if p.as_str() == "+919876543210"));
        let e = shape(input(json!({"to": "098765 43210", "text": {"body": "hi"}})), now, None).err().expect("refused");
        assert_eq!(fields(e), ["to"], "without a default country a national number stays refused");
    }

    #[test]
    fn schedule_in_the_future_only() {
        let now = Utc::now();
        let future = (now + Duration::hours(1)).to_rfc3339();
        let s = shape(input(json!({"to": "+14155550123", "text": {"body": "hi"}, "schedule_at": future})), now, None)
            .expect("valid");
        assert!(s.schedule_at.is_some());
        let e =
            shape(input(json!({"to": "+14155550123", "text": {"body": "hi"}, "schedule_at": "tomorrow"})), now, None);
        assert_eq!(fields(e.err().expect("refused")), ["schedule_at"]);
    }
}
