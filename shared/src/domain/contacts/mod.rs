//! Contacts: the people a tenant messages. A contact is known by its E.164 phone, by its
//! WhatsApp user id (username users may have no phone), or both; each is unique per tenant.
//!
//! - [`fields`]: validation and normalisation of what clients send (name, attributes, tags);
//! - [`service`]: the use cases behind the routes, and find-or-create for inbound webhooks;
//! - [`import`]: bulk import (CSV or JSON), read by [`import_rows`] on a blocking thread.

pub mod fields;
pub mod import;
pub mod import_rows;
pub mod model;
pub mod service;

pub use model::{Contact, ContactView};
