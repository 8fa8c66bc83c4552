//! Connect WhatsApp (`/app/connect`): the connection's status and number, one "Connect WhatsApp"
//! button that runs Meta's Embedded Signup through the Facebook JS SDK (`assets/connect.js`; the
//! simulator's stand-in locally), the onboarding steps as a checklist that polls while
//! connecting, "Retry" from the failed step, and Disconnect. Every action calls the same use case
//! as `/whatsapp/*`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::Kind;
use miping::domain::audit;
use miping::domain::whatsapp::connect::{self, ConnectRequest};
use miping::domain::whatsapp::model::{ConnectionStatus, ConnectionView, StepStatus};
use miping::http::audit::Audit;
use secrecy::SecretString;
use serde::Deserialize;

use crate::assets::ASSETS;
use crate::forms::{CsrfForm, sentence};
use crate::page::{self, ConfirmForm, Hx, Shell, StatusChip};
use crate::session::TenantAdmin;
use crate::view::{When, when};
use miping::domain::zone::Zone;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(show))
        .route("/panel", get(panel))
        .route("/code", post(finish_signup))
        .route("/retry", post(retry))
        .route("/disconnect", post(disconnect))
}

/// Meta's Embedded Signup, as the page's script needs it.
pub struct Signup {
    pub app_id: String,
    pub config_id: String,
    pub graph_version: String,
    pub sdk_url: String,
    /// Where Embedded Signup's `WA_EMBEDDED_SIGNUP` messages may come from (space-separated).
    pub message_origins: String,
}

/// One row of the checklist.
pub struct StepRow {
    pub title: &'static str,
    /// `step--done` | `step--current` | `step--failed` | ``
    pub class: &'static str,
    pub state: &'static str,
    pub detail: String,
    pub at: Option<When>,
}

/// The part of the page that polls while connecting (and the answer to each poll).
pub struct Panel {
    pub connection: ConnectionView,
    pub badge: (&'static str, &'static str),
    pub chip: StatusChip,
    pub steps: Vec<StepRow>,
    pub connecting: bool,
    pub can_retry: bool,
    pub can_disconnect: bool,
    pub connected_at: Option<When>,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "connect.html", blocks = ["panel"])]
pub struct ConnectPage {
    pub shell: Shell,
    pub signup: Signup,
    pub script: String,
    pub panel: Panel,
    /// The fragment also replaces the top bar's status chip (`data-hx-oob`).
    pub oob_chip: bool,
}

const STEP_TITLES: &[(&str, &str)] = &[
    ("exchange_code", "Sign in with Facebook"),
    ("validate_token", "Check the permissions granted"),
    ("fetch_phone_numbers", "Find the phone number"),
    ("claim_number", "Reserve the number for this account"),
    ("subscribe_app", "Subscribe to WhatsApp events"),
    ("register_phone", "Register the number for the Cloud API"),
    ("fetch_profile", "Read the business profile"),
    ("sync_templates", "Sync message templates"),
    ("install_library", "Install the template library"),
];

fn step_title(name: &str) -> &'static str {
    STEP_TITLES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).unwrap_or("Another onboarding step")
}

fn steps(view: &ConnectionView, tz: &Zone) -> Vec<StepRow> {
    let running = view.status == ConnectionStatus::Connecting;
    let any_failed = view.steps.iter().any(|s| s.status == StepStatus::Failed);
    let current = view.steps.iter().position(|s| s.status == StepStatus::Pending);
    view.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (class, state, detail) = match s.status {
                StepStatus::Done => ("step--done", "done", "Done".to_owned()),
                StepStatus::Failed => (
                    "step--failed",
                    "failed",
                    s.error.as_ref().map(|e| sentence(&e.message)).unwrap_or_else(|| "Failed.".into()),
                ),
                StepStatus::Pending if running && !any_failed && current == Some(i) => {
                    ("step--current", "in progress", "Working on it…".to_owned())
                }
                StepStatus::Pending => ("", "waiting", "Waiting".to_owned()),
            };
            StepRow { title: step_title(&s.name), class, state, detail, at: s.at.map(|at| when(at, tz)) }
        })
        .collect()
}

fn panel_of(connection: ConnectionView, csrf: &str, tz: &Zone) -> Panel {
    use ConnectionStatus::*;
    let failed = connection.steps.iter().any(|s| s.status == StepStatus::Failed);
    let exchanged = connection.steps.iter().any(|s| s.name == "exchange_code" && s.status == StepStatus::Done);
    Panel {
        badge: crate::view::connection_badge(connection.status),
        chip: StatusChip::of(connection.status),
        steps: steps(&connection, tz),
        connecting: connection.status == Connecting && !failed,
        // Before the code exchange a retry has nothing to resume with: it needs a new signup.
        can_retry: connection.status == Connecting && failed && exchanged,
        can_disconnect: !matches!(connection.status, NotConnected | Disconnected),
        connected_at: connection.connected_at.map(|at| when(at, tz)),
        connection,
        csrf: csrf.to_owned(),
    }
}

/// `https://connect.facebook.net/en_US/sdk.js` → `https://connect.facebook.net`
fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")? + 3;
    let host_end = url[scheme_end..].find('/').map_or(url.len(), |i| i + scheme_end);
    Some(&url[..host_end]).filter(|o| o.len() > scheme_end)
}

const META_SDK_ORIGIN: &str = "https://connect.facebook.net";
const META_DIALOG_ORIGINS: &[&str] = &["https://www.facebook.com", "https://web.facebook.com"];

/// (script, frame, connect) origins the SDK needs, and where its signup messages come from:
/// Meta's SDK opens facebook.com; a stand-in (the simulator) serves everything from its origin.
fn sdk_origins(sdk_url: &str) -> (Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) {
    match origin_of(sdk_url) {
        Some(META_SDK_ORIGIN) | None => {
            let mut connect = vec![META_SDK_ORIGIN, "https://graph.facebook.com"];
            connect.extend(META_DIALOG_ORIGINS);
            (vec![META_SDK_ORIGIN], META_DIALOG_ORIGINS.to_vec(), connect, META_DIALOG_ORIGINS.to_vec())
        }
        Some(stand_in) => (vec![stand_in], vec![stand_in], vec![stand_in], vec![stand_in]),
    }
}

fn signup_of(state: &AppState) -> Signup {
    let meta = &state.config.meta;
    Signup {
        app_id: meta.app_id.clone(),
        config_id: meta.config_id.clone(),
        graph_version: meta.graph_version.clone(),
        sdk_url: meta.sdk_url.clone(),
        message_origins: sdk_origins(&meta.sdk_url).3.join(" "),
    }
}

/// The page's policy: the strict one, plus the SDK's origins (the middleware keeps it).
fn with_sdk_policy(state: &AppState, mut response: Response) -> Response {
    let (script, frame, connect, _) = sdk_origins(&state.config.meta.sdk_url);
    if let Ok(v) = HeaderValue::from_str(&crate::security::widened_csp(&script, &frame, &connect)) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

async fn load(state: &AppState, tenant_id: &str) -> Result<ConnectionView, Response> {
    connect::status(&state.ports, tenant_id).await.map_err(|e| page::failed("connection status", e))
}

/// `GET /app/connect`
pub async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
) -> Response {
    let shell = Shell::load(&state, &viewer, &headers, "Connect WhatsApp", "/app/connect").await;
    let connection = match load(&state, &tenant_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page = ConnectPage {
        panel: panel_of(connection, &viewer.csrf, &shell.tz),
        shell,
        signup: signup_of(&state),
        script: ASSETS.connect.url(),
        oob_chip: false,
    };
    with_sdk_policy(&state, page::html(StatusCode::OK, &page))
}

/// `GET /app/connect/panel`: the status and steps (polled every 2 s while connecting; the answer
/// without the poll stops it).
pub async fn panel(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
) -> Response {
    let connection = match load(&state, &tenant_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let shell = Shell::load(&state, &viewer, &headers, "Connect WhatsApp", "/app/connect").await;
    let page = ConnectPage {
        panel: panel_of(connection, &viewer.csrf, &shell.tz),
        shell,
        signup: signup_of(&state),
        script: ASSETS.connect.url(),
        oob_chip: true,
    };
    with_sdk_policy(&state, page::page_or_fragment(Hx::from_headers(&headers), StatusCode::OK, &page, page.as_panel()))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    waba_id: String,
    #[serde(default)]
    phone_number_id: String,
}

fn present(s: String) -> Option<String> {
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// After a connect or retry: back to the page, which shows the steps (a failed one with Meta's
/// words), with a toast saying how it ended.
fn after_connect(hx: Hx, result: Result<ConnectionView, miping::domain::Error>) -> Response {
    match result {
        Ok(view) if view.status == ConnectionStatus::Connected => hx.done("/app/connect", "WhatsApp connected"),
        Ok(_) => hx.done("/app/connect", "Connecting continues: the steps below update by themselves"),
        Err(e) if e.kind == Kind::Internal => page::server_error(),
        Err(e) => hx.done("/app/connect", &format!("!{}", sentence(&e.message))),
    }
}

/// `POST /app/connect/code`: Embedded Signup's code and session info (connect.js posts them with
/// the CSRF header), into the same use case as `POST /whatsapp/connect`.
pub async fn finish_signup(
    State(state): State<AppState>,
    TenantAdmin(_, tenant_id): TenantAdmin,
    audit: Audit,
    hx: Hx,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Response {
    let req = ConnectRequest {
        code: present(form.code).map(SecretString::from),
        waba_id: present(form.waba_id),
        phone_number_id: present(form.phone_number_id),
    };
    if req.code.is_none() {
        return hx.done("/app/connect", "!Meta's signup ended without a code. Nothing was connected: start again.");
    }
    after_connect(hx, audit::connect_whatsapp(&state.ports, &audit, &tenant_id, req).await)
}

/// `POST /app/connect/retry`: resumes at the failed step with the token kept from the exchange
/// (the use case's resume: a request without a code).
pub async fn retry(
    State(state): State<AppState>,
    TenantAdmin(_, tenant_id): TenantAdmin,
    audit: Audit,
    hx: Hx,
    CsrfForm(_): CsrfForm<ConfirmForm>,
) -> Response {
    after_connect(hx, audit::connect_whatsapp(&state.ports, &audit, &tenant_id, ConnectRequest::default()).await)
}

/// `POST /app/connect/disconnect` (confirmed): forgets the token; messages stop until the next
/// connection.
pub async fn disconnect(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let number = match load(&state, &tenant_id).await {
            Ok(c) => c.display_phone_number.unwrap_or_else(|| "your WhatsApp number".into()),
            Err(r) => return r,
        };
        let shell = Shell::load(&state, &viewer, &headers, "Disconnect WhatsApp", "/app/connect").await;
        let question = format!("Disconnect {number}? Messages stop sending until you connect WhatsApp again.");
        return page::confirm_page(shell, &question, "/app/connect/disconnect", "Disconnect", "/app/connect", &[]);
    }
    match audit::disconnect_whatsapp(&state.ports, &audit, &tenant_id).await {
        Ok(()) => hx.done("/app/connect", "WhatsApp disconnected"),
        Err(e) if e.kind == Kind::Internal => page::server_error(),
        Err(e) => hx.done("/app/connect", &format!("!{}", sentence(&e.message))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_sdk_needs_facebook_frames_and_a_stand_in_only_its_own_origin() {
        let (script, frame, _, messages) = sdk_origins("https://connect.facebook.net/en_US/sdk.js");
        assert_eq!(script, ["https://connect.facebook.net"]);
        assert_eq!(frame, ["https://www.facebook.com", "https://web.facebook.com"]);
        assert_eq!(messages, frame);
        let (script, frame, connect, messages) = sdk_origins("http://127.0.0.1:3001/sdk.js");
        assert!([script, frame, connect, messages].iter().all(|o| o == &["http://127.0.0.1:3001"]));
        assert_eq!(origin_of("http://h:1"), Some("http://h:1"));
    }
}
