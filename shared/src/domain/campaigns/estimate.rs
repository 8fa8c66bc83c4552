//! What a campaign would use before it is created (the console's wizard): the audience's size and
//! how many of it opted out, its first recipient (to preview the rendered message), the plan's
//! quota left this month and, with prepaid credits, the cost. The same audience walk as the
//! fan-out ([`audience_query`]), so the numbers are what the campaign would get now.

use crate::domain::Error;
use crate::domain::contacts::Contact;
use crate::domain::money::Money;
use crate::domain::sending::prices::PriceTable;
use crate::domain::{limits, tenants, usage};
use crate::ports::Ports;
use crate::ports::table::Item;
use crate::store::contacts::Contacts;
use crate::store::keys;

use super::fanout::audience_query;
use super::{Audience, ID_PREFIX};

/// Contacts walked at most for one estimate: a larger audience is shown as "at least".
pub const MAX_SCANNED: usize = 20_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AudienceEstimate {
    /// Contacts in the audience (opted-out ones included).
    pub total: u64,
    /// Of them, opted out: they get no message.
    pub opted_out: u64,
    /// False when the walk stopped at [`MAX_SCANNED`].
    pub exact: bool,
    /// The first contact the fan-out would send to.
    pub first: Option<Contact>,
}

impl AudienceEstimate {
    /// Who would get a message.
    pub fn recipients(&self) -> u64 {
        self.total - self.opted_out
    }
}

/// The audience as it is now.
pub async fn audience(ports: &Ports, tenant_id: &str, audience: &Audience) -> Result<AudienceEstimate, Error> {
    let mut out = AudienceEstimate { exact: true, ..AudienceEstimate::default() };
    let count = |c: Contact, out: &mut AudienceEstimate| {
        out.total += 1;
        if c.opted_out {
            out.opted_out += 1;
        } else if out.first.is_none() {
            out.first = Some(c);
        }
    };
    if !audience.contact_ids.is_empty() {
        let contacts = Contacts::new(&*ports.table);
        for id in &audience.contact_ids {
            if let Some(c) = contacts.get(tenant_id, id).await? {
                count(c, &mut out);
            }
        }
        return Ok(out);
    }
    // A campaign created now: its id bounds the walk to the contacts that exist now.
    let bound = ports.ids.new_id(ID_PREFIX);
    let mut cursor = None;
    loop {
        let Some(query) = audience_query(tenant_id, &bound, audience, 1000, cursor) else { return Ok(out) };
        let page = ports.table.query(query).await?;
        for item in &page.items {
            count(Item::to_entity(item)?, &mut out);
        }
        match page.next_cursor {
            Some(c) if (out.total as usize) < MAX_SCANNED => cursor = Some(c),
            Some(_) => {
                out.exact = false;
                return Ok(out);
            }
            None => return Ok(out),
        }
    }
}

/// What sending `messages` messages of `category` would use.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// Messages left in the plan's month (None: no limit).
    pub quota_left: Option<u64>,
    /// With prepaid credits: the cost at the category's price, and the balance.
    pub credits: Option<(Money, Money)>,
}

pub async fn budget(
    ports: &Ports,
    prices: &PriceTable,
    tenant_id: &str,
    category: &str,
    messages: u64,
) -> Result<Budget, Error> {
    let quota_left = match limits::monthly_message_limit(&*ports.table, tenant_id).await? {
        Some(limit) => {
            let tenant = tenants::get(ports, tenant_id).await?;
            let used = usage::messages_sent(ports, tenant_id, tenant.starts_at).await?;
            Some(limit.saturating_sub(used))
        }
        None => None,
    };
    let credits = if ports.table.get(&keys::balance(tenant_id)).await?.is_some() {
        let price = prices.price(category);
        let cost = Money::from_units(price.units().saturating_mul(i64::try_from(messages).unwrap_or(i64::MAX)));
        Some((cost, crate::domain::billing::balance(ports, tenant_id).await?))
    } else {
        None
    };
    Ok(Budget { quota_left, credits })
}
