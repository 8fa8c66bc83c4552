//! The audit log (SPEC → Audit log): who did what to which thing, from where, with the fields
//! that changed — for every security- or money-relevant action.
//!
//! - A [`Context`] is built once per request by the edge that serves it (the actor from the
//!   request's principal, its client address, `User-Agent` and request id; [`Context::system`]
//!   for workers) and passed to [`record`] with what was done.
//! - Entries are append-only and expire after [`RETENTION_DAYS`] (the table's TTL).
//! - An entry never holds a secret: [`Changes`] only takes fields the caller names, and
//!   [`SECRET_FIELDS`] are refused even then (a password, a token, a key, a callback secret).
//! - An entry is written right after its action succeeded. Its id is a ULID whose random part can
//!   be derived from a stable key of the action ([`Entry::dedup`]), so recording the same action
//!   again (a redelivered event) writes nothing new.
//!
//! Storage and the read side are `store::audit` (sharded partitions, merged newest first).

pub mod model;

use chrono::{DateTime, Duration};
use serde_json::Value;

use crate::domain::money::Money;
use crate::domain::user::{Role, User};

use crate::domain::{
    Error, api_keys, billing, callbacks, campaigns, contacts, members, plans, templates, tenants, whatsapp,
};
use crate::ports::Ports;
use crate::store::audit::AuditLog;
use crate::store::users::Users;
pub use model::{
    ACTIONS, Actor, ActorType, Changes, Entry, Filter, RETENTION_DAYS, SECRET_FIELDS, Scope, Target, id_bounds,
};

/// Who is acting and from where: built once per request (or job) and handed to [`record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub actor: Actor,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl Context {
    pub fn new(actor: Actor) -> Self {
        Self { actor, ip: None, user_agent: None, request_id: None }
    }
    pub fn system() -> Self {
        Self::new(Actor::system())
    }
    /// The same request, now acting as `actor` (a sign-in once the user is known).
    pub fn as_actor(&self, actor: Actor) -> Self {
        Self { actor, ..self.clone() }
    }

    /// A new entry for `action` on `target`, in `tenant_id`'s log (none: the platform's).
    pub fn entry(&self, ports: &Ports, tenant_id: Option<&str>, action: &str, target: Target) -> Entry {
        debug_assert!(ACTIONS.contains(&action), "unlisted audit action {action}");
        // The id's time is the entry's `at` (to the millisecond), so the `from`/`to` filters, which
        // are ranges of ids, are exact on `at`.
        let at = ports.clock.now();
        let at = DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at);
        Entry {
            id: model::new_id(at),
            at,
            tenant_id: tenant_id.map(str::to_owned),
            actor: self.actor.clone(),
            action: action.to_owned(),
            target,
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            request_id: self.request_id.clone(),
            changes: Changes::default(),
        }
    }

    /// Records `action` by `user` on their own account (a sign-out, a password change or reset).
    pub async fn own_account(&self, ports: &Ports, user: &User, action: &str) -> Result<(), Error> {
        let ctx = self.as_actor(Actor::user(user));
        let target = Target::new("user", &user.id);
        ctx.record(ports, user.tenant_id.as_deref(), action, target, Changes::default()).await
    }

    /// [`Self::record`], a failure logged ([`logged`]).
    pub async fn record_or_log(
        &self,
        ports: &Ports,
        tenant_id: Option<&str>,
        action: &str,
        target: Target,
        changes: Changes,
    ) {
        logged(self.record(ports, tenant_id, action, target, changes).await);
    }

    /// Records `action` on `target` (with `changes`) in `tenant_id`'s log.
    pub async fn record(
        &self,
        ports: &Ports,
        tenant_id: Option<&str>,
        action: &str,
        target: Target,
        changes: Changes,
    ) -> Result<(), Error> {
        record(ports, self.entry(ports, tenant_id, action, target).changes(changes)).await
    }
}

/// Records a sign-in attempt's outcome: `auth.sign_in` by the user, or `auth.sign_in_failed`
/// for wrong credentials or a deactivated account (in the account's tenant's log when the email
/// has an account; the platform's otherwise, with the email tried). A throttled attempt is not
/// recorded (the throttle counts it; recording it would let anyone fill the log).
pub async fn sign_in(
    ports: &Ports,
    ctx: &Context,
    email: &str,
    outcome: Result<&crate::domain::user::UserView, &Error>,
) -> Result<(), Error> {
    use crate::domain::Kind;
    match outcome {
        Ok(user) => {
            let actor = Actor {
                kind: if user.role == Role::SuperAdmin { ActorType::SuperAdmin } else { ActorType::User },
                id: Some(user.id.clone()),
                name: Some(user.name.clone()),
                email: Some(user.email.clone()),
                key_prefix: None,
            };
            let target = Target::new("user", user.id.clone());
            ctx.as_actor(actor)
                .record(ports, user.tenant_id.as_deref(), "auth.sign_in", target, Changes::default())
                .await
        }
        Err(e) if matches!(e.kind, Kind::Unauthenticated | Kind::Forbidden) => {
            let known = match crate::domain::user::normalize_email(email) {
                Some(e) => crate::store::users::Users::new(&*ports.table).find_by_email(&e).await?,
                None => None,
            };
            let tried: String = email.trim().chars().filter(|c| !c.is_control()).take(254).collect();
            let (actor, tenant, target) = match &known {
                Some(u) => (Actor::user(u), u.tenant_id.as_deref(), Target::new("user", u.id.clone())),
                None => (Actor::anonymous(Some(&tried)), None, Target { kind: "user".into(), id: None }),
            };
            ctx.as_actor(actor).record(ports, tenant, "auth.sign_in_failed", target, Changes::default()).await
        }
        Err(_) => Ok(()),
    }
}

/// Records what an `account_update` from Meta did to a tenant's connection (the `system` actor):
/// `whatsapp.banned`, `whatsapp.reinstated` or `whatsapp.disconnected`. `event_key` (the
/// webhook event's dedup key) and Meta's `at` (epoch seconds, when within the last 8 days: the
/// processor's dedup window) make the entry's id, so a redelivered event is one entry.
pub async fn connection_changed_by_meta(
    ports: &Ports,
    tenant_id: &str,
    event_key: &str,
    meta_event: &str,
    at: Option<i64>,
    effect: &crate::domain::whatsapp::account_events::Effect,
) -> Result<(), Error> {
    use crate::domain::whatsapp::account_events::Effect;
    use crate::domain::whatsapp::connection::ConnectionStatus;
    let Effect::Status(status) = effect else { return Ok(()) };
    let action = match status {
        ConnectionStatus::Banned => "whatsapp.banned",
        ConnectionStatus::Connected => "whatsapp.reinstated",
        ConnectionStatus::Disconnected => "whatsapp.disconnected",
        _ => return Ok(()),
    };
    // Meta's time, when it is recent (a redelivery comes within days); an event stamped long ago
    // or in the future is recorded at its arrival.
    let now = ports.clock.now();
    let at = at
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .filter(|at| *at <= now && now - *at < Duration::days(8))
        .unwrap_or(now);
    let ctx = Context::system();
    let changes = Changes::default().set("status", status).set("meta_event", meta_event);
    let entry = ctx.entry(ports, Some(tenant_id), action, Target::new("whatsapp", tenant_id)).changes(changes);
    record(ports, entry.dedup(event_key, at)).await
}

/// For an edge that answers whatever the log does (the console, whose action is done): a failure
/// to record is logged as an error.
pub fn logged(result: Result<(), Error>) {
    if let Err(e) = result {
        tracing::error!(error = %e, "audit entry not recorded");
    }
}

/// Appends `entry`; an entry with the same id already there (the same action recorded again) is
/// left as it is.
pub async fn record(ports: &Ports, entry: Entry) -> Result<(), Error> {
    AuditLog::new(&*ports.table).append(&entry).await?;
    Ok(())
}

/// A page of entries, newest first; `before` is the previous page's last id.
pub async fn list(
    ports: &Ports,
    scope: Scope<'_>,
    filter: &Filter,
    limit: usize,
    before: Option<String>,
) -> Result<(Vec<Entry>, Option<String>), Error> {
    AuditLog::new(&*ports.table).list(scope, filter, limit, before).await.map_err(crate::domain::error::list_error)
}

/// Checks a list's filters: a known action, `from` not after `to`.
pub fn validate(filter: &Filter) -> Result<(), Error> {
    let mut details = Vec::new();
    if let Some(a) = &filter.action
        && !ACTIONS.contains(&a.as_str())
    {
        details.push(crate::domain::FieldError::new(
            "action",
            "invalid",
            "not an audited action (see the API documentation)",
        ));
    }
    if let Some(id) = &filter.actor_id
        && (id.is_empty() || id.len() > 100 || id.chars().any(char::is_control))
    {
        details.push(crate::domain::FieldError::new("actor_id", "invalid", "an actor id (`usr_…`, `key_…`, `system`)"));
    }
    if let (Some(f), Some(t)) = (filter.from, filter.to)
        && f > t
    {
        details.push(crate::domain::FieldError::new("from", "after_to", "must not be after `to`"));
    }
    if details.is_empty() { Ok(()) } else { Err(Error::validation(details)) }
}

// --- recorded use cases ---------------------------------------------------------------------------
// The use cases both edges (the API and the console) call, with their entry: one place decides
// what each entry says.

/// `members::invite`, recorded (`member.invited`).
pub async fn invite_member(
    ports: &Ports,
    ctx: &Context,
    public_url: &str,
    tenant_id: &str,
    input: members::InviteInput,
) -> Result<members::MemberView, Error> {
    let m = members::invite(ports, public_url, tenant_id, input).await?;
    let changes = Changes::default().set("email", &m.email).set("name", &m.name).set("role", m.role);
    ctx.record(ports, Some(tenant_id), "member.invited", Target::new("member", &m.id), changes).await?;
    Ok(m)
}

/// `members::patch`, recorded (`member.changed`, with the role, status or name before and after).
pub async fn patch_member(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    member_id: &str,
    patch: members::MemberPatch,
) -> Result<members::MemberView, Error> {
    let before = Users::new(&*ports.table).get(member_id).await?;
    let after = members::patch(ports, tenant_id, member_id, patch).await?;
    let changes = Changes::diff(&before, &after, &["role", "status", "name"]);
    ctx.record(ports, Some(tenant_id), "member.changed", Target::new("member", member_id), changes).await?;
    Ok(after)
}

/// `members::remove`, recorded (`member.removed`).
pub async fn remove_member(ports: &Ports, ctx: &Context, tenant_id: &str, member_id: &str) -> Result<(), Error> {
    members::remove(ports, tenant_id, member_id).await?;
    ctx.record(ports, Some(tenant_id), "member.removed", Target::new("member", member_id), Changes::default()).await
}

/// `api_keys::create`, recorded (`api_key.created`: its name and visible prefix, never the key).
pub async fn create_api_key(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    input: api_keys::CreateInput,
) -> Result<api_keys::CreatedApiKey, Error> {
    let created = api_keys::create(ports, tenant_id, input).await?;
    let changes = Changes::default().set("name", &created.name).set("prefix", &created.prefix);
    ctx.record(ports, Some(tenant_id), "api_key.created", Target::new("api_key", &created.id), changes).await?;
    Ok(created)
}

/// `api_keys::revoke`, recorded (`api_key.revoked`) when there was such a key.
pub async fn revoke_api_key(ports: &Ports, ctx: &Context, tenant_id: &str, key_id: &str) -> Result<bool, Error> {
    let revoked = api_keys::revoke(ports, tenant_id, key_id).await?;
    if revoked {
        let target = Target::new("api_key", key_id);
        ctx.record(ports, Some(tenant_id), "api_key.revoked", target, Changes::default()).await?;
    }
    Ok(revoked)
}

/// `billing::change_credits`, recorded in the tenant's log (`credits.added` for a top-up,
/// `credits.corrected` for a correction; the balance before and after).
pub async fn change_credits(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    input: billing::CreditInput,
) -> Result<billing::LedgerEntry, Error> {
    let entry = billing::change_credits(ports, tenant_id, input).await?;
    let before = Money::from_units(entry.balance_after.units() - entry.signed_amount().units());
    let action = if entry.kind == billing::EntryKind::Credit { "credits.added" } else { "credits.corrected" };
    let changes =
        Changes::default().field("balance", before, entry.balance_after).set("description", &entry.description);
    ctx.record(ports, Some(tenant_id), action, Target::new("ledger_entry", &entry.id), changes).await?;
    Ok(entry)
}

/// `tenants::provision`, recorded in the new tenant's log (`tenant.created`).
pub async fn provision_tenant(
    ports: &Ports,
    ctx: &Context,
    public_url: &str,
    input: tenants::ProvisionInput,
) -> Result<tenants::Provisioned, Error> {
    let done = tenants::provision(ports, public_url, input).await?;
    let (t, admin) = (&done.tenant, &done.admin_user);
    let changes = Changes::default()
        .set("name", &t.name)
        .set("slug", &t.slug)
        .set("plan_id", &t.plan_id)
        .set("admin_email", &admin.email);
    ctx.record(ports, Some(&t.id), "tenant.created", Target::new("tenant", &t.id), changes).await?;
    Ok(done)
}

/// `tenants::resend_welcome`, recorded in the tenant's log (`tenant.welcome_resent`, the admin
/// as its target; never the new one-time password).
pub async fn resend_welcome(
    ports: &Ports,
    ctx: &Context,
    public_url: &str,
    tenant_id: &str,
) -> Result<tenants::AdminUserRef, Error> {
    let admin = tenants::resend_welcome(ports, public_url, tenant_id).await?;
    let target = Target::new("user", &admin.id);
    ctx.record(ports, Some(tenant_id), "tenant.welcome_resent", target, Changes::default()).await?;
    Ok(admin)
}

/// `tenants::patch`, recorded in the tenant's log: `tenant.suspended` / `tenant.reactivated` for a
/// status change, `tenant.changed` for its plan or end date.
pub async fn patch_tenant(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    patch: tenants::TenantPatch,
) -> Result<tenants::model::Tenant, Error> {
    let before = tenants::get(ports, tenant_id).await?;
    let after = tenants::patch(ports, tenant_id, patch).await?;
    let target = || Target::new("tenant", &after.id);
    let status = Changes::diff(&before, &after, &["status"]);
    if let Some((_, now)) = status.0.get("status") {
        let action = if now == "suspended" { "tenant.suspended" } else { "tenant.reactivated" };
        ctx.record(ports, Some(&after.id), action, target(), status).await?;
    }
    let other = Changes::diff(&before, &after, &["plan_id", "ends_at", "name"]);
    if !other.is_empty() {
        ctx.record(ports, Some(&after.id), "tenant.changed", target(), other).await?;
    }
    Ok(after)
}

/// `templates::create`, recorded (`template.created`).
pub async fn create_template(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    input: templates::model::TemplateInput,
) -> Result<templates::model::Template, Error> {
    let t = templates::create(ports, tenant_id, input).await?;
    let changes = Changes::diff(&Value::Null, &t, &["name", "language", "category"]);
    ctx.record(ports, Some(tenant_id), "template.created", Target::new("template", &t.id), changes).await?;
    Ok(t)
}

/// `templates::edit`, recorded (`template.edited`, with the category, components and status
/// before and after).
pub async fn edit_template(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    id: &str,
    input: templates::model::TemplateEditInput,
) -> Result<templates::model::Template, Error> {
    let before = templates::get(ports, tenant_id, id).await?;
    let after = templates::edit(ports, tenant_id, id, input).await?;
    let changes = Changes::diff(&before, &after, &["category", "components", "status"]);
    ctx.record(ports, Some(tenant_id), "template.edited", Target::new("template", id), changes).await?;
    Ok(after)
}

/// `templates::delete`, recorded (`template.deleted`).
pub async fn delete_template(ports: &Ports, ctx: &Context, tenant_id: &str, id: &str) -> Result<(), Error> {
    templates::delete(ports, tenant_id, id).await?;
    ctx.record(ports, Some(tenant_id), "template.deleted", Target::new("template", id), Changes::default()).await
}

/// `contacts::import::import`, recorded (`contacts.imported`, with the counts).
pub async fn import_contacts(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    format: contacts::import::Format,
    body: bytes::Bytes,
) -> Result<contacts::import::ImportReport, Error> {
    let report = contacts::import::import(ports, tenant_id, format, body).await?;
    let changes = Changes::diff(&Value::Null, &report, &["imported", "updated"]);
    ctx.record(ports, Some(tenant_id), "contacts.imported", Target::new("contacts", tenant_id), changes).await?;
    Ok(report)
}

/// `contacts::service::delete`, recorded (`contact.deleted`).
pub async fn delete_contact(ports: &Ports, ctx: &Context, tenant_id: &str, id: &str) -> Result<(), Error> {
    contacts::service::delete(ports, tenant_id, id).await?;
    ctx.record(ports, Some(tenant_id), "contact.deleted", Target::new("contact", id), Changes::default()).await
}

/// `campaigns::create::create`, recorded (`campaign.created`).
pub async fn create_campaign(
    ports: &Ports,
    ctx: &Context,
    prices: &crate::domain::sending::prices::PriceTable,
    tenant_id: &str,
    input: campaigns::create::CreateInput,
) -> Result<campaigns::Campaign, Error> {
    let c = campaigns::create::create(ports, prices, tenant_id, input).await?;
    let changes = Changes::default().set("name", &c.name).set("status", c.status);
    ctx.record(ports, Some(tenant_id), "campaign.created", Target::new("campaign", &c.id), changes).await?;
    Ok(c)
}

/// `campaigns::cancel::cancel`, recorded (`campaign.cancelled`).
pub async fn cancel_campaign(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    id: &str,
) -> Result<campaigns::Campaign, Error> {
    let c = campaigns::cancel::cancel(ports, tenant_id, id).await?;
    let changes = Changes::default().set("status", c.status);
    ctx.record(ports, Some(tenant_id), "campaign.cancelled", Target::new("campaign", id), changes).await?;
    Ok(c)
}

/// `campaigns::retry::retry_failed`, recorded on the original campaign (`campaign.retried`, with
/// the new campaign that retries it).
pub async fn retry_failed_campaign(
    ports: &Ports,
    ctx: &Context,
    prices: &crate::domain::sending::prices::PriceTable,
    tenant_id: &str,
    id: &str,
) -> Result<campaigns::Campaign, Error> {
    let retry = campaigns::retry::retry_failed(ports, prices, tenant_id, id).await?;
    let changes = Changes::default().set("retry_campaign_id", &retry.id);
    ctx.record(ports, Some(tenant_id), "campaign.retried", Target::new("campaign", id), changes).await?;
    Ok(retry)
}

/// `whatsapp::connect::connect`, recorded (`whatsapp.connected`, with the status reached and the
/// WABA and number).
pub async fn connect_whatsapp(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    req: whatsapp::connect::ConnectRequest,
) -> Result<whatsapp::connection::ConnectionView, Error> {
    let view = whatsapp::connect::connect(ports, tenant_id, req).await?;
    let fields = ["status", "waba_id", "phone_number_id", "display_phone_number"];
    let changes = Changes::diff(&Value::Null, &view, &fields);
    ctx.record(ports, Some(tenant_id), "whatsapp.connected", Target::new("whatsapp", tenant_id), changes).await?;
    Ok(view)
}

/// `whatsapp::connect::disconnect`, recorded (`whatsapp.disconnected`).
pub async fn disconnect_whatsapp(ports: &Ports, ctx: &Context, tenant_id: &str) -> Result<(), Error> {
    whatsapp::connect::disconnect(ports, tenant_id).await?;
    let target = Target::new("whatsapp", tenant_id);
    ctx.record(ports, Some(tenant_id), "whatsapp.disconnected", target, Changes::default()).await
}

/// `tenants::settings::patch`, recorded (`tenant.settings_changed`, every field that changed).
pub async fn patch_settings(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    patch: tenants::settings::SettingsPatch,
) -> Result<tenants::TenantSettings, Error> {
    let before = tenants::settings::get(ports, tenant_id).await?;
    let after = tenants::settings::patch(ports, tenant_id, patch).await?;
    let changes = Changes::diff_all(&before, &after);
    let target = Target::new("tenant", tenant_id);
    ctx.record(ports, Some(tenant_id), "tenant.settings_changed", target, changes).await?;
    Ok(after)
}

/// `callbacks::settings::put`, recorded (`callback.settings_changed`: the URL before and after,
/// never the secret).
pub async fn put_callback(
    ports: &Ports,
    ctx: &Context,
    tenant_id: &str,
    input: callbacks::settings::CallbackInput,
    allow_private: bool,
) -> Result<callbacks::settings::CallbackView, Error> {
    let before = callbacks::settings::get(ports, tenant_id).await?.map(|s| s.view.url);
    let view = callbacks::settings::put(ports, tenant_id, input, allow_private).await?;
    let changes = Changes::default().field("url", before, &view.url);
    let target = Target::new("callback", tenant_id);
    ctx.record(ports, Some(tenant_id), "callback.settings_changed", target, changes).await?;
    Ok(view)
}

/// `callbacks::settings::delete`, recorded when there was a callback.
pub async fn delete_callback(ports: &Ports, ctx: &Context, tenant_id: &str) -> Result<bool, Error> {
    let before = callbacks::settings::get(ports, tenant_id).await?.map(|s| s.view.url);
    let deleted = callbacks::settings::delete(ports, tenant_id).await?;
    if deleted {
        let changes = Changes::default().field("url", before, None::<String>);
        let target = Target::new("callback", tenant_id);
        ctx.record(ports, Some(tenant_id), "callback.settings_changed", target, changes).await?;
    }
    Ok(deleted)
}

/// `plans::create`, recorded in the platform's log (`plan.created`, every field).
pub async fn create_plan(ports: &Ports, ctx: &Context, input: plans::PlanInput) -> Result<plans::Plan, Error> {
    let plan = plans::create(ports, input).await?;
    let changes = Changes::diff_all(&Value::Null, &plan);
    ctx.record(ports, None, "plan.created", Target::new("plan", &plan.id), changes).await?;
    Ok(plan)
}

/// `plans::update`, recorded in the platform's log (`plan.changed`, the fields that changed).
pub async fn update_plan(
    ports: &Ports,
    ctx: &Context,
    plan_id: &str,
    input: plans::PlanInput,
) -> Result<plans::Plan, Error> {
    let before = plans::get(ports, plan_id).await?;
    let after = plans::update(ports, plan_id, input).await?;
    let changes = Changes::diff_all(&before, &after);
    ctx.record(ports, None, "plan.changed", Target::new("plan", plan_id), changes).await?;
    Ok(after)
}

/// `plans::delete`, recorded in the platform's log (`plan.deleted`).
pub async fn delete_plan(ports: &Ports, ctx: &Context, plan_id: &str) -> Result<(), Error> {
    plans::delete(ports, plan_id).await?;
    ctx.record(ports, None, "plan.deleted", Target::new("plan", plan_id), Changes::default()).await
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn filters_are_checked() {
        assert!(validate(&Filter { action: Some("member.invited".into()), ..Filter::default() }).is_ok());
        let at = Utc::now();
        let bad = Filter {
            action: Some("nope".into()),
            actor_id: Some(String::new()),
            from: Some(at),
            to: Some(at - Duration::seconds(1)),
        };
        let fields: Vec<_> = validate(&bad).unwrap_err().details.into_iter().map(|d| d.field).collect();
        assert_eq!(fields, vec!["action", "actor_id", "from"]);
    }
}
