//! The local process over HTTP, one test binary (one link instead of one per feature): every
//! module starts the real platform (embedded store in a temp dir, real TCP port, the built-in
//! Meta simulator) through `common`. nextest runs each test in its own process, so process-wide
//! state (the log capture, counters) stays per test.

mod browser;
mod common;
mod connect_support;

mod admin_plans;
mod admin_tenants;
mod admin_webhooks;
mod analytics;
mod audit;
mod auth;
mod billing;
mod callbacks;
mod campaign_reports;
mod campaigns;
mod connect_page;
mod console;
mod console_kit;
mod contacts;
mod contacts_import;
mod exactly_once;
mod external_api;
mod hostile_input;
mod idempotency;
mod inbound_rich;
mod inbox;
mod inbox_team;
mod interactive;
mod media;
mod media_retention;
mod media_templates;
mod members;
mod messages;
mod password_reset;
mod roles;
mod secrets_in_logs;
mod send_faults;
mod send_worker;
mod sessions;
mod templates;
mod tenant_settings;
mod webhook_fixtures;
mod webhook_process;
mod webhook_receive;
mod whatsapp_account_events;
mod whatsapp_connect;
mod whatsapp_secrets;
