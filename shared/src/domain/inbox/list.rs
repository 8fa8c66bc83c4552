//! Reading conversations: who may see which ([`Scope`]), the filtered list, one conversation as
//! the API shows it.

use std::collections::HashMap;

use futures_util::future::join_all;

use super::model::{Assignee, ContactSummary, Conversation, ConversationStatus, ConversationView};
use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::table::TableError;
use crate::store::inbox::{ConversationFilter, Conversations};
use crate::store::keys;
use crate::store::users::Users;

/// Which conversations a caller may see. Tenant admins see all; an agent sees the ones assigned
/// to them or to nobody (SPEC → Roles): any other answers 404, as a foreign id does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    AssignedToOrUnassigned(String),
}

impl Scope {
    pub fn sees(&self, c: &Conversation) -> bool {
        match self {
            Scope::All => true,
            Scope::AssignedToOrUnassigned(me) => c.assignee_id.as_deref().is_none_or(|a| a == me),
        }
    }
}

/// The conversation, if `scope` may see it.
pub async fn get(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    scope: &Scope,
) -> Result<Option<Conversation>, TableError> {
    Ok(Conversations::new(&*ports.table).get(tenant_id, conversation_id).await?.filter(|c| scope.sees(c)))
}

/// The conversation `scope` may see, or 404.
pub async fn require(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    scope: &Scope,
) -> Result<Conversation, Error> {
    get(ports, tenant_id, conversation_id, scope).await?.ok_or_else(|| Error::not_found("conversation"))
}

/// `GET /conversations` filters (SPEC → Inbox).
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// `Some(None)`: unassigned; `Some(Some(member))`: assigned to that member ("me" is the
    /// caller's id, resolved at the edge).
    pub assignee: Option<Option<String>>,
    pub status: Option<ConversationStatus>,
    pub unread: bool,
    /// The contact has this tag.
    pub tag: Option<String>,
    /// Case-insensitive substring of the contact's name, phone, username or WhatsApp user id.
    pub q: Option<String>,
}

/// One page of the conversations `scope` may see, latest activity first. The assignee or status
/// filter picks the list partition (a query, see `store::inbox`); `unread` and the agent's scope
/// filter that query; `tag` and `q` are about the contact, read with the page. A page can hold
/// fewer than `limit` items and still have a `next_cursor`, as any filtered list.
pub async fn list(
    ports: &Ports,
    tenant_id: &str,
    filter: &ListFilter,
    scope: &Scope,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<ConversationView>, Option<String>), Error> {
    let mut query = ConversationFilter {
        assignee: filter.assignee.clone(),
        status: filter.status,
        unread: filter.unread,
        mine_or_unassigned: None,
    };
    if let Scope::AssignedToOrUnassigned(me) = scope {
        if matches!(&filter.assignee, Some(Some(other)) if other != me) {
            return Ok((Vec::new(), None));
        }
        query.mine_or_unassigned = Some(me.clone());
    }
    let (conversations, next) = Conversations::new(&*ports.table)
        .list(tenant_id, &query, limit, cursor)
        .await
        .map_err(crate::domain::error::list_error)?;
    let contacts = contacts_of(ports, tenant_id, &conversations).await?;
    let tag = filter.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let q = filter.q.as_deref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let kept: Vec<(Conversation, Option<ContactBrief>)> = conversations
        .into_iter()
        .zip(contacts)
        .filter(|(_, contact)| {
            tag.is_none_or(|t| contact.as_ref().is_some_and(|c| c.tags.iter().any(|x| x == t)))
                && q.as_deref().is_none_or(|q| contact.as_ref().is_some_and(|c| c.matches(q)))
        })
        .collect();
    Ok((views(ports, tenant_id, kept).await?, next))
}

/// One conversation as the API shows it, if `scope` may see it (else 404).
pub async fn view(
    ports: &Ports,
    tenant_id: &str,
    conversation_id: &str,
    scope: &Scope,
) -> Result<ConversationView, Error> {
    let conversation = require(ports, tenant_id, conversation_id, scope).await?;
    let contact = contacts_of(ports, tenant_id, std::slice::from_ref(&conversation)).await?.pop().flatten();
    let mut one = views(ports, tenant_id, vec![(conversation, contact)]).await?;
    one.pop().ok_or_else(|| Error::internal("a view of one conversation"))
}

/// What a conversation list needs of its contact (read leniently: every field optional).
#[derive(Debug, Default, serde::Deserialize)]
struct ContactBrief {
    id: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    wa_user_id: Option<String>,
    username: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

impl ContactBrief {
    /// `q` (lower-case) in the name, phone, username or WhatsApp user id.
    fn matches(&self, q: &str) -> bool {
        [&self.name, &self.phone, &self.username, &self.wa_user_id]
            .into_iter()
            .flatten()
            .any(|f| f.to_lowercase().contains(q))
    }
}

async fn contacts_of(
    ports: &Ports,
    tenant_id: &str,
    conversations: &[Conversation],
) -> Result<Vec<Option<ContactBrief>>, Error> {
    let keys: Vec<_> = conversations.iter().map(|c| keys::contact(tenant_id, &c.contact_id)).collect();
    let reads = keys.iter().map(|k| ports.table.get(k));
    let mut out = Vec::with_capacity(conversations.len());
    for item in join_all(reads).await {
        out.push(item?.map(|i| i.to_entity::<ContactBrief>()).transpose()?);
    }
    Ok(out)
}

/// The API's view of conversations whose contacts were read (each assignee's name read once).
async fn views(
    ports: &Ports,
    tenant_id: &str,
    conversations: Vec<(Conversation, Option<ContactBrief>)>,
) -> Result<Vec<ConversationView>, Error> {
    let mut names: HashMap<String, String> = HashMap::new();
    let users = Users::new(&*ports.table);
    for (c, _) in &conversations {
        if let Some(a) = &c.assignee_id
            && !names.contains_key(a)
        {
            let name = users.get(a).await?.filter(|u| u.tenant_id.as_deref() == Some(tenant_id)).map(|u| u.name);
            names.insert(a.clone(), name.unwrap_or_default());
        }
    }
    let now = ports.clock.now();
    Ok(conversations
        .into_iter()
        .map(|(conversation, contact)| {
            let summary = match contact {
                Some(c) => ContactSummary {
                    id: c.id.unwrap_or_else(|| conversation.contact_id.clone()),
                    name: c.name,
                    phone: c.phone,
                    user_id: c.wa_user_id,
                    username: c.username,
                },
                None => ContactSummary { id: conversation.contact_id.clone(), ..ContactSummary::default() },
            };
            let assignee = conversation
                .assignee_id
                .clone()
                .map(|id| Assignee { name: names.get(&id).cloned().unwrap_or_default(), id });
            conversation.view(now, summary, assignee)
        })
        .collect())
}
