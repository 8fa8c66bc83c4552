//! Domain logic. It talks only to ports (`crate::ports`) and repositories (`crate::store`),
//! never to an SDK, and never to a transport: its failures are [`Error`]s.

pub use error::{Error, FieldError, Kind};

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod callbacks;
pub mod campaigns;
pub mod contacts;
pub mod error;
pub mod inbox;
pub mod limits;
pub mod login_throttle;
pub mod media;
pub mod members;
pub mod messages;
pub mod money;
pub mod password;
pub mod password_reset;
pub mod phone;
pub mod plans;
pub mod reconciler;
pub mod scheduler;
pub mod sending;
pub mod sessions;
pub mod templates;
pub mod tenants;
pub mod text;
pub mod usage;
pub mod user;
pub mod webhooks;
pub mod welcome_mail;
pub mod whatsapp;
pub mod zone;
