//! A tenant's WhatsApp connection as stored and shown: its status, onboarding steps, serving
//! number during a re-connect and the account events Meta sent about it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    #[default]
    NotConnected,
    /// Onboarding is running, or stopped at a failed step that a retry resumes.
    Connecting,
    Connected,
    /// Meta refused the token (code 190): the tenant must run Embedded Signup again.
    NeedsReauth,
    Disconnected,
    /// Meta disabled the WhatsApp Business Account.
    Banned,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::NeedsReauth => "needs_reauth",
            Self::Disconnected => "disconnected",
            Self::Banned => "banned",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Done,
    Failed,
}

/// Why a step failed: our stable code, a message for people (Meta's own when Meta refused), and
/// Meta's error code when Meta answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_code: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    pub name: String,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StepError>,
    /// When the step last changed (done or failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl Step {
    pub fn pending(name: &str) -> Self {
        Self { name: name.to_string(), status: StepStatus::Pending, error: None, at: None }
    }
}

/// Meta's throughput level and what it means in messages per second.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Throughput {
    /// `STANDARD` or `HIGH`.
    pub level: String,
    pub messages_per_second: u32,
}

impl Throughput {
    /// Meta's documented rates: 80 msg/s by default, up to 1,000 once upgraded.
    pub fn from_level(level: &str) -> Self {
        let messages_per_second = if level.eq_ignore_ascii_case("HIGH") { 1000 } else { 80 };
        Self { level: level.to_ascii_uppercase(), messages_per_second }
    }
}

/// `account_update` / `DISABLED_UPDATE`'s `ban_info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BanInfo {
    /// `SCHEDULE_FOR_DISABLE`, `DISABLE`, `REINSTATE`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// An account webhook as recorded on the connection (the latest few, newest last).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountEvent {
    pub event: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub detail: Value,
}

/// The working connection kept in service while a re-connect runs (`POST /whatsapp/connect` with
/// a new code on a connected tenant): sends go through it until the new flow completes, and it
/// stays in service if the new flow fails. Secrets sealed, as on the connection.
#[derive(Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Serving {
    pub sealed_token: Option<String>,
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
    pub throughput: Option<Throughput>,
    pub claimed_phone_number_id: Option<String>,
    pub claimed_waba_id: Option<String>,
    pub sealed_pin: Option<String>,
    pub pin_phone_number_id: Option<String>,
}

impl Serving {
    fn of(conn: &Connection) -> Self {
        Self {
            sealed_token: conn.sealed_token.clone(),
            waba_id: conn.waba_id.clone(),
            phone_number_id: conn.phone_number_id.clone(),
            display_phone_number: conn.display_phone_number.clone(),
            throughput: conn.throughput.clone(),
            claimed_phone_number_id: conn.claimed_phone_number_id.clone(),
            claimed_waba_id: conn.claimed_waba_id.clone(),
            sealed_pin: conn.sealed_pin.clone(),
            pin_phone_number_id: conn.pin_phone_number_id.clone(),
        }
    }
}

/// `GET /whatsapp/status` while a re-connect runs (or failed): the number still sending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServingView {
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
}

/// How many account events the connection keeps (enough to explain its current state).
pub const ACCOUNT_EVENTS_KEPT: usize = 20;

/// The stored connection.
#[derive(Clone, Serialize, Deserialize, Default)]
pub struct Connection {
    pub tenant_id: String,
    pub status: ConnectionStatus,
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
    pub business_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `UNKNOWN`.
    pub quality_rating: Option<String>,
    /// Meta's messaging limit tier (`TIER_1K`, ...).
    pub messaging_limit: Option<String>,
    pub throughput: Option<Throughput>,
    /// The last `phone_number_quality_update` event (`FLAGGED`, `UNFLAGGED`, `UPGRADE`, ...).
    pub quality_event: Option<String>,
    pub ban_info: Option<BanInfo>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub account_events: Vec<AccountEvent>,
    /// Something the tenant should know that is not an error (e.g. Meta did not confirm the
    /// unsubscription on disconnect).
    pub notice: Option<String>,

    // --- the current onboarding attempt --------------------------------------------------
    /// SHA-256 (hex) of the code this attempt started from: the same body sent again resumes
    /// instead of restarting (a code can only be exchanged once).
    pub code_sha256: Option<String>,
    /// What the browser reported (Embedded Signup's session info), used as hints.
    pub requested_waba_id: Option<String>,
    pub requested_phone_number_id: Option<String>,

    // --- secrets (sealed by the vault; never in a view, a log or an error) -----------------
    pub sealed_token: Option<String>,
    pub sealed_pin: Option<String>,
    /// The number the sealed PIN was set for (a new number gets a new PIN).
    pub pin_phone_number_id: Option<String>,
    /// Unix seconds, 0 = never (from `debug_token`).
    pub token_expires_at: Option<i64>,

    // --- routing items this tenant holds (freed on disconnect or when the number changes) ----
    pub claimed_phone_number_id: Option<String>,
    pub claimed_waba_id: Option<String>,

    /// The working connection while a re-connect is `connecting` (see [`Serving`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<Serving>,

    // --- concurrency ------------------------------------------------------------------------
    /// A running connect holds the lease until `lease_until` (unix seconds); a crashed run's
    /// lease simply expires, so nothing can wedge the connection.
    pub lease_id: Option<String>,
    pub lease_until: Option<i64>,
    /// Incremented by every write; writes are conditional on it (optimistic concurrency).
    #[serde(default)]
    pub version: i64,

    pub connected_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("tenant_id", &self.tenant_id)
            .field("status", &self.status)
            .field("waba_id", &self.waba_id)
            .field("phone_number_id", &self.phone_number_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub fn new(tenant_id: &str) -> Self {
        Self { tenant_id: tenant_id.to_string(), ..Self::default() }
    }

    /// True while another run holds an unexpired lease.
    pub fn is_leased(&self, now_epoch: i64) -> bool {
        self.lease_id.is_some() && self.lease_until.is_some_and(|until| until > now_epoch)
    }

    pub fn record_event(&mut self, event: AccountEvent) {
        self.account_events.push(event);
        let excess = self.account_events.len().saturating_sub(ACCOUNT_EVENTS_KEPT);
        self.account_events.drain(..excess);
    }

    /// Starts a new connect attempt on this connection: a working one (connected, with its
    /// token) is kept in service until the attempt completes. An attempt started while an earlier
    /// one is still pending keeps the connection that was in service then.
    pub fn keep_in_service(&mut self) {
        if self.status == ConnectionStatus::Connected && self.sealed_token.is_some() {
            self.serving = Some(Serving::of(self));
        } else if self.status != ConnectionStatus::Connecting {
            self.serving = None;
        }
    }

    /// Forgets the token, PIN and number details (disconnect, offboarding). The routing items
    /// are freed by the caller, which knows them from `claimed_*` before calling this.
    pub fn forget(&mut self) {
        self.serving = None;
        self.sealed_token = None;
        self.sealed_pin = None;
        self.pin_phone_number_id = None;
        self.token_expires_at = None;
        self.code_sha256 = None;
        self.requested_waba_id = None;
        self.requested_phone_number_id = None;
        self.claimed_phone_number_id = None;
        self.claimed_waba_id = None;
        self.waba_id = None;
        self.phone_number_id = None;
        self.display_phone_number = None;
        self.business_name = None;
        self.quality_rating = None;
        self.messaging_limit = None;
        self.throughput = None;
        self.quality_event = None;
        self.steps.clear();
        self.connected_at = None;
    }

    pub fn view(&self) -> ConnectionView {
        ConnectionView {
            status: self.status,
            waba_id: self.waba_id.clone(),
            phone_number_id: self.phone_number_id.clone(),
            display_phone_number: self.display_phone_number.clone(),
            business_name: self.business_name.clone(),
            quality_rating: self.quality_rating.clone(),
            messaging_limit: self.messaging_limit.clone(),
            throughput: self.throughput.clone(),
            quality_event: self.quality_event.clone(),
            ban_info: self.ban_info.clone(),
            steps: self.steps.clone(),
            notice: self.notice.clone(),
            in_service: self.serving.as_ref().filter(|_| self.status == ConnectionStatus::Connecting).map(|s| {
                ServingView {
                    waba_id: s.waba_id.clone(),
                    phone_number_id: s.phone_number_id.clone(),
                    display_phone_number: s.display_phone_number.clone(),
                }
            }),
            connected_at: self.connected_at,
            updated_at: self.updated_at,
        }
    }
}

/// The connection messages are sent through now: the connection itself when `connected`; while
/// a re-connect is `connecting`, the working connection kept in service (status `connected`,
/// number, token and throughput of the working one); `None` otherwise.
pub fn in_service(conn: &Connection) -> Option<Connection> {
    match (conn.status, &conn.serving) {
        (ConnectionStatus::Connected, _) => Some(conn.clone()),
        (ConnectionStatus::Connecting, Some(s)) if s.sealed_token.is_some() => {
            let mut c = conn.clone();
            c.status = ConnectionStatus::Connected;
            c.sealed_token = s.sealed_token.clone();
            c.waba_id = s.waba_id.clone();
            c.phone_number_id = s.phone_number_id.clone();
            c.display_phone_number = s.display_phone_number.clone();
            c.throughput = s.throughput.clone();
            Some(c)
        }
        _ => None,
    }
}

/// `GET /whatsapp/status` and `POST /whatsapp/connect`'s answer. Built field by field from the
/// connection, so a secret added to [`Connection`] can never show up here by accident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub status: ConnectionStatus,
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
    pub business_name: Option<String>,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub throughput: Option<Throughput>,
    pub quality_event: Option<String>,
    pub ban_info: Option<BanInfo>,
    pub steps: Vec<Step>,
    pub notice: Option<String>,
    /// While a re-connect is `connecting` (or failed and waits for a retry): the working number
    /// that keeps sending until the new one is connected.
    pub in_service: Option<ServingView>,
    pub connected_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}
