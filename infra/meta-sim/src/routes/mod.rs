//! HTTP routes. Graph routes live under `/{version}/...` (any `vNN.N`); test hooks under `/_sim`.
//!
//! Every Graph request passes [`Gate`]: version check, fault injection, then the token (bearer
//! header or `access_token` query parameter, as Graph accepts both).

mod media;
mod messages;
mod oauth;
mod phones;
mod sdk;
mod sim_hooks;
mod templates;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use serde_json::{Map, Value};

use crate::business::Business;
use crate::errors::GraphError;
use crate::faults::{self, Fault};
use crate::state::Sim;
use crate::token;

pub type Params = HashMap<String, String>;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/{v}/oauth/access_token", get(oauth::exchange))
        .route("/{v}/debug_token", get(oauth::debug_token))
        .route("/{v}/{id}", any(node))
        .route("/{v}/{id}/{edge}", any(edge))
        .route(crate::media::DOWNLOAD_PATH, get(media::download))
        .route("/sdk.js", get(sdk::sdk))
        .route("/dialog/embedded_signup", get(sdk::dialog))
        .route("/dialog/embedded_signup.js", get(sdk::dialog_js))
        .route("/_sim/inbound", post(sim_hooks::inbound))
        .route("/_sim/templates", post(sim_hooks::create_template))
        .route("/_sim/templates/{id}", delete(sim_hooks::delete_template))
        .route("/_sim/messages", get(sim_hooks::messages))
        .route("/_sim/messages/{wamid}", get(sim_hooks::message))
        .route("/_sim/media/{id}", get(sim_hooks::media_info))
        .route("/_sim/media/{id}/bytes", get(sim_hooks::media_bytes))
        .route("/_sim/throughput/{phone}", get(sim_hooks::throughput).delete(sim_hooks::clear_throughput))
        .fallback(unknown_path)
        // Media uploads go up to Meta's 100 MB document limit.
        .layer(DefaultBodyLimit::max(crate::media::MAX_UPLOAD_BODY))
        .with_state(sim)
}

/// A request that passed the version check and fault injection.
pub struct Gate {
    pub token: Option<String>,
    /// The token came as `access_token` in the query (Graph then repeats it in paging links).
    pub token_in_query: bool,
}

impl Gate {
    pub async fn pass(sim: &Sim, version: &str, headers: &HeaderMap, query: &Params) -> Result<Self, Response> {
        if !valid_version(version) {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                2500,
                "OAuthException",
                format!("Unknown path components: /{version}"),
            )
            .into_response());
        }
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
            .map(str::to_owned);
        let token_in_query = bearer.is_none() && query.contains_key("access_token");
        let token = bearer.or_else(|| query.get("access_token").cloned()).filter(|t| !t.is_empty());
        match faults::draw(&sim.config().faults) {
            Some(Fault::ServerError(e)) => return Err(e.into_response()),
            Some(Fault::Timeout) => {
                // Held until the client gives up (hyper then drops this future) or the hold ends.
                tokio::time::sleep(faults::TIMEOUT_HOLD).await;
                return Err(faults::after_timeout().into_response());
            }
            Some(Fault::ExpiredToken) if token.is_some() => return Err(GraphError::expired_token().into_response()),
            _ => {}
        }
        Ok(Self { token, token_in_query })
    }

    /// The business the token was issued for.
    pub fn business(&self, sim: &Sim) -> Result<Business, GraphError> {
        let Some(t) = &self.token else { return Err(GraphError::missing_token()) };
        token::business_of(t, &sim.config().app_secret).ok_or_else(GraphError::invalid_token)
    }
}

fn valid_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let Some((major, minor)) = rest.split_once('.') else { return false };
    !major.is_empty()
        && !minor.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && minor.bytes().all(|b| b.is_ascii_digit())
}

/// The JSON body as an object; an empty body means "parameters in the query" (Graph takes both).
pub fn json_params(body: &Bytes, query: &Params) -> Result<Map<String, Value>, GraphError> {
    if body.is_empty() {
        return Ok(query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GraphError::invalid_param("Request body must be a JSON object.")),
    }
}

pub fn ok(value: Value) -> Response {
    axum::Json(value).into_response()
}

fn flatten(r: Result<Response, GraphError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// `/{v}/{id}`: a phone number (GET), a template (GET, POST = edit) or a media object (GET,
/// DELETE).
async fn node(
    State(sim): State<Arc<Sim>>,
    Path((v, id)): Path<(String, String)>,
    Query(query): Query<Params>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gate = match Gate::pass(&sim, &v, &headers, &query).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    flatten(
        async {
            let business = gate.business(&sim)?;
            if id.starts_with("upload:") && method == Method::POST {
                return media::finish_upload(&sim, &id, &headers, body.clone()).await;
            }
            if Business::from_phone_id(&id).is_some() && method == Method::GET {
                if let Some(e) = sim.lock().take_scripted(faults::Endpoint::GetPhoneNumber) {
                    return Err(e);
                }
                return phones::get_phone(&sim, &business, &id, &query);
            }
            if sim.lock().template(&id).is_some() {
                return match method {
                    Method::GET => templates::get_one(&sim, &business, &id, &query),
                    Method::POST => templates::edit(&sim, &business, &id, &json_params(&body, &query)?),
                    _ => Err(GraphError::unknown_object(&id, method.as_str())),
                };
            }
            if media::exists(&sim, &id) {
                return match method {
                    Method::GET => media::get(&sim, &business, &id, &query, &headers),
                    Method::DELETE => media::delete(&sim, &business, &id).await,
                    _ => Err(GraphError::unknown_object(&id, &method.as_str().to_ascii_lowercase())),
                };
            }
            if method == Method::DELETE {
                return Err(media::delete_unknown());
            }
            Err(GraphError::unknown_object(&id, &method.as_str().to_ascii_lowercase()))
        }
        .await,
    )
}

/// `/{v}/{id}/{edge}`.
async fn edge(
    State(sim): State<Arc<Sim>>,
    Path((v, id, edge)): Path<(String, String, String)>,
    Query(query): Query<Params>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gate = match Gate::pass(&sim, &v, &headers, &query).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    // `POST /messages` only: the faults drawn per send, and how long its answer waits.
    let send_faults = (method == Method::POST && edge == "messages").then(|| sim.config().faults);
    let send_fault = send_faults.as_ref().and_then(faults::draw_send);
    if matches!(send_fault, Some(faults::SendFault::Throttled)) {
        return messages::throughput_error().into_response();
    }
    let response = flatten(
        async {
            let business = gate.business(&sim)?;
            if let Some(endpoint) = faults::Endpoint::of_edge(&method, &edge)
                && let Some(e) = sim.lock().take_scripted(endpoint)
            {
                return Err(e);
            }
            let m = method.as_str().to_ascii_lowercase();
            match (method.clone(), edge.as_str()) {
                (Method::GET, "phone_numbers") => phones::list(&sim, &business, &id, &query, &headers, &v, &gate),
                (Method::POST, "register") => phones::register(&sim, &business, &id, &json_params(&body, &query)?),
                (_, "subscribed_apps") => phones::subscribed_apps(&sim, &business, &id, &method),
                (Method::GET, "message_templates") => {
                    templates::list(&sim, &business, &id, &query, &headers, &v, &gate)
                }
                (Method::POST, "message_templates") => {
                    templates::create(&sim, &business, &id, &json_params(&body, &query)?)
                }
                (Method::DELETE, "message_templates") => templates::delete(&sim, &business, &id, &query),
                (Method::POST, "messages") => messages::send(&sim, &business, &id, &json_params(&body, &query)?),
                (Method::POST, "media") => media::upload(&sim, &business, &id, &headers, body.clone()).await,
                (Method::POST, "uploads") => media::start_upload(&sim, &id, &query),
                _ => Err(GraphError::unknown_object(&id, &m)),
            }
        }
        .await,
    );
    if let Some(delay) = send_faults.map(|f| f.send_answer_delay).filter(|d| !d.is_zero()) {
        tokio::time::sleep(delay).await;
    }
    if matches!(send_fault, Some(faults::SendFault::LostResponse)) && response.status().is_success() {
        // Sent, but the client never hears so (held until it gives up).
        tokio::time::sleep(faults::TIMEOUT_HOLD).await;
        return faults::after_timeout().into_response();
    }
    response
}

/// Ownership check shared by every edge on a WABA: another business's WABA is a permissions
/// error; an id that is no WABA at all is Graph's "does not exist" error.
pub fn own_waba(business: &Business, waba_id: &str, method: &Method) -> Result<(), GraphError> {
    if business.waba_id == waba_id {
        return Ok(());
    }
    if Business::from_waba_id(waba_id).is_some() {
        return Err(GraphError::permission());
    }
    Err(GraphError::unknown_object(waba_id, &method.as_str().to_ascii_lowercase()))
}

pub fn own_phone<'a>(
    business: &'a Business,
    phone_id: &str,
    method: &Method,
) -> Result<&'a crate::business::PhoneNumber, GraphError> {
    if let Some(p) = business.phone(phone_id) {
        return Ok(p);
    }
    if Business::from_phone_id(phone_id).is_some() {
        return Err(GraphError::permission());
    }
    Err(GraphError::unknown_object(phone_id, &method.as_str().to_ascii_lowercase()))
}

/// Cursor paging over `items` (already in order): `after` is the base64 of the last id served.
pub struct Page {
    pub data: Vec<Value>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub has_next: bool,
}

pub fn paginate(items: Vec<(String, Value)>, query: &Params, default_limit: usize) -> Result<Page, GraphError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let limit = match query.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| GraphError::invalid_param("Param limit must be a positive integer"))?,
        None => default_limit,
    };
    let start = match query.get("after") {
        Some(cursor) => {
            let id = b64
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| GraphError::invalid_param("Param after is not a valid cursor"))?;
            // The first item past the cursor id; ids increase, so deleted ids are no problem.
            items.iter().position(|(k, _)| cmp_ids(k, &id).is_gt()).unwrap_or(items.len())
        }
        None => 0,
    };
    let page: Vec<(String, Value)> = items.iter().skip(start).take(limit).cloned().collect();
    let has_next = start + page.len() < items.len();
    Ok(Page {
        before: page.first().map(|(k, _)| b64.encode(k)),
        after: page.last().map(|(k, _)| b64.encode(k)),
        data: page.into_iter().map(|(_, v)| v).collect(),
        has_next,
    })
}

/// Numeric ids compare by length first, then lexically (= numerically for digit strings).
fn cmp_ids(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Page {
    /// `{data, paging: {cursors: {before, after}, next?}}`; `next` is an absolute URL like Graph's.
    pub fn into_json(self, headers: &HeaderMap, path: &str, query: &Params, gate: &Gate) -> Value {
        let mut paging = serde_json::json!({ "cursors": { "before": self.before, "after": self.after } });
        if self.has_next
            && let Some(after) = &self.after
        {
            let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
            let mut q: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k.as_str() != "after" && k.as_str() != "access_token")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Graph repeats a query-string token in paging links, never a header one.
            if gate.token_in_query
                && let Some(t) = &gate.token
            {
                q.push(("access_token".into(), t.clone()));
            }
            q.push(("after".into(), after.clone()));
            q.sort();
            let qs: Vec<String> = q.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            paging["next"] = Value::String(format!("http://{host}{path}?{}", qs.join("&")));
        }
        serde_json::json!({ "data": self.data, "paging": paging })
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn unknown_path(uri: axum::http::Uri) -> Response {
    GraphError::new(StatusCode::BAD_REQUEST, 2500, "OAuthException", format!("Unknown path components: {}", uri.path()))
        .into_response()
}
