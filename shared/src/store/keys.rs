//! Every key and index value of the single table, in one place. `docs/data-model.md` lists the
//! access patterns these serve; a new entity adds its keys here, never inline in a repository.
//!
//! Conventions: `ENTITY#<id>` partitions; each entity in its own partition (spreads load, no
//! hot tenant partition); lists per tenant go through GSI1 (`T#<tenant>#<KIND>` → ULID, so newest
//! last); lookups by an external id through GSI2; uniqueness through extra `UNIQUE#…` items
//! written with `attribute_not_exists` in the same transaction as the entity.

use crate::ports::table::{Index, Key};

/// GSI1: per-tenant lists (and platform-wide lists for the super admin).
pub const LISTS: Index = Index::Gsi1;
/// GSI2: lookups by an identifier that is not ours (wamid, Meta template id).
pub const LOOKUPS: Index = Index::Gsi2;
/// GSI3: secondary lists (a conversation's messages).
pub const SECONDARY: Index = Index::Gsi3;

// --- platform ------------------------------------------------------------------------------

pub fn plan(plan_id: &str) -> Key {
    Key::new(format!("PLAN#{plan_id}"), "PLAN")
}
pub const PLANS_LIST: &str = "PLANS";

pub fn tenant(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "TENANT")
}
pub const TENANTS_LIST: &str = "TENANTS";

/// The tenant's current subscription (one per tenant), beside the tenant in its partition.
pub fn subscription(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "SUBSCRIPTION")
}

pub fn unique_slug(slug: &str) -> Key {
    Key::new(format!("UNIQUE#SLUG#{slug}"), "UNIQUE")
}

// --- users and auth --------------------------------------------------------------------------

pub fn user(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "USER")
}

/// Uniqueness of an email across the platform, and the login lookup (holds the user id).
/// Emails are compared case-insensitively: the key uses the lower-cased address.
pub fn user_email(email: &str) -> Key {
    Key::new(format!("UNIQUE#EMAIL#{}", email.to_lowercase()), "UNIQUE")
}

pub fn tenant_users_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#USERS")
}

/// Failed-login counter for one email, with a TTL window.
pub fn login_failures(email: &str) -> Key {
    Key::new(format!("LOGINFAIL#{}", email.to_lowercase()), "LOGINFAIL")
}

// --- idempotency -----------------------------------------------------------------------------

/// An `Idempotency-Key` record, scoped to the caller (user or API key) and route.
pub fn idempotency(scope: &str, key: &str) -> Key {
    Key::new(format!("IDEMP#{scope}#{key}"), "IDEMP")
}

// --- WhatsApp connection and webhook routing ---------------------------------------------------

pub fn whatsapp_account(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "WHATSAPP")
}
/// Routes webhooks by `metadata.phone_number_id`; unique: one tenant per number.
pub fn phone_route(phone_number_id: &str) -> Key {
    Key::new(format!("ROUTE#PHONE#{phone_number_id}"), "ROUTE")
}
/// Routes account-level webhooks by `entry.id` (the WABA id).
pub fn waba_route(waba_id: &str) -> Key {
    Key::new(format!("ROUTE#WABA#{waba_id}"), "ROUTE")
}

// --- templates -----------------------------------------------------------------------------

pub fn template(tenant_id: &str, template_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#TEMPLATE#{template_id}"), "TEMPLATE")
}
pub fn templates_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#TEMPLATES")
}
pub fn unique_template_name(tenant_id: &str, name: &str, language: &str) -> Key {
    Key::new(format!("UNIQUE#T#{tenant_id}#TEMPLATE#{name}#{language}"), "UNIQUE")
}
pub fn meta_template_lookup(meta_template_id: &str) -> String {
    format!("METATEMPLATE#{meta_template_id}")
}
pub fn library_template(template_id: &str) -> Key {
    Key::new(format!("LIBRARY#{template_id}"), "LIBRARY")
}
pub const LIBRARY_LIST: &str = "LIBRARY";

// --- contacts ------------------------------------------------------------------------------

pub fn contact(tenant_id: &str, contact_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CONTACT#{contact_id}"), "CONTACT")
}
pub fn contacts_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CONTACTS")
}
/// The tenant's exact contact count (`count`), beside the tenant in its partition; changed in
/// the same transaction as every contact creation and deletion, so the plan's `contact_limit`
/// is a condition on it.
pub fn contact_count(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "CONTACT_COUNT")
}
/// Uniqueness per tenant by E.164 phone; holds the contact id.
pub fn contact_phone(tenant_id: &str, e164: &str) -> Key {
    Key::new(format!("UNIQUE#T#{tenant_id}#PHONE#{e164}"), "UNIQUE")
}
/// Uniqueness per tenant by WhatsApp user id (username-only users have no phone).
pub fn contact_wa_user(tenant_id: &str, wa_user_id: &str) -> Key {
    Key::new(format!("UNIQUE#T#{tenant_id}#WAUSER#{wa_user_id}"), "UNIQUE")
}

// --- messages, conversations, campaigns ------------------------------------------------------

pub fn message(tenant_id: &str, message_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#MSG#{message_id}"), "MSG")
}
pub fn messages_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#MSGS")
}
pub fn wamid_lookup(wamid: &str) -> String {
    format!("WAMID#{wamid}")
}
pub fn conversation(tenant_id: &str, conversation_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CONV#{conversation_id}"), "CONV")
}
pub fn conversations_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CONVS")
}
pub fn conversation_messages(tenant_id: &str, conversation_id: &str) -> String {
    format!("T#{tenant_id}#CONV#{conversation_id}#MSGS")
}
pub fn campaign(tenant_id: &str, campaign_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CAMPAIGN#{campaign_id}"), "CAMPAIGN")
}
pub fn campaigns_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CAMPAIGNS")
}
/// One item per campaign recipient: the fan-out's "never twice" guard and the per-recipient row.
pub fn campaign_recipient(tenant_id: &str, campaign_id: &str, contact_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CAMPAIGN#{campaign_id}"), format!("RCPT#{contact_id}"))
}

// --- API keys, billing, webhooks ----------------------------------------------------------------

/// API keys are looked up by the SHA-256 of the key: a direct get, no index.
pub fn api_key_by_hash(key_hash_hex: &str) -> Key {
    Key::new(format!("APIKEY#{key_hash_hex}"), "APIKEY")
}
pub fn api_keys_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#APIKEYS")
}
pub fn ledger_entries(tenant_id: &str) -> String {
    format!("T#{tenant_id}#LEDGER")
}
pub fn ledger_entry(tenant_id: &str, entry_id: &str) -> Key {
    Key::new(ledger_entries(tenant_id), format!("ENTRY#{entry_id}"))
}
pub fn balance(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "BALANCE")
}
/// A claim-checked webhook body too big for a queue message, in chunks.
pub fn raw_webhook_chunk(event_id: &str, chunk: usize) -> Key {
    Key::new(format!("WEBHOOK#{event_id}"), format!("RAW#{chunk:03}"))
}
/// A processed webhook change, keyed by its derived event key: the processor's dedup record.
pub fn webhook_processed(event_key: &str) -> Key {
    Key::new(format!("WEBHOOKDONE#{event_key}"), "DONE")
}
