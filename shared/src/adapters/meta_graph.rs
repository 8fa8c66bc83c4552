//! `MetaGraph` over HTTP (reqwest + rustls): graph.facebook.com in production, the simulator
//! locally and in tests.
//!
//! Secrets: the business token travels only in the `Authorization: Bearer` header. Two Graph
//! calls need secrets in the query string (the code exchange's `client_secret` and
//! `debug_token`'s `input_token`), so no URL is ever logged or kept in an error: reqwest errors
//! are stripped of their URL, and logs name the endpoint by path template only.

// `MetaError::Api` keeps Meta's fields inline so callers match on them directly; it is the cold
// path of a network call, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::ports::meta::{
    Accepted, CreatedTemplate, MediaInfo, MetaError, MetaGraph, NewTemplate, PhoneNumber, Template, TemplateEdit,
    TokenInfo,
};

/// Fields read from `message_templates` (Meta returns fewer by default on some versions).
const TEMPLATE_FIELDS: &str = "id,name,language,status,category,components,rejected_reason";
const PHONE_FIELDS: &str = "id,display_phone_number,verified_name,quality_rating,code_verification_status,\
                            platform_type,throughput,messaging_limit_tier,name_status,status";
/// A bound on page-following, so a paging bug on either side cannot loop forever.
const MAX_PAGES: usize = 1_000;

pub struct HttpGraph {
    http: reqwest::Client,
    /// `https://graph.facebook.com`, without a trailing slash.
    base_url: String,
    /// `v24.0`
    version: String,
    app_id: String,
    app_secret: SecretString,
    page_size: Option<u32>,
}

impl std::fmt::Debug for HttpGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpGraph")
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .field("app_id", &self.app_id)
            .field("app_secret", &"[REDACTED]")
            .finish()
    }
}

impl HttpGraph {
    /// `timeout` bounds each request end to end.
    pub fn new(
        base_url: impl Into<String>,
        version: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: SecretString,
        timeout: Duration,
    ) -> Result<Self, MetaError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| MetaError::Transport(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            version: version.into(),
            app_id: app_id.into(),
            app_secret,
            page_size: None,
        })
    }

    /// Asks for `limit` items per page on list calls (Meta's default otherwise).
    pub fn with_page_size(mut self, limit: u32) -> Self {
        self.page_size = Some(limit);
        self
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, MetaError> {
        let raw = format!("{}/{}/{}", self.base_url, self.version, path);
        let parsed = if query.is_empty() { Url::parse(&raw) } else { Url::parse_with_params(&raw, query) };
        // The message names the endpoint only: `query` may hold secrets.
        parsed.map_err(|e| MetaError::Transport(format!("invalid Graph URL for /{path}: {e}")))
    }

    /// Sends one request and reads Meta's answer. `endpoint` is a path template for logs.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        url: Url,
        bearer: Option<&SecretString>,
        body: Option<&Value>,
    ) -> Result<T, MetaError> {
        let mut req = self.http.request(method.clone(), url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        self.send(endpoint, method, req).await
    }

    /// Sends a built request and reads Meta's answer: the JSON of a 2xx, Meta's error otherwise
    /// (also for the uploads, whose bodies and authorisation [`Self::call`] does not build).
    async fn send<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        req: reqwest::RequestBuilder,
    ) -> Result<T, MetaError> {
        let started = std::time::Instant::now();
        let res = req.send().await.map_err(transport)?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(transport)?;
        tracing::debug!(%method, endpoint, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "graph call");
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| MetaError::Protocol(format!("{endpoint}: {e}")));
        }
        Err(api_error(status.as_u16(), &bytes))
    }

    /// Follows `paging.cursors.after` while Meta says there is a next page. The next request is
    /// built here rather than taken from `paging.next`, so the token is only ever sent to the
    /// configured Graph host, and never ends up in a URL.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        fields: &str,
        token: &SecretString,
    ) -> Result<Vec<T>, MetaError> {
        let limit = self.page_size.map(|l| l.to_string());
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("fields", fields)];
            if let Some(l) = &limit {
                query.push(("limit", l));
            }
            if let Some(a) = &after {
                query.push(("after", a));
            }
            let page: Page<T> = self.call(endpoint, Method::GET, self.url(path, &query)?, Some(token), None).await?;
            out.extend(page.data);
            match page.paging.and_then(|p| if p.next.is_some() { p.cursors.and_then(|c| c.after) } else { None }) {
                Some(a) => after = Some(a),
                None => return Ok(out),
            }
        }
        Err(MetaError::Protocol(format!("{endpoint}: more than {MAX_PAGES} pages")))
    }
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: bool,
}

fn transport(e: reqwest::Error) -> MetaError {
    if e.is_timeout() {
        return MetaError::Timeout;
    }
    // Without the URL: it may carry `client_secret` or `input_token`.
    MetaError::Transport(e.without_url().to_string())
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    message: String,
    #[serde(rename = "type", default)]
    error_type: Option<String>,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_user_title: Option<String>,
    #[serde(default)]
    error_user_msg: Option<String>,
    #[serde(default)]
    error_data: Option<Value>,
    #[serde(default)]
    fbtrace_id: Option<String>,
}

/// Meta's error object, or a synthetic one for a non-Graph answer (a proxy's 502 page).
fn api_error(status: u16, body: &[u8]) -> MetaError {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error: e }) => {
            let details = e
                .error_data
                .as_ref()
                .and_then(|d| d.get("details"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(e.error_user_msg);
            MetaError::Api {
                status,
                code: e.code,
                subcode: e.error_subcode,
                error_type: e.error_type,
                title: e.error_user_title,
                message: e.message,
                details,
                fbtrace_id: e.fbtrace_id,
            }
        }
        Err(_) => MetaError::Api {
            status,
            code: 0,
            subcode: None,
            error_type: None,
            title: None,
            message: format!("HTTP {status} without a Graph error body"),
            details: None,
            fbtrace_id: None,
        },
    }
}

fn expect_success(s: Success, endpoint: &str) -> Result<(), MetaError> {
    if s.success { Ok(()) } else { Err(MetaError::Protocol(format!("{endpoint}: success was not true"))) }
}

#[async_trait]
impl MetaGraph for HttpGraph {
    async fn exchange_code(&self, code: &str) -> Result<SecretString, MetaError> {
        #[derive(Deserialize)]
        struct Exchanged {
            access_token: String,
        }
        let url = self.url(
            "oauth/access_token",
            &[("client_id", &self.app_id), ("client_secret", self.app_secret.expose_secret()), ("code", code)],
        )?;
        let t: Exchanged = self.call("oauth/access_token", Method::GET, url, None, None).await?;
        Ok(SecretString::from(t.access_token))
    }

    async fn debug_token(&self, token: &SecretString) -> Result<TokenInfo, MetaError> {
        #[derive(Deserialize)]
        struct Debugged {
            data: TokenInfo,
        }
        // Authenticated as the app (`app_id|app_secret`), the form Meta documents for introspection.
        let app_token = SecretString::from(format!("{}|{}", self.app_id, self.app_secret.expose_secret()));
        let url = self.url("debug_token", &[("input_token", token.expose_secret())])?;
        let d: Debugged = self.call("debug_token", Method::GET, url, Some(&app_token), None).await?;
        Ok(d.data)
    }

    async fn list_phone_numbers(&self, token: &SecretString, waba_id: &str) -> Result<Vec<PhoneNumber>, MetaError> {
        self.all_pages("{waba}/phone_numbers", &format!("{waba_id}/phone_numbers"), PHONE_FIELDS, token).await
    }

    async fn get_phone_number(&self, token: &SecretString, phone_number_id: &str) -> Result<PhoneNumber, MetaError> {
        let url = self.url(phone_number_id, &[("fields", PHONE_FIELDS)])?;
        self.call("{phone}", Method::GET, url, Some(token), None).await
    }

    async fn register_phone(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        pin: &SecretString,
    ) -> Result<(), MetaError> {
        let body = json!({ "messaging_product": "whatsapp", "pin": pin.expose_secret() });
        let url = self.url(&format!("{phone_number_id}/register"), &[])?;
        let s: Success = self.call("{phone}/register", Method::POST, url, Some(token), Some(&body)).await?;
        expect_success(s, "{phone}/register")
    }

    async fn subscribe_app(&self, token: &SecretString, waba_id: &str) -> Result<(), MetaError> {
        let url = self.url(&format!("{waba_id}/subscribed_apps"), &[])?;
        let s: Success = self.call("{waba}/subscribed_apps", Method::POST, url, Some(token), None).await?;
        expect_success(s, "{waba}/subscribed_apps")
    }

    async fn unsubscribe_app(&self, token: &SecretString, waba_id: &str) -> Result<(), MetaError> {
        let url = self.url(&format!("{waba_id}/subscribed_apps"), &[])?;
        let s: Success = self.call("{waba}/subscribed_apps", Method::DELETE, url, Some(token), None).await?;
        expect_success(s, "{waba}/subscribed_apps")
    }

    async fn create_template(
        &self,
        token: &SecretString,
        waba_id: &str,
        template: &NewTemplate,
    ) -> Result<CreatedTemplate, MetaError> {
        let body = serde_json::to_value(template).map_err(|e| MetaError::Protocol(e.to_string()))?;
        let url = self.url(&format!("{waba_id}/message_templates"), &[])?;
        self.call("{waba}/message_templates", Method::POST, url, Some(token), Some(&body)).await
    }

    async fn list_templates(&self, token: &SecretString, waba_id: &str) -> Result<Vec<Template>, MetaError> {
        self.all_pages("{waba}/message_templates", &format!("{waba_id}/message_templates"), TEMPLATE_FIELDS, token)
            .await
    }

    async fn edit_template(
        &self,
        token: &SecretString,
        template_id: &str,
        edit: &TemplateEdit,
    ) -> Result<(), MetaError> {
        let body = serde_json::to_value(edit).map_err(|e| MetaError::Protocol(e.to_string()))?;
        let url = self.url(template_id, &[])?;
        let s: Success = self.call("{template}", Method::POST, url, Some(token), Some(&body)).await?;
        expect_success(s, "{template}")
    }

    async fn delete_template(
        &self,
        token: &SecretString,
        waba_id: &str,
        name: &str,
        template_id: Option<&str>,
    ) -> Result<(), MetaError> {
        let mut query = vec![("name", name)];
        if let Some(id) = template_id {
            query.push(("hsm_id", id));
        }
        let url = self.url(&format!("{waba_id}/message_templates"), &query)?;
        let s: Success = self.call("{waba}/message_templates", Method::DELETE, url, Some(token), None).await?;
        expect_success(s, "{waba}/message_templates")
    }

    async fn send_message(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        body: &Value,
    ) -> Result<Accepted, MetaError> {
        #[derive(Deserialize)]
        struct Sent {
            #[serde(default)]
            contacts: Vec<Contact>,
            messages: Vec<Message>,
        }
        #[derive(Deserialize)]
        struct Contact {
            wa_id: String,
        }
        #[derive(Deserialize)]
        struct Message {
            id: String,
        }
        let url = self.url(&format!("{phone_number_id}/messages"), &[])?;
        let sent: Sent = self.call("{phone}/messages", Method::POST, url, Some(token), Some(body)).await?;
        let wamid = sent
            .messages
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| MetaError::Protocol("{phone}/messages: no message id".into()))?;
        // Meta has been seen padding wa_id with whitespace; the id is digits.
        let wa_id = sent.contacts.into_iter().next().map(|c| c.wa_id.trim().to_owned()).unwrap_or_default();
        Ok(Accepted { wamid, wa_id })
    }

    async fn get_media(&self, token: &SecretString, media_id: &str) -> Result<MediaInfo, MetaError> {
        #[derive(Deserialize)]
        struct Info {
            url: String,
            #[serde(default)]
            mime_type: String,
            #[serde(default)]
            sha256: String,
            #[serde(default)]
            file_size: Value,
        }
        let info: Info = self.call("{media-id}", Method::GET, self.url(media_id, &[])?, Some(token), None).await?;
        // Meta sends the size as a number or a string of digits.
        let file_size = match &info.file_size {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(0);
        Ok(MediaInfo { url: info.url, mime_type: info.mime_type, sha256: info.sha256, file_size })
    }

    async fn download_media(&self, token: &SecretString, url: &str, max_bytes: u64) -> Result<bytes::Bytes, MetaError> {
        let parsed =
            Url::parse(url).map_err(|_| MetaError::Protocol("{media-id}: the download URL is not a URL".into()))?;
        if !self.may_carry_token(&parsed) {
            return Err(MetaError::Protocol("{media-id}: the download URL is not on a Meta host".into()));
        }
        let started = std::time::Instant::now();
        let mut res = self.http.get(parsed).bearer_auth(token.expose_secret()).send().await.map_err(transport)?;
        let status = res.status();
        if !status.is_success() {
            let bytes = res.bytes().await.map_err(transport)?;
            return Err(api_error(status.as_u16(), &bytes));
        }
        if res.content_length().is_some_and(|n| n > max_bytes) {
            return Err(MetaError::Protocol(format!("media download: larger than {max_bytes} bytes")));
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_bytes {
                return Err(MetaError::Protocol(format!("media download: larger than {max_bytes} bytes")));
            }
        }
        tracing::debug!(
            endpoint = "media download",
            status = status.as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "graph call"
        );
        Ok(body.freeze())
    }

    async fn upload_media(
        &self,
        token: &SecretString,
        phone_number_id: &str,
        mime_type: &str,
        filename: &str,
        body: bytes::Bytes,
    ) -> Result<String, MetaError> {
        #[derive(Deserialize)]
        struct Uploaded {
            id: String,
        }
        let boundary = format!("miping-{:016x}", rand::random::<u64>());
        // Quotes and line breaks cannot end the part's header.
        let name: String = filename.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').collect();
        let mut form = Vec::with_capacity(body.len() + 512);
        for (field, value) in [("messaging_product", "whatsapp"), ("type", mime_type)] {
            form.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        form.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        form.extend_from_slice(&body);
        form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = self.url(&format!("{phone_number_id}/media"), &[])?;
        let req = self
            .http
            .post(url)
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(form);
        let uploaded: Uploaded = self.send("{phone}/media", Method::POST, req).await?;
        Ok(uploaded.id)
    }

    async fn upload_sample(
        &self,
        token: &SecretString,
        file_name: &str,
        mime_type: &str,
        body: bytes::Bytes,
    ) -> Result<String, MetaError> {
        #[derive(Deserialize)]
        struct Session {
            id: String,
        }
        #[derive(Deserialize)]
        struct Handle {
            h: String,
        }
        let length = body.len().to_string();
        let query = [("file_name", file_name), ("file_length", length.as_str()), ("file_type", mime_type)];
        let url = self.url(&format!("{}/uploads", self.app_id), &query)?;
        let session: Session = self.call("{app}/uploads", Method::POST, url, Some(token), None).await?;
        // The session id is `upload:…`: a path segment of its own; the token as `OAuth`, as Meta asks.
        let url = self.url(&session.id, &[])?;
        let req = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, format!("OAuth {}", token.expose_secret()))
            .header("file_offset", "0")
            .body(body);
        let handle: Handle = self.send("upload:{session}", Method::POST, req).await?;
        Ok(handle.h)
    }
}

impl HttpGraph {
    /// The business token goes only to the configured Graph host or, over HTTPS, to Meta's own
    /// domains (media URLs are on `lookaside.fbsbx.com`).
    fn may_carry_token(&self, url: &Url) -> bool {
        let same_host = Url::parse(&self.base_url).is_ok_and(|base| {
            base.host_str() == url.host_str() && base.port_or_known_default() == url.port_or_known_default()
        });
        let meta_host = url.scheme() == "https"
            && url.host_str().is_some_and(|h| {
                ["fbsbx.com", "facebook.com", "whatsapp.net", "fbcdn.net"]
                    .iter()
                    .any(|d| h == *d || h.ends_with(&format!(".{d}")))
            });
        same_host || meta_host
    }
}
