//! A tenant's WhatsApp connection: Embedded Signup's code turned into a usable business number.
//!
//! - [`connection`]: the stored connection (status, ids, sealed token and PIN, step log), its API
//!   view, and what senders ask of it ([`connection::business_token`],
//!   [`connection::mark_needs_reauth`]);
//! - [`connect`]: `POST /whatsapp/connect` as a resumable state machine under a lease, and
//!   `DELETE /whatsapp`;
//! - [`steps`]: the ordered onboarding steps (the extension point for steps added later);
//! - [`account_events`]: what Meta's account webhooks change (ban, offboarding, quality, limit),
//!   and the webhook routing lookups.

pub mod account_events;
pub mod connect;
pub mod connection;
pub mod model;
pub mod steps;

pub use connection::{Connection, ConnectionStatus, ConnectionView, business_token, mark_needs_reauth};
