//! The `miping` crate's integration tests, one test binary (one link instead of one per file):
//! conformance suites run on both adapters (embedded, and AWS on the moto server `infra/test.sh`
//! starts), the domain on both table adapters, the HTTP layer, the Graph client against the
//! simulator, and the OpenAPI document's freshness.

mod common;

mod admin_store;
mod audit_store;
mod campaign_counters;
mod campaign_export;
mod consumer_runtime;
mod contacts_store;
mod daily_counters;
mod graph_client;
mod http_layers;
mod inbox_store;
mod limiter_conformance;
mod list_shards;
mod login_throttle;
mod mailer_conformance;
mod message_status;
mod openapi;
mod pacing;
mod queue_conformance;
mod roles;
mod storage_conformance;
mod stranded_work;
mod table_conformance;
mod vault_conformance;
mod webhook_payloads;
mod welcome_mail;
mod whatsapp_lambda_event;
