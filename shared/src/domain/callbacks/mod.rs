//! Outbound callbacks (SPEC "Outbound callbacks"): the tenant's own system gets a signed POST
//! for every message status change and every inbound message.
//!
//! - `settings`: `PUT/GET/DELETE /settings/callback` (URL checked by the SSRF guard, secret
//!   sealed with the token vault and never returned).
//! - [`events`]: what the webhook processor and the send worker call when something happened;
//!   it only *enqueues* a job on the `callback` queue (never calls the tenant inside webhook
//!   processing).
//! - [`worker`]: the `callback` queue's consumer: signs and POSTs, records each attempt, and
//!   retries with exponential backoff for up to 24 h.

pub mod events;
pub mod settings;
pub mod ssrf;
pub mod worker;

pub use events::{CallbackEvent, CallbackJob};
