//! The Meta Graph API port: what the platform asks of Meta (Embedded Signup, phone numbers,
//! templates, sending). `adapters::meta_graph::HttpGraph` implements it over HTTP; the same
//! adapter talks to graph.facebook.com and to the simulator (`infra/meta-sim`).
//!
//! Every call takes the tenant's business token as a `SecretString`; no value returned by this
//! port (errors included) ever contains it.

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the caller should do about a failed call — decided here, in one place, for every caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient (Meta's 5xx, rate limits, timeouts, network): try again later, with backoff.
    Retry,
    /// The token is expired or revoked (code 190): the tenant must reconnect WhatsApp.
    ReauthRequired,
    /// Retrying the same request cannot succeed.
    Permanent,
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// Meta answered with its error object.
    #[error("Meta API error {code}{}: {message}", subcode.map(|s| format!("/{s}")).unwrap_or_default())]
    Api {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        error_type: Option<String>,
        /// `error_user_title`
        title: Option<String>,
        message: String,
        /// `error_data.details`, else `error_user_msg`
        details: Option<String>,
        fbtrace_id: Option<String>,
    },
    #[error("Meta API request timed out")]
    Timeout,
    /// The request did not get an answer (connection refused, reset, TLS...). Never holds a URL.
    #[error("Meta API unreachable: {0}")]
    Transport(String),
    /// A 2xx answer this client cannot read. Not retried: the request may well have taken effect
    /// (a message sent twice is worse than one reported as failed).
    #[error("unexpected Meta API response: {0}")]
    Protocol(String),
}

impl MetaError {
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Timeout | Self::Transport(_) => Disposition::Retry,
            Self::Protocol(_) => Disposition::Permanent,
            Self::Api { code: 190, .. } => Disposition::ReauthRequired,
            // 1 unknown/unexpected, 2 service unavailable, 4 app request limit, 80007 WABA rate
            // limit, 130429 throughput, 131056 pair rate.
            Self::Api { code: 1 | 2 | 4 | 80007 | 130429 | 131056, .. } => Disposition::Retry,
            Self::Api { status, .. } if *status >= 500 => Disposition::Retry,
            Self::Api { .. } => Disposition::Permanent,
        }
    }

    /// Meta's error code, when Meta answered.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// `debug_token`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub app_id: String,
    /// `SYSTEM_USER`, `USER`, ...
    #[serde(rename = "type", default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub is_valid: bool,
    /// Unix seconds; 0 = never.
    #[serde(default)]
    pub expires_at: i64,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub granular_scopes: Vec<GranularScope>,
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GranularScope {
    pub scope: String,
    /// Absent when the scope covers every asset the user granted.
    #[serde(default)]
    pub target_ids: Vec<String>,
}

impl TokenInfo {
    /// The WABAs this token may manage (`whatsapp_business_management` targets).
    pub fn waba_ids(&self) -> Vec<String> {
        self.granular_scopes
            .iter()
            .filter(|s| s.scope == "whatsapp_business_management")
            .flat_map(|s| s.target_ids.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PhoneNumber {
    pub id: String,
    #[serde(default)]
    pub display_phone_number: String,
    #[serde(default)]
    pub verified_name: String,
    /// `GREEN`, `YELLOW`, `RED`, `UNKNOWN`
    #[serde(default)]
    pub quality_rating: Option<String>,
    #[serde(default)]
    pub code_verification_status: Option<String>,
    #[serde(default)]
    pub platform_type: Option<String>,
    #[serde(default)]
    pub throughput: Option<Throughput>,
    /// `TIER_250`, `TIER_1K`, `TIER_10K`, `TIER_100K`, `TIER_UNLIMITED`
    #[serde(default)]
    pub messaging_limit_tier: Option<String>,
    #[serde(default)]
    pub name_status: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Throughput {
    /// `STANDARD` (80 msg/s), `HIGH` (up to 1,000 msg/s)
    pub level: String,
}

/// A template submission, in Meta's shape (`components` as Meta defines them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    pub components: Value,
}

/// Meta's answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedTemplate {
    pub id: String,
    pub status: String,
    pub category: String,
}

/// A template as Meta lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    #[serde(default)]
    pub components: Value,
    /// `NONE`, `INVALID_FORMAT`, `SCAM`, ... (Meta's `rejected_reason`).
    #[serde(default)]
    pub rejected_reason: Option<String>,
}

/// An edit: new components and, for a template that is not approved, a new category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub components: Value,
}

/// Meta accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub wamid: String,
    /// The recipient's WhatsApp id as Meta resolved it.
    pub wa_id: String,
}

/// A media object as `GET /{media-id}` describes it: a short-lived download URL (5 minutes) and
/// what the file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: String,
    /// As Meta gives it (lowercase hex from this endpoint).
    pub sha256: String,
    pub file_size: u64,
}

#[async_trait]
pub trait MetaGraph: Send + Sync + 'static {
    /// Embedded Signup: the code from the browser for the business token (no `redirect_uri`).
    async fn exchange_code(&self, code: &str) -> Result<SecretString, MetaError>;
    /// Introspects a token with the app token; tells which WABAs it may touch.
    async fn debug_token(&self, token: &SecretString) -> Result<TokenInfo, MetaError>;
    /// Every phone number of a WABA (all pages).
    async fn list_phone_numbers(&self, token: &SecretString, waba_id: &str) -> Result<Vec<PhoneNumber>, MetaError>;
    async fn get_phone_number(&self, token: &SecretString, phone_number_id: &str) -> Result<PhoneNumber, MetaError>;
    /// Registers the number for the Cloud API with its two-step verification PIN (6 digits).
    async fn register_phone(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        pin: &SecretString,
    ) -> Result<(), MetaError>;
    /// Subscribes the app to the WABA's webhooks.
    async fn subscribe_app(&self, token: &SecretString, waba_id: &str) -> Result<(), MetaError>;
    async fn unsubscribe_app(&self, token: &SecretString, waba_id: &str) -> Result<(), MetaError>;
    async fn create_template(
        &self,
        token: &SecretString,
        waba_id: &str,
        template: &NewTemplate,
    ) -> Result<CreatedTemplate, MetaError>;
    /// Every template of a WABA (all pages).
    async fn list_templates(&self, token: &SecretString, waba_id: &str) -> Result<Vec<Template>, MetaError>;
    async fn edit_template(
        &self,
        token: &SecretString,
        template_id: &str,
        edit: &TemplateEdit,
    ) -> Result<(), MetaError>;
    /// Deletes `name` (every language), or only `template_id` of it when given.
    async fn delete_template(
        &self,
        token: &SecretString,
        waba_id: &str,
        name: &str,
        template_id: Option<&str>,
    ) -> Result<(), MetaError>;
    /// Sends `body` exactly as given (Meta's message object, `messaging_product` included).
    async fn send_message(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        body: &Value,
    ) -> Result<Accepted, MetaError>;
    /// `GET /{media-id}`: where to download a media object (a customer's file) and what it is.
    async fn get_media(&self, token: &SecretString, media_id: &str) -> Result<MediaInfo, MetaError>;
    /// Downloads a URL `get_media` gave, with the token as a bearer header (only to Meta's own
    /// hosts or the configured Graph host), refusing more than `max_bytes`. An expired URL is
    /// Meta's 404 error: ask `get_media` for a new one.
    async fn download_media(&self, token: &SecretString, url: &str, max_bytes: u64) -> Result<bytes::Bytes, MetaError>;
    /// `POST /{phone}/media`: uploads a file to send from that number; Meta's media id.
    async fn upload_media(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        mime_type: &str,
        filename: &str,
        body: bytes::Bytes,
    ) -> Result<String, MetaError>;
    /// Meta's Resumable Upload API (`POST /{app_id}/uploads`, then the bytes at offset 0): one
    /// file as a media-header template's sample; the handle `example.header_handle` takes.
    async fn upload_sample(
        &self,
        token: &SecretString,
        file_name: &str,
        mime_type: &str,
        body: bytes::Bytes,
    ) -> Result<String, MetaError>;
}
