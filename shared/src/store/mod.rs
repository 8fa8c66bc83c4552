//! Repositories over the single-table port. Each one is written once, against `ports::Table`.

pub mod audit;
pub mod campaigns;
pub mod contacts;
pub mod inbox;
pub mod keys;
pub mod ledger;
pub mod media;
pub mod members;
pub mod messages;
pub mod plans;
pub mod quarantine;
pub mod shards;
pub mod templates;
pub mod tenant_settings;
pub mod tenants;
pub mod users;
pub mod whatsapp;
