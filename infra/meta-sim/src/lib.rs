//! Meta Graph API simulator: the subset of the WhatsApp Cloud API that Miping uses, with Meta's
//! request and response shapes, error bodies, rate limits and signed webhooks, so that the whole
//! platform runs (and is tested) offline.
//!
//! Start it in-process with [`start`] (the local process does), or as the `meta-sim` binary.
//! Conventions (see SPEC "Meta Graph API simulator"):
//! - any non-empty OAuth code works once (except `invalid`); the same code always maps to the
//!   same business, WABA and phone number ([`business_for_code`]): a code containing
//!   `finish_only_waba` has no number, `numbers_N` has N; `acme~2` is the same business as `acme`;
//! - templates are reviewed after `template_review_delay`: APPROVED, or REJECTED when the name
//!   contains `reject`; a signed `message_template_status_update` webhook follows;
//! - sent messages get signed `sent`, `delivered`, `read` webhooks; recipients ending `0000` fail
//!   with 131026, ending `0001` with 131047;
//! - per-number throughput (130429) as a rolling one-second window — never more than the rate
//!   in any second — and pair-rate (131056) limits; every accept is timestamped per number
//!   ([`SimHandle::throughput`], `GET /_sim/throughput/{phone}`);
//! - injectable faults, random ([`Faults`]) or scripted for the next call to one endpoint
//!   ([`SimHandle::fail_next`]), media downloads included.
//!
//! # Media (`POST /{v}/{phone}/media`, `GET|DELETE /{v}/{media-id}`, the download URL)
//! Uploads are multipart (`messaging_product=whatsapp`, `file`, `type`) and checked like Meta:
//! supported type (else `(#100) Param file must be a file with one of the following types…`),
//! the type's size limit and the file's signature (else 131053 "Media upload error"); answer
//! `{id}`. `GET /{media-id}` answers `{url, mime_type, sha256 (hex), file_size, id,
//! messaging_product}`; `url` is `http://<sim>/whatsapp_business/attachments/?mid&ext&hash`,
//! valid for [`SimConfig::media_url_ttl`] (5 minutes), downloaded with `Authorization: Bearer
//! <token>` of the owning business: no token → 400/104, a bad one → 401/190, another business's
//! → 403/200, an edited URL → 403 "URL signature mismatch", an expired one → 404 "URL signature
//! expired". Messages of type `image|video|audio|document|sticker` by `id` or `link`, interactive
//! `button`/`list` messages (Meta's limits checked: 131008/131009) and templates are accepted;
//! a template created with an IMAGE/VIDEO/DOCUMENT header sent without that header parameter is
//! refused with 132012 (`header: Format mismatch, expected IMAGE, received UNKNOWN`). Media sent
//! by id of the wrong kind is accepted and then fails by webhook with 131053. Each accepted
//! message is recorded with its body and its media resolved to the uploaded object
//! ([`SentMessage::media`], `GET /_sim/messages`), whose bytes [`SimHandle::media_bytes`] returns.
//!
//! Template samples go through Meta's Resumable Upload API: `POST /{v}/{app_id}/uploads?file_name=
//! &file_length=&file_type=` answers `{id: "upload:…"}` (type and size checked), and `POST
//! /{v}/upload:…` with `file_offset: 0` and the bytes (length and content checked) answers `{h}`,
//! the handle `example.header_handle` takes (`4::<type>:<media id>`; its bytes through
//! [`SimHandle::media_bytes`]).
//!
//! # Customers (`POST /_sim/inbound`)
//! `{phone_number_id, from, name?, type?, context_id?, …}`: `text` (with `text`); `image`,
//! `document`, `audio`, `video`, `sticker` send a generated valid file (JPEG or `mime_type:
//! "image/png"`, PDF or `text/plain`, Ogg Opus, MP4, WEBP; `caption`, `filename`, `voice`,
//! `size` for a minimum size) stored as a media object of the number and announced with Meta's
//! media message shape; `interactive`, `button`, `reaction`, `location`, `contacts` take Meta's
//! object under their own key or send a typical one (a reaction needs `context_id`). Answers
//! `{wamid, media_id?, sha256?, mime_type?}`.
//!
//! # Embedded Signup in a browser (`GET /sdk.js`)
//! A stand-in for `connect.facebook.net/en_US/sdk.js` ([`SimHandle::sdk_url`]): `FB.init`,
//! `FB.login(callback, options)` opening the simulator's signup dialog in a popup, which posts
//! Meta's session info (`{type: "WA_EMBEDDED_SIGNUP", event: "FINISH", data: {phone_number_id,
//! waba_id, business_id}, version: 3}` as a JSON string, when `extras.sessionInfoVersion` is
//! set) from the simulator's origin and then hands the callback `{authResponse: {code}, status:
//! "connected"}`. The code is `FB.__sim.code` if a page sets it, else the `code` query parameter
//! of the script URL, else a new random one; `FB.__sim.scenario` = `cancel` | `error` makes the
//! dialog answer CANCEL / ERROR. A page must accept the session info only when `event.origin` is
//! the simulator's origin ([`SimHandle::origin`], the origin of the SDK URL) — with Meta,
//! `https://www.facebook.com` — and must not cut its opener link
//! (`Cross-Origin-Opener-Policy: same-origin-allow-popups` at most).
//!
//! # State on disk ([`SimConfig::data_dir`])
//! Templates with their review state, registrations, subscriptions, used codes and media are
//! kept in the directory (see `persist.rs`), so a restart forgets nothing the platform relies on.
//! Media older than Meta's 30 days is dropped when the simulator starts.
//!
//! # Test hooks (`/_sim/...`)
//! `POST /_sim/inbound`; `POST /_sim/templates`, `DELETE /_sim/templates/{id}` (WhatsApp Manager
//! edits); `GET /_sim/messages[?phone_number_id&to]`, `GET /_sim/messages/{wamid}`;
//! `GET /_sim/media/{id}` and `/_sim/media/{id}/bytes` (no token); `GET|DELETE
//! /_sim/throughput/{phone}[?timestamps=1]`.

mod business;
mod errors;
mod faults;
mod limits;
mod media;
mod persist;
mod routes;
mod samples;
mod state;
mod templates;
mod token;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use business::{Business, PhoneNumber, business_for_code};
pub use faults::{Endpoint, ScriptedFault};
pub use limits::ThroughputStats;
pub use media::{Kind as MediaKind, MediaObject, Origin as MediaOrigin};
pub use state::{SendCounts, SentMedia, SentMessage};
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
    /// Media downloads only: answered as if the URL had expired (404 "URL signature expired"),
    /// so a client must fetch a new URL with `GET /{media-id}`. (Downloads also get the three
    /// generic faults above.)
    pub media_url_expired_ratio: f64,
    /// `POST /messages` only: the answer comes this long after the message was accepted (and
    /// counted against the number's rate), as Meta's does on a slow day or a busy network.
    pub send_answer_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub app_id: String,
    /// Signs every webhook (`X-Hub-Signature-256`) and authenticates the code exchange.
    pub app_secret: String,
    /// Where signed webhooks are POSTed; `None` records them without delivering.
    pub webhook_url: Option<String>,
    /// Per phone number: at most this many accepted in any rolling one-second window.
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
    /// Where templates, registrations, subscriptions, used codes and media are kept across
    /// restarts (read at [`start`]); `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// How long a media download URL from `GET /{media-id}` stays valid (Meta: 5 minutes).
    pub media_url_ttl: Duration,
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
            data_dir: None,
            media_url_ttl: Duration::from_secs(300),
        }
    }
}

/// Binds `addr` (port 0 picks a free port) and serves the simulator on the current runtime,
/// with the state found in `config.data_dir` (an unreadable state file is an error).
pub async fn start(config: SimConfig, addr: SocketAddr) -> std::io::Result<SimHandle> {
    let sim = Arc::new(state::Sim::new(config)?);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    sim.persist(); // what the load dropped (expired media) is gone from the file too
    sim.resume_reviews();
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

    /// The origin Embedded Signup's session-info messages come from (what a page compares
    /// `event.origin` with; `https://www.facebook.com` with Meta).
    pub fn origin(&self) -> String {
        self.base_url()
    }

    /// The Facebook JS SDK stand-in — what `META_SDK_URL` should be when using the simulator.
    pub fn sdk_url(&self) -> String {
        format!("{}/sdk.js", self.base_url())
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

    /// Every message accepted by `POST /{v}/{phone}/messages`, oldest first (the latest 50,000).
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.sim.sent_messages()
    }

    /// One accepted message by its wamid.
    pub fn sent_message(&self, wamid: &str) -> Option<SentMessage> {
        self.sim.lock().sent.iter().find(|m| m.wamid == wamid).cloned()
    }

    /// A media object (uploaded or sent by a customer), while it exists.
    pub fn media(&self, media_id: &str) -> Option<MediaObject> {
        self.sim.lock().media.get(media_id).cloned()
    }

    /// The bytes of a media object — for a message's [`SentMedia::id`], the bytes Meta received.
    pub async fn media_bytes(&self, media_id: &str) -> Option<Vec<u8>> {
        if !self.sim.lock().media.contains_key(media_id) {
            return None;
        }
        self.sim.store.get_blob(media_id).await.ok().flatten().map(|b| b.to_vec())
    }

    /// What one number achieved, from the simulator's accept times: the busiest rolling
    /// one-second window and the steady mean (see [`ThroughputStats`]).
    pub fn throughput(&self, phone_number_id: &str) -> ThroughputStats {
        self.sim.lock().limits.accept_log(phone_number_id).stats()
    }

    /// Every accept time of one number (since the simulator started), oldest first.
    pub fn accept_times(&self, phone_number_id: &str) -> Vec<Duration> {
        self.sim.lock().limits.accept_log(phone_number_id).times.into_iter().collect()
    }

    /// Forgets one number's accept times (the rate limit itself is not reset).
    pub fn clear_accept_times(&self, phone_number_id: &str) {
        self.sim.lock().limits.clear_accept_log(phone_number_id)
    }

    /// Totals of `POST /messages` answers since start (benchmarks: accepted vs 130429).
    pub fn send_counts(&self) -> SendCounts {
        self.sim.lock().counts
    }

    /// The templates of one WABA (in creation order), as the simulator holds them.
    pub fn templates(&self, waba_id: &str) -> Vec<TemplateRecord> {
        self.sim.templates_of(waba_id)
    }

    /// Waits (up to 5 s) until template `id` of `waba_id` has `status`, for tests that wait on
    /// the simulated review; panics when it never does.
    pub async fn wait_template_status(&self, waba_id: &str, id: &str, status: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !self.templates(waba_id).iter().any(|t| t.id == id && t.status.as_str() == status) {
            assert!(std::time::Instant::now() < deadline, "template {id} never became {status}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every webhook the simulator produced (delivered or not), in the order they were queued.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.sim.webhooks.deliveries()
    }

    /// Stops accepting connections; in-flight requests finish. Background work stops and the
    /// state on disk is no longer written, so another simulator may take over the directory.
    pub fn shutdown(mut self) {
        self.sim.close();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
