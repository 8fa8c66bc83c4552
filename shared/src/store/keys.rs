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
/// The tenant's settings, beside the tenant item.
pub fn tenant_settings(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "SETTINGS")
}

// The tenant's current subscription (plan, starts_at, ends_at) lives on the tenant item itself:
// the auth middleware and the send worker read one item to decide, and a plan change is one
// item update in the same transaction as the plans' `tenant_count` counters.

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

/// The tenant's seat counter: `active` members and `active_admins`. Every change to a member's
/// role or status is a transaction with it, so the plan's `seat_limit` and "a tenant keeps an
/// active admin" hold exactly under concurrency. Written at provisioning (or, for a tenant made
/// before members existed, counted from its users on first use).
pub fn tenant_seats(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "SEATS")
}

/// A sign-in session (the `sid` of its token): user, expiry (TTL = the token's `exp`). Deleting
/// it ends the session; the auth layer reads it on every request.
pub fn session(session_id: &str) -> Key {
    Key::new(format!("SESSION#{session_id}"), "SESSION")
}
/// GSI1: a user's sessions (to end them all at once), by session id.
pub fn user_sessions_list(user_id: &str) -> String {
    format!("USER#{user_id}#SESSIONS")
}

/// Login attempts for one (email, client address) pair: `attempts`, `blocked_until` (TTL window).
pub fn login_attempts(email: &str, client: &str) -> Key {
    Key::new(format!("LOGINFAIL#{}#{client}", email.to_lowercase()), "LOGINFAIL")
}
/// Failed logins from one client address across all emails, in one fixed window.
pub fn login_address_window(client: &str, window: i64) -> Key {
    Key::new(format!("LOGINADDR#{client}#{window}"), "LOGINADDR")
}

/// A password reset token, by the SHA-256 of the token (the token itself is only in the email).
pub fn password_reset(token_hash_hex: &str) -> Key {
    Key::new(format!("PWRESET#{token_hash_hex}"), "PWRESET")
}
/// "A reset email went to this user recently" (TTL: the cooldown).
pub fn password_reset_cooldown(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "PWRESET_COOLDOWN")
}

/// "This email was handed to the mailer": the mail consumer's dedup record (TTL 7 days).
pub fn mail_sent(mail_id: &str) -> Key {
    Key::new(format!("MAILSENT#{mail_id}"), "MAILSENT")
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
/// GSI3: a tenant's templates with one name, by language (the external API's "language
/// optional" lookup).
pub fn template_languages(tenant_id: &str, name: &str) -> String {
    format!("T#{tenant_id}#TPLNAME#{name}")
}
pub fn unique_template_name(tenant_id: &str, name: &str, language: &str) -> Key {
    Key::new(format!("UNIQUE#T#{tenant_id}#TEMPLATE#{name}#{language}"), "UNIQUE")
}
pub fn meta_template_lookup(meta_template_id: &str) -> String {
    format!("METATEMPLATE#{meta_template_id}")
}
/// The tenant's template count, `ADD`ed in the transactions that create and delete templates
/// (the plan's `template_limit` is a condition on it).
pub fn template_count(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "COUNT#TEMPLATES")
}
pub fn library_template(template_id: &str) -> Key {
    Key::new(format!("LIBRARY#{template_id}"), "LIBRARY")
}
pub const LIBRARY_LIST: &str = "LIBRARY";
/// Uniqueness of a library template's name+language; holds the library template id.
pub fn unique_library_template(name: &str, language: &str) -> Key {
    Key::new(format!("UNIQUE#LIBRARY#{name}#{language}"), "UNIQUE")
}

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
/// The tags the tenant's contacts carry (one item per tag, sort key `TAG#<tag>`, so they list
/// alphabetically): the filter chips and the campaign audience's tag list read one small
/// partition instead of scanning contacts. Written idempotently after a contact write adds a tag.
pub fn contact_tags(tenant_id: &str) -> String {
    format!("T#{tenant_id}#TAGS")
}
pub fn contact_tag(tenant_id: &str, tag: &str) -> Key {
    Key::new(contact_tags(tenant_id), format!("{CONTACT_TAG_PREFIX}{tag}"))
}
pub const CONTACT_TAG_PREFIX: &str = "TAG#";
/// Beside the tags (outside their prefix): the list was filled from contacts older than it.
pub fn contact_tags_filled(tenant_id: &str) -> Key {
    Key::new(contact_tags(tenant_id), "FILLED")
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
/// GSI1: the tenant's messages (sort key: the message id), spread over [`MESSAGE_LIST_SHARDS`]
/// index partitions by a hash of the id. Every write of the message item (creation, claim, wamid,
/// each status, the hand-off and refund marks: ~9 per sent message, `infra/bench.sh hotkeys`)
/// rewrites its index entry: at 1,000 msg/s one partition would take ~9,000 writes/s; over 16,
/// ~560. Read newest first by merging the shards (`store::shards`).
pub const MESSAGE_LIST_SHARDS: u64 = 16;
pub fn messages_list(tenant_id: &str, shard: u64) -> String {
    format!("T#{tenant_id}#MSGS#{shard}")
}
/// The list partition of one message.
pub fn messages_list_of(tenant_id: &str, message_id: &str) -> String {
    messages_list(tenant_id, shard_of(message_id, MESSAGE_LIST_SHARDS))
}
/// The one unsharded partition messages written before the sharding are still in (read as one
/// more shard of the merge; they move only if rewritten by a migration, see docs/data-model.md).
pub fn messages_list_unsharded(tenant_id: &str) -> String {
    format!("T#{tenant_id}#MSGS")
}
/// A status that arrived before its message was known by wamid, one item per status.
pub fn parked_status(tenant_id: &str, wamid: &str, status: &str) -> Key {
    Key::new(parked_statuses(tenant_id, wamid), status.to_string())
}
pub fn parked_statuses(tenant_id: &str, wamid: &str) -> String {
    format!("T#{tenant_id}#PARKED#{wamid}")
}
pub fn wamid_lookup(wamid: &str) -> String {
    format!("WAMID#{wamid}")
}
/// An inbound wamid already recorded (redelivered webhooks never create a second message).
pub fn unique_inbound_wamid(tenant_id: &str, wamid: &str) -> Key {
    Key::new(format!("UNIQUE#T#{tenant_id}#INWAMID#{wamid}"), "UNIQUE")
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
/// GSI2 of a conversation: the tenant's conversations in one status (`open` / `resolved`).
pub fn conversations_by_status(tenant_id: &str, status: &str) -> String {
    format!("T#{tenant_id}#CONVS#S#{status}")
}
/// GSI3 of a conversation: the tenant's conversations assigned to one member (`-`: unassigned).
pub fn conversations_by_assignee(tenant_id: &str, assignee: Option<&str>) -> String {
    format!("T#{tenant_id}#CONVS#A#{}", assignee.unwrap_or("-"))
}
/// Each conversation list above (all: GSI1, by status: GSI2, by assignee: GSI3) is spread over
/// [`CONVERSATION_LIST_SHARDS`] partitions, `<list>#<shard>` (shard = FNV(conversation id) % 8):
/// every outbound message and inbound one moves its conversation's sort key (a delete and a put
/// in each index), so at 1,000 msg/s to as many contacts one partition per list would take
/// ~2,000 writes/s; over 8, ~250. Read newest first by merging the shards (`store::shards`) and
/// the unsharded partition, where a conversation stays until its next write of that list.
pub const CONVERSATION_LIST_SHARDS: u64 = 8;
/// The partition of `conversation_id` in the list whose unsharded key is `list`.
pub fn conversation_list_shard(list: &str, conversation_id: &str) -> String {
    format!("{list}#{}", shard_of(conversation_id, CONVERSATION_LIST_SHARDS))
}
/// Every partition of the list whose unsharded key is `list`: its shards, then the unsharded one.
pub fn conversation_list_partitions(list: &str) -> Vec<String> {
    (0..CONVERSATION_LIST_SHARDS).map(|s| format!("{list}#{s}")).chain([list.to_owned()]).collect()
}
/// The sort key of a conversation in each of its lists (GSI1, GSI2, GSI3): its last activity
/// (epoch ms, 13 digits), then its id — a backward query is "latest activity first".
pub fn conversation_activity(at_ms: i64, conversation_id: &str) -> String {
    format!("{at_ms:013}#{conversation_id}")
}
/// A canned reply; listed per tenant (GSI1 by id); its shortcut unique per tenant.
pub fn canned_reply(tenant_id: &str, canned_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CANNED#{canned_id}"), "CANNED")
}
pub fn canned_replies_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CANNED")
}
/// Uniqueness of a canned reply's shortcut (lower-cased) per tenant; holds the reply's id.
pub fn unique_canned_shortcut(tenant_id: &str, shortcut: &str) -> Key {
    Key::new(format!("UNIQUE#T#{tenant_id}#CANNED#{}", shortcut.to_lowercase()), "UNIQUE")
}
pub fn campaign(tenant_id: &str, campaign_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CAMPAIGN#{campaign_id}"), "CAMPAIGN")
}
pub fn campaigns_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CAMPAIGNS")
}
/// A campaign's message for one contact has this id: the fan-out writes it with
/// `attribute_not_exists`, so redoing a page never creates anyone's message twice.
pub fn campaign_message_id(campaign_id: &str, contact_id: &str) -> String {
    let strip = |id: &str| id.split_once('_').map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| id.to_owned());
    format!("msg_{}_{}", strip(campaign_id), strip(contact_id))
}
/// Live status counters of a campaign, sharded over partitions (shard = hash of the message id),
/// summed on read: at 1,000 messages/s with ~3 transitions each, 16 shards keep every counter
/// item under 200 writes/s.
pub const CAMPAIGN_COUNTER_SHARDS: u64 = 16;
pub fn campaign_counter(tenant_id: &str, campaign_id: &str, shard: u64) -> Key {
    Key::new(format!("T#{tenant_id}#CAMPAIGN#{campaign_id}#COUNT#{shard}"), "COUNT")
}
/// GSI3 of a campaign's messages (for the cancel sweep), sharded like the counters so the
/// index partition of one big campaign is not written 1,000 times a second.
pub const CAMPAIGN_MESSAGE_SHARDS: u64 = 8;
pub fn campaign_messages(tenant_id: &str, campaign_id: &str, shard: u64) -> String {
    format!("T#{tenant_id}#CAMPAIGN#{campaign_id}#MSGS#{shard}")
}

// --- media -----------------------------------------------------------------------------------

/// A media item (an uploaded file, or a customer's fetched from Meta); the bytes are in the
/// storage port under `tenants/{tenant}/{inbound|outbound}/…`.
pub fn media(tenant_id: &str, media_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#MEDIA#{media_id}"), "MEDIA")
}

/// Meta's id for a media item uploaded from one phone number (`meta_media_id`), kept (TTL) a
/// little less than Meta keeps uploads, so each file is uploaded once per number.
pub fn media_meta_upload(tenant_id: &str, media_id: &str, phone_number_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#MEDIA#{media_id}"), format!("META#{phone_number_id}"))
}

// --- scheduling --------------------------------------------------------------------------------

/// GSI2 (`DUE`): scheduled messages and campaigns by due time, sharded so no index partition is
/// hot: `DUE#<shard>` / `<due epoch ms, 13 digits>#<PK>`. The item leaves the index (its GSI2
/// attributes removed) in the same conditional write that releases it.
pub const DUE: Index = Index::Gsi2;
pub const DUE_SHARDS: u64 = 8;
pub fn due_shard(shard: u64) -> String {
    format!("DUE#{shard}")
}
pub fn due_sort(due_ms: i64, pk: &str) -> String {
    format!("{due_ms:013}#{pk}")
}
/// Every due sort key at or before `now_ms` is below this bound.
pub fn due_bound(now_ms: i64) -> String {
    format!("{:013}", now_ms + 1)
}

// --- hand-offs, held sends, pending refunds (the reconciler's indexes) -------------------------

/// GSI2 (`HANDOFF`): work committed to the table whose queue job is not confirmed yet — a
/// one-off message `queued` and not yet claimed by the send worker, a campaign `running` (its
/// fan-out) or `cancelled` with sweep shards left. `HANDOFF#<shard>` / `<entered epoch ms, 13
/// digits>#<PK>`. The write that commits the work puts the item here; the write that confirms
/// its progress (the send claim, a fan-out checkpoint, the last sweep page) takes it out or
/// moves its time. Whatever stays longer than the reconciler's grace was stranded by a crash
/// between a commit and its queue hand-off, and is queued again (`domain::reconciler`).
/// Sparse and on GSI2 like the due index: an outbound message has no wamid (its other GSI2 use)
/// until Meta accepted it, and a campaign leaves the due index before it runs.
pub const HANDOFF: Index = Index::Gsi2;
pub const HANDOFF_SHARDS: u64 = 8;
pub fn handoff_shard(shard: u64) -> String {
    format!("HANDOFF#{shard}")
}
/// The index values placing the item with primary key `pk` in the hand-off index as of `at_ms`.
pub fn handoff(pk: &str, at_ms: i64) -> (String, String) {
    (handoff_shard(shard_of(pk, HANDOFF_SHARDS)), format!("{at_ms:013}#{pk}"))
}

/// GSI2 (`HELD`): messages of a tenant that may not send right now (suspended, subscription
/// ended, WhatsApp connection being changed), parked instead of being handed back to the queue
/// over and over. `HELD#<shard>` / `<tenant id>#<held epoch ms, 13 digits>#<PK>`: the tenant's
/// parked messages are one `begins_with` per shard (released on reactivation), and the tenants
/// with parked messages are found by skipping from tenant to tenant (the reconciler).
pub const HELD: Index = Index::Gsi2;
pub const HELD_SHARDS: u64 = 8;
pub fn held_shard(shard: u64) -> String {
    format!("HELD#{shard}")
}
pub fn held(tenant_id: &str, pk: &str, at_ms: i64) -> (String, String) {
    (held_shard(shard_of(pk, HELD_SHARDS)), format!("{tenant_id}#{at_ms:013}#{pk}"))
}
/// Every held sort key of `tenant_id` starts with this.
pub fn held_prefix(tenant_id: &str) -> String {
    format!("{tenant_id}#")
}
/// Sorts after every held sort key of `tenant_id` (`~` is above the digits that follow `#`) and
/// before the next tenant's.
pub fn held_after(tenant_id: &str) -> String {
    format!("{tenant_id}#~")
}

/// GSI2 (`REFUND`): messages that ended `failed` or `cancelled` by our decision and whose
/// refund is not confirmed yet. `REFUND#<shard>` / `<since epoch ms, 13 digits>#<PK>`; the refund
/// takes the message out. A crash or a ledger error in between leaves it here for the job's
/// redelivery or the reconciler.
pub const REFUND: Index = Index::Gsi2;
pub const REFUND_SHARDS: u64 = 8;
pub fn refund_shard(shard: u64) -> String {
    format!("REFUND#{shard}")
}
pub fn refund_pending(pk: &str, at_ms: i64) -> (String, String) {
    (refund_shard(shard_of(pk, REFUND_SHARDS)), format!("{at_ms:013}#{pk}"))
}
/// Index sort keys (of `HANDOFF` and `REFUND`) that entered before `ms` are below this.
pub fn entered_before(ms: i64) -> String {
    format!("{:013}", ms.max(0))
}

/// "This campaign is cancelled" (and the usage period its quota was counted in): written in the
/// same transaction as the campaign's `cancelled` status. The send worker reads this small item
/// before every campaign message it would send, instead of the campaign item (which can hold a
/// 1,000-id audience), so a cancelled campaign sends nothing more whatever happened to its sweep.
pub fn campaign_cancelled(tenant_id: &str, campaign_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#CAMPAIGN#{campaign_id}"), "CANCELLED")
}

/// A stable shard of `id` in `0..shards` (FNV-1a: the same on every process and platform).
pub fn shard_of(id: &str, shards: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h % shards
}

// --- API keys, billing, webhooks ----------------------------------------------------------------

/// API keys are looked up by the SHA-256 of the key: a direct get, no index.
pub fn api_key_by_hash(key_hash_hex: &str) -> Key {
    Key::new(format!("APIKEY#{key_hash_hex}"), "APIKEY")
}
pub fn api_keys_list(tenant_id: &str) -> String {
    format!("T#{tenant_id}#APIKEYS")
}
/// The tenant-scoped pointer to a key (holds its hash): revocation by id, and a foreign id is
/// simply not found under the caller's tenant.
pub fn api_key(tenant_id: &str, key_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#APIKEY#{key_id}"), "APIKEY")
}
/// The tenant's exact API key count, `ADD`ed in the transactions that create and revoke keys
/// (the plan's `api_key_limit` is a condition on it).
pub fn api_key_count(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "COUNT#APIKEYS")
}
/// The caller under which an API key's requests are counted (the `RateLimiter` port).
pub fn api_key_rate(key_id: &str) -> String {
    format!("APIKEY:{key_id}")
}

// --- outbound callbacks -----------------------------------------------------------------------

/// The tenant's callback settings (URL, sealed secret), beside the tenant in its partition.
pub fn callback_settings(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "CALLBACK")
}
/// One callback event's partition: its delivery attempts (`ATTEMPT#<n>`) and its outcome (`DONE`).
pub fn callback_event(tenant_id: &str, event_id: &str) -> String {
    format!("T#{tenant_id}#CBEVENT#{event_id}")
}
pub fn callback_attempt(tenant_id: &str, event_id: &str, attempt: u32) -> Key {
    Key::new(callback_event(tenant_id, event_id), format!("ATTEMPT#{attempt:04}"))
}
pub fn callback_done(tenant_id: &str, event_id: &str) -> Key {
    Key::new(callback_event(tenant_id, event_id), "DONE")
}
/// GSI1: the tenant's delivery attempts, by time (`<ms>#<event>#<attempt>`), spread over
/// [`CALLBACK_LIST_SHARDS`] index partitions by a hash of the event id: each attempt is written
/// twice (pending, then its outcome) and a sent message has 3 status events, ~6 writes per
/// message (`infra/bench.sh hotkeys`), so one partition would take ~6,000 writes/s at 1,000
/// msg/s; over 16, ~375 (over 8, ~750: too close to the ceiling). Read newest first by merging
/// the shards.
pub const CALLBACK_LIST_SHARDS: u64 = 16;
pub fn callback_deliveries_list(tenant_id: &str, shard: u64) -> String {
    format!("T#{tenant_id}#CBDELIVERIES#{shard}")
}
/// The list partition of one event's attempts.
pub fn callback_deliveries_list_of(tenant_id: &str, event_id: &str) -> String {
    callback_deliveries_list(tenant_id, shard_of(event_id, CALLBACK_LIST_SHARDS))
}
/// Where attempts written before the sharding are (read as one more shard until their TTL).
pub fn callback_deliveries_list_unsharded(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CBDELIVERIES")
}
/// Ledger partitions per tenant. Entry `seq` n lives in shard `n % LEDGER_SHARDS`, so at
/// 1,000 entries/s each ledger partition takes 250 (see `docs/billing.md`).
pub const LEDGER_SHARDS: u64 = 4;
pub fn ledger_shard(tenant_id: &str, shard: u64) -> String {
    format!("T#{tenant_id}#LEDGER#{shard}")
}
/// Entries are keyed by their position in the tenant's ledger (the balance item's `seq` after
/// the write), zero-padded so the sort key orders them.
pub fn ledger_entry_sk(seq: u64) -> String {
    format!("ENTRY#{seq:020}")
}
pub const LEDGER_ENTRY_PREFIX: &str = "ENTRY#";
pub fn ledger_entry(tenant_id: &str, seq: u64) -> Key {
    Key::new(ledger_shard(tenant_id, seq % LEDGER_SHARDS), ledger_entry_sk(seq))
}
/// The credit balance: `balance` (integer 1/10,000 units) and `seq` (entries written so far).
pub fn balance(tenant_id: &str) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), "BALANCE")
}
/// "This message was debited" (amount, entry): the per-message idempotency of debits. In the
/// message's own partition, so 1,000 debits/s spread over 1,000 partitions.
pub fn debit_marker(tenant_id: &str, message_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#MSG#{message_id}"), "DEBIT")
}
/// "This message was refunded": refunds happen at most once per message.
pub fn refund_marker(tenant_id: &str, message_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#MSG#{message_id}"), "REFUND")
}
/// Business-initiated messages sent in a subscription period (`period` = the period's start
/// date, `YYYY-MM-DD`), sharded: the send worker `ADD`s a whole batch's count to one random
/// shard; readers sum the shards with one query (`USAGE#<period>#`).
pub const USAGE_SHARDS: u64 = 8;
pub fn usage_counter(tenant_id: &str, period: &str, shard: u64) -> Key {
    Key::new(format!("TENANT#{tenant_id}"), format!("USAGE#{period}#{shard}"))
}
pub fn usage_prefix(period: &str) -> String {
    format!("USAGE#{period}#")
}
/// Daily analytics counters of a tenant (`domain::analytics`): one partition per shard, one item
/// per local day (`D#YYYY-MM-DD`), so a date range is one query per shard. The shard is chosen
/// by the message id (money: by the ledger entry), and the reader sums the shards. Arithmetic
/// (docs/data-model.md): at 1,000 msg/s one tenant moves ~4 counters a second per message
/// (sent, delivered, read, plus the debit batches and inbound), ~4,000 writes/s spread over
/// 16 items of the day: ~250 writes/s per item, half the ceiling of 500.
pub const DAILY_SHARDS: u64 = 16;
pub fn daily_shard(tenant_id: &str, shard: u64) -> String {
    format!("T#{tenant_id}#DAILY#{shard}")
}
pub fn daily_sk(date: &str) -> String {
    format!("D#{date}")
}
pub fn daily_counter(tenant_id: &str, shard: u64, date: &str) -> Key {
    Key::new(daily_shard(tenant_id, shard), daily_sk(date))
}
/// Per template and day, sharded as the daily counters: `D#<date>#<name>#<language>`, so one
/// query per shard reads a date range for every template.
pub fn template_daily_shard(tenant_id: &str, shard: u64) -> String {
    format!("T#{tenant_id}#TPLDAILY#{shard}")
}
pub fn template_daily_counter(tenant_id: &str, shard: u64, date: &str, name: &str, language: &str) -> Key {
    Key::new(template_daily_shard(tenant_id, shard), format!("D#{date}#{name}#{language}"))
}
/// A claim-checked webhook body too big for a queue message, in chunks.
pub fn raw_webhook_chunk(event_id: &str, chunk: usize) -> Key {
    Key::new(format!("WEBHOOK#{event_id}"), format!("RAW#{chunk:03}"))
}
/// A webhook delivery or event set aside for inspection (malformed, unrouted, unhandled).
pub fn quarantined_webhook(id: &str) -> Key {
    Key::new(format!("WEBHOOKQ#{id}"), "QUARANTINE")
}
pub const QUARANTINE_LIST: &str = "WEBHOOK#QUARANTINE";
/// A processed webhook change, keyed by its derived event key: the processor's dedup record.
pub fn webhook_processed(event_key: &str) -> Key {
    Key::new(format!("WEBHOOKDONE#{event_key}"), "DONE")
}

// --- audit log ----------------------------------------------------------------------------------

/// Audit entries are spread over this many partitions per tenant (shard = hash of the entry id),
/// and over as many platform-wide index partitions: a busy tenant's log (an API key triggering
/// 1,000 messages a second) has no hot partition. Readers query every shard backward and merge.
pub const AUDIT_SHARDS: u64 = 8;
/// An audit entry: `T#<tenant>#AUDIT#<shard>` (`AUDIT#PLATFORM#<shard>` for an entry without a
/// tenant, such as a plan change) / `<entry id>` (`aud_<ULID>`, so a backward query is newest
/// first). TTL 400 days.
pub fn audit_entry(tenant_id: Option<&str>, entry_id: &str) -> Key {
    Key::new(audit_partition(tenant_id, shard_of(entry_id, AUDIT_SHARDS)), entry_id)
}
pub fn audit_partition(tenant_id: Option<&str>, shard: u64) -> String {
    match tenant_id {
        Some(t) => format!("T#{t}#AUDIT#{shard}"),
        None => format!("AUDIT#PLATFORM#{shard}"),
    }
}
/// GSI1: every entry, tenants' and the platform's (the super admin's log), sharded like the
/// partitions: `AUDIT#<shard>` / `<entry id>`.
pub fn audit_platform_list(shard: u64) -> String {
    format!("AUDIT#{shard}")
}

// --- operations ---------------------------------------------------------------------------------

/// Read (never written) by each Lambda during init to open its DynamoDB connection early; the
/// webhook receiver's role may GetItem only this partition (`dynamodb:LeadingKeys`).
pub const WARM_UP_PK: &str = "WARMUP";
pub fn warm_up() -> Key {
    Key::new(WARM_UP_PK, "WARMUP")
}
