//! The contact use cases behind the routes, and find-or-create for the webhook processor.
//! Errors are API errors (422 with field details, 404, 409 `contact_exists`, 429
//! `contact_limit_reached`), except [`find_or_create_inbound`], which is not behind a route.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Contact, ContactView, fields};
use crate::domain::limits;
use crate::domain::phone::E164;
use crate::domain::{Error, FieldError};
use crate::ports::table::TableError;
use crate::ports::{IdGen, Ports, Table};
use crate::store::contacts::{Contacts, CreateError, Identity, ListFilter, ReplaceOutcome};

/// Read-modify-write attempts before a PATCH gives up on a contact that keeps changing.
const MAX_PATCH_ATTEMPTS: usize = 5;
pub const ID_PREFIX: &str = "con";
/// `opt_out_source` of a contact opted out through the API or the console.
pub const OPT_OUT_SOURCE_API: &str = "api";

/// `POST /contacts`.
#[derive(Debug, Default, Clone)]
pub struct CreateInput {
    pub phone: Option<String>,
    pub name: Option<String>,
    pub attributes: Option<Map<String, Value>>,
    pub tags: Option<Vec<String>>,
}

/// `PATCH /contacts/{id}`: `None` leaves a field alone; `name: Some(None)` clears the name.
#[derive(Debug, Default, Clone)]
pub struct PatchInput {
    pub name: Option<Option<String>>,
    pub attributes: Option<Map<String, Value>>,
    pub tags: Option<Vec<String>>,
    pub opted_out: Option<bool>,
    /// Who changed `opted_out`: `keyword`, `meta`; `None` is `api` (a PATCH, the console).
    pub opt_out_source: Option<String>,
    /// The body named `phone`: refused, a contact's identity does not change.
    pub phone_given: bool,
}

pub fn limit_reached(limit: Option<u64>) -> Error {
    let message = match limit {
        Some(l) => format!("your plan allows {l} contacts; delete some or upgrade the plan"),
        None => "your plan's contact limit is reached".to_string(),
    };
    // A quota, not a rate: no Retry-After (waiting does not help).
    Error::limit("contact_limit_reached", message)
}

fn exists(identity: Identity, contact_id: &str) -> Error {
    let field = match identity {
        Identity::Phone => "phone",
        Identity::WaUser => "wa_user_id",
    };
    Error::conflict("contact_exists", format!("a contact with this {} already exists: {contact_id}", identity.label()))
        .with_details(vec![FieldError::new(field, "contact_exists", format!("belongs to contact {contact_id}"))])
}

pub async fn create(ports: &Ports, tenant_id: &str, input: CreateInput) -> Result<Contact, Error> {
    let mut errors = Vec::new();
    let country = crate::domain::tenants::settings::default_country(ports, tenant_id).await?;
    let phone = match E164::parse_in(input.phone.as_deref().unwrap_or(""), country) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(FieldError::new("phone", e.code(), e.to_string()));
            None
        }
    };
    let name = fields::name(input.name.as_deref().unwrap_or("")).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let mut attributes = Map::new();
    errors.extend(fields::merge_attributes(&mut attributes, &input.attributes.unwrap_or_default()));
    let tags = fields::tags(&input.tags.unwrap_or_default()).unwrap_or_else(|e| {
        errors.extend(e);
        Vec::new()
    });
    let Some(phone) = phone.filter(|_| errors.is_empty()) else { return Err(Error::validation(errors)) };

    let mut contact = Contact::new(ports.ids.new_id(ID_PREFIX), tenant_id, ports.clock.now());
    contact.phone = Some(phone.into_string());
    contact.name = name;
    contact.attributes = attributes;
    contact.tags = tags;
    let limit = limits::contact_limit(&*ports.table, tenant_id).await?;
    match Contacts::new(&*ports.table).create(&contact, limit).await {
        Ok(()) => Ok(contact),
        Err(CreateError::Exists { identity, contact_id }) => Err(exists(identity, &contact_id)),
        Err(CreateError::LimitReached) => Err(limit_reached(limit)),
        Err(CreateError::Table(e)) => Err(e.into()),
    }
}

pub async fn get(ports: &Ports, tenant_id: &str, contact_id: &str) -> Result<Contact, Error> {
    Contacts::new(&*ports.table).get(tenant_id, contact_id).await?.ok_or_else(|| Error::not_found("contact"))
}

/// The list filter from `?tag=` and `?q=`, or the fields that are invalid.
pub fn list_filter(tag: Option<&str>, q: Option<&str>) -> Result<ListFilter, Error> {
    let mut errors = Vec::new();
    let tag = match tag.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => fields::tag(t, "tag").map(Some).unwrap_or_else(|e| {
            errors.push(e);
            None
        }),
        None => None,
    };
    let search = fields::search_query(q.unwrap_or("")).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    Ok(ListFilter { tag, search })
}

/// One page of contacts after `cursor` (the table's own position).
pub async fn list(
    ports: &Ports,
    tenant_id: &str,
    filter: &ListFilter,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<ContactView>, Option<String>), Error> {
    // The only caller-controlled part of a valid query is the cursor: the table refusing the
    // query means another list's cursor.
    let (items, next_cursor) = Contacts::new(&*ports.table)
        .list(tenant_id, filter, limit, cursor)
        .await
        .map_err(crate::domain::error::list_error)?;
    Ok((items.into_iter().map(ContactView::from).collect(), next_cursor))
}

/// Tags offered as filters (the contacts page's chips, a campaign's audience), alphabetically.
const TAGS_SHOWN: usize = 200;

/// The tags the tenant's contacts carry, alphabetically (at most [`TAGS_SHOWN`]).
pub async fn tags_in_use(ports: &Ports, tenant_id: &str) -> Result<Vec<String>, Error> {
    Ok(Contacts::new(&*ports.table).tags(tenant_id, TAGS_SHOWN).await?)
}

/// Applies `input` to `contact`; `Ok(None)` when nothing would change.
fn apply_patch(contact: &Contact, input: &PatchInput, now: DateTime<Utc>) -> Result<Option<Contact>, Error> {
    let mut errors = Vec::new();
    if input.phone_given {
        errors.push(FieldError::new("phone", "immutable", "cannot be changed; create a new contact instead"));
    }
    let mut next = contact.clone();
    if let Some(name) = &input.name {
        match fields::name(name.as_deref().unwrap_or("")) {
            Ok(n) => next.name = n,
            Err(e) => errors.push(e),
        }
    }
    if let Some(changes) = &input.attributes {
        errors.extend(fields::merge_attributes(&mut next.attributes, changes));
    }
    if let Some(tags) = &input.tags {
        match fields::tags(tags) {
            Ok(t) => next.tags = t,
            Err(e) => errors.extend(e),
        }
    }
    // Opting out twice keeps the first time.
    if let Some(opted_out) = input.opted_out.filter(|o| *o != contact.opted_out) {
        next.opted_out = opted_out;
        next.opted_out_at = opted_out.then_some(now);
        next.opt_out_source =
            opted_out.then(|| input.opt_out_source.clone().unwrap_or_else(|| OPT_OUT_SOURCE_API.to_owned()));
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    if next == *contact {
        return Ok(None);
    }
    next.updated_at = now;
    Ok(Some(next))
}

pub async fn patch(ports: &Ports, tenant_id: &str, contact_id: &str, input: PatchInput) -> Result<Contact, Error> {
    let contacts = Contacts::new(&*ports.table);
    for _ in 0..MAX_PATCH_ATTEMPTS {
        let current = get(ports, tenant_id, contact_id).await?;
        let Some(next) = apply_patch(&current, &input, ports.clock.now())? else { return Ok(current) };
        match contacts.replace(&current, &next).await? {
            ReplaceOutcome::Done => return Ok(Contact { version: current.version + 1, ..next }),
            ReplaceOutcome::Stale => continue,
            ReplaceOutcome::IdentityTaken(_) => return Err(Error::internal("a patch changed a contact's identity")),
        }
    }
    Err(Error::conflict("conflict", "the contact is being changed concurrently; retry"))
}

pub async fn delete(ports: &Ports, tenant_id: &str, contact_id: &str) -> Result<(), Error> {
    match Contacts::new(&*ports.table).delete(tenant_id, contact_id).await? {
        Some(_) => Ok(()),
        None => Err(Error::not_found("contact")),
    }
}

/// Who wrote to us, as an inbound webhook names them (`wa_id` and/or `user_id`, the profile).
#[derive(Debug, Default, Clone)]
pub struct InboundSender<'a> {
    pub phone: Option<&'a E164>,
    pub wa_user_id: Option<&'a str>,
    pub profile_name: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// The contact an inbound message or status belongs to, created when new (never refused for
/// the plan's limit: the customer wrote to us, and losing the conversation helps nobody; it
/// still counts). A known contact learns the identity it lacked (a phone contact gets its
/// WhatsApp user id and the reverse), its current username, and the profile name when the
/// tenant has not named it. When the phone and the user id belong to two different contacts,
/// the phone contact is returned and nothing is merged.
pub async fn find_or_create_inbound(
    table: &dyn Table,
    ids: &dyn IdGen,
    now: DateTime<Utc>,
    tenant_id: &str,
    sender: &InboundSender<'_>,
) -> Result<Contact, TableError> {
    let wa_user_id = sender.wa_user_id.map(str::trim).filter(|w| !w.is_empty());
    if sender.phone.is_none() && wa_user_id.is_none() {
        return Err(TableError::Invalid("an inbound sender needs a phone or a WhatsApp user id".into()));
    }
    let contacts = Contacts::new(table);
    for _ in 0..MAX_PATCH_ATTEMPTS {
        let by_phone = match sender.phone {
            Some(p) => contacts.find(tenant_id, Identity::Phone, p.as_str()).await?,
            None => None,
        };
        let by_user = match wa_user_id {
            Some(w) => contacts.find(tenant_id, Identity::WaUser, w).await?,
            None => None,
        };
        let known = match (by_phone, by_user) {
            (Some(a), Some(b)) if a.id != b.id => return Ok(a),
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => {
                let mut contact = Contact::new(ids.new_id(ID_PREFIX), tenant_id, now);
                contact.phone = sender.phone.map(|p| p.as_str().to_owned());
                contact.wa_user_id = wa_user_id.map(str::to_owned);
                contact.username = sender.username.map(str::to_owned);
                contact.name = sender.profile_name.and_then(|n| fields::name(n).ok().flatten());
                match contacts.create(&contact, None).await {
                    Ok(()) => return Ok(contact),
                    // Someone created it meanwhile: find it on the next pass.
                    Err(CreateError::Exists { .. } | CreateError::LimitReached) => continue,
                    Err(CreateError::Table(e)) => return Err(e),
                }
            }
        };
        let mut next = known.clone();
        if next.phone.is_none() {
            next.phone = sender.phone.map(|p| p.as_str().to_owned());
        }
        if next.wa_user_id.is_none() {
            next.wa_user_id = wa_user_id.map(str::to_owned);
        }
        if let Some(username) = sender.username.filter(|u| !u.is_empty()) {
            next.username = Some(username.to_owned());
        }
        if next.name.is_none() {
            next.name = sender.profile_name.and_then(|n| fields::name(n).ok().flatten());
        }
        if next == known {
            return Ok(known);
        }
        next.updated_at = now;
        match contacts.replace(&known, &next).await? {
            ReplaceOutcome::Done => return Ok(Contact { version: known.version + 1, ..next }),
            // Another contact holds the identity we wanted to add: the next pass sees both.
            ReplaceOutcome::Stale | ReplaceOutcome::IdentityTaken(_) => continue,
        }
    }
    Err(TableError::Throttled)
}
