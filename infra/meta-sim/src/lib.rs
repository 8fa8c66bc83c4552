//! Meta Graph API simulator: the subset of the WhatsApp Cloud API that Miping uses, with Meta's
//! request and response shapes, error bodies, rate limits and signed webhooks, so that the whole
//! platform runs (and is tested) offline.
//!
//! Start it in-process with [`start`] (the local process does), or as the `meta-sim` binary.
//! Conventions (see SPEC "Meta Graph API simulator"):
//! - any non-empty OAuth code works once (except `invalid`); the same code always maps to the
//!   same business, WABA and phone number ([`business_for_code`]);
//! - templates are reviewed after `template_review_delay`: APPROVED, or REJECTED when the name
//!   contains `reject`; a signed `message_template_status_update` webhook follows;
//! - sent messages get signed `sent`, `delivered`, `read` webhooks; recipients ending `0000` fail
//!   with 131026, ending `0001` with 131047;
//! - per-number throughput (130429) and pair-rate (131056) limits; injectable faults, random
//!   ([`Faults`]) or scripted for the next call to one endpoint ([`SimHandle::fail_next`]).

mod business;
mod errors;
mod faults;
mod limits;
mod routes;
mod state;
mod templates;
mod token;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use business::{Business, PhoneNumber, business_for_code};
pub use faults::{Endpoint, ScriptedFault};
pub use state::{SendCounts, SentMessage};
pub use templates::{TemplateRecord, TemplateStatus};
pub use webhooks::{WebhookDelivery, sign as sign_webhook};

/// Local defaults; they match `miping::platform::embedded::simulator_defaults`.
pub const DEFAULT_APP_ID: &str = "100000000000001";
pub const DEFAULT_APP_SECRET: &str = "sim-app-secret";

/// Share of Graph requests that fail on purpose (each in 0.0..=1.0, checked in this order).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// HTTP 500 with Meta's transient error body (`is_transient: true`, code 1 or 2).
    pub server_error_ratio: f64,
    /// The request is held ~15 s (or until the client gives up), then answered 503.
    pub timeout_ratio: f64,
    /// HTTP 401, code 190 / subcode 463 ("Session has expired").
    pub expired_token_ratio: f64,
    /// `POST /messages` only: refused with 130429 (throughput) although the number is under
    /// its limit, as Meta does under load.
    pub throttle_ratio: f64,
    /// `POST /messages` only: the message IS accepted (recorded, its webhooks follow), but the
    /// response is held like a timeout: the client cannot know it was sent.
    pub lost_response_ratio: f64,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub app_id: String,
    /// Signs every webhook (`X-Hub-Signature-256`) and authenticates the code exchange.
    pub app_secret: String,
    /// Where signed webhooks are POSTed; `None` records them without delivering.
    pub webhook_url: Option<String>,
    /// Per phone number; token bucket with a burst equal to the rate.
    pub throughput_per_second: u32,
    /// Minimum gap between two messages from one number to the same recipient.
    pub pair_interval: Duration,
    /// Gap between the `sent`, `delivered` and `read` webhooks of one message.
    pub status_delay: Duration,
    pub template_review_delay: Duration,
    /// Every webhook is delivered twice (Meta delivers at least once).
    pub duplicate_webhooks: bool,
    /// A message's status webhooks arrive in random order.
    pub shuffle_webhooks: bool,
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_id: DEFAULT_APP_ID.into(),
            app_secret: DEFAULT_APP_SECRET.into(),
            webhook_url: None,
            throughput_per_second: 80,
            pair_interval: Duration::from_secs(6),
            status_delay: Duration::from_millis(200),
            template_review_delay: Duration::from_secs(1),
            duplicate_webhooks: false,
            shuffle_webhooks: false,
            faults: Faults::default(),
        }
    }
}

/// Binds `addr` (port 0 picks a free port) and serves the simulator on the current runtime.
pub async fn start(config: SimConfig, addr: SocketAddr) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(state::Sim::new(config));
    let app = routes::router(sim.clone());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "meta simulator stopped");
        }
    });
    tracing::info!(%addr, "meta simulator listening");
    Ok(SimHandle { addr, sim, shutdown: Some(tx) })
}

/// A running simulator. Dropping the handle leaves the server running (the local process keeps
/// it for its whole life); call [`SimHandle::shutdown`] to stop it.
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<state::Sim>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` — what `META_GRAPH_URL` should be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> SimConfig {
        self.sim.config()
    }

    /// Changes any setting at runtime (applies to requests and webhooks from now on).
    pub fn configure(&self, f: impl FnOnce(&mut SimConfig)) {
        self.sim.configure(f)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.configure(|c| c.faults = faults)
    }

    /// The next request to `endpoint` fails with `fault` (once; calls queue up in order). Lets a
    /// test fail one precise step of a flow, e.g. the app subscription of a connect.
    pub fn fail_next(&self, endpoint: Endpoint, fault: ScriptedFault) {
        self.sim.lock().scripted.push((endpoint, fault));
    }

    /// Whether the app is subscribed to the WABA's webhooks.
    pub fn is_subscribed(&self, waba_id: &str) -> bool {
        self.sim.lock().subscribed.contains(waba_id)
    }

    /// Whether the number was registered for the Cloud API.
    pub fn is_registered(&self, phone_number_id: &str) -> bool {
        self.sim.lock().registered.contains(phone_number_id)
    }

    pub fn set_throughput(&self, per_second: u32) {
        self.configure(|c| c.throughput_per_second = per_second)
    }

    pub fn set_webhook_url(&self, url: Option<String>) {
        self.configure(|c| c.webhook_url = url)
    }

    /// Every message accepted by `POST /{v}/{phone}/messages`, oldest first.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.sim.sent_messages()
    }

    /// Totals of `POST /messages` answers since start (benchmarks: accepted vs 130429).
    pub fn send_counts(&self) -> SendCounts {
        self.sim.lock().counts
    }

    /// The templates of one WABA (in creation order), as the simulator holds them.
    pub fn templates(&self, waba_id: &str) -> Vec<TemplateRecord> {
        self.sim.templates_of(waba_id)
    }

    /// Every webhook the simulator produced (delivered or not), in the order they were queued.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.sim.webhooks.deliveries()
    }

    /// Stops accepting connections; in-flight requests finish.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
