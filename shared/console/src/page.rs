//! What every page shares: the chrome ([`Shell`]: title, navigation, brand, WhatsApp chip, the
//! signed-in person, CSRF token, theme, one-time toasts), rendering (a whole page, or on
//! `HX-Request` only the fragment that changes), and the answers after a form (Post/Redirect/Get
//! without JavaScript, `204` + `HX-Location` with it).

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use miping::app::AppState;
use miping::domain::tenants::settings as tenant_settings;
use miping::domain::tenants::{Tenant, TenantSettings};
use miping::domain::user::Role;
use miping::domain::whatsapp::connect;
use miping::domain::whatsapp::model::{ConnectionStatus, ConnectionView};
use miping::domain::zone::Zone;

use crate::assets::ASSETS;
use crate::nav::{self, NavSection};
use crate::session::{NoSession, Viewer};

/// A one-time message shown after a change ("Template submitted for review").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toast {
    /// `success` | `info` | `warning` | `danger`
    pub kind: &'static str,
    pub text: String,
}

/// The cookie that carries a toast across a no-JavaScript redirect (Post/Redirect/Get).
pub const FLASH_COOKIE: &str = "miping_flash";

/// The request's pending toast (set by the previous request's redirect).
pub fn flash(headers: &HeaderMap) -> Vec<Toast> {
    let Some(raw) = crate::session::cookie(headers, FLASH_COOKIE) else { return Vec::new() };
    let decoded: Vec<(String, String)> = serde_urlencoded::from_str(&raw).unwrap_or_default();
    decoded
        .into_iter()
        .find(|(k, _)| k == "t")
        .map(|(_, text)| {
            let kind = if text.starts_with('!') { "danger" } else { "success" };
            vec![Toast { kind, text: text.trim_start_matches('!').chars().take(300).collect() }]
        })
        .unwrap_or_default()
}

/// Whether the request came from console.js (`HX-Request: true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hx(pub bool);

impl Hx {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Hx(headers.get("hx-request").is_some_and(|v| v == "true"))
    }

    /// A redirect the way this request can follow it: `204` + `HX-Location` for console.js (a
    /// 303 would be followed by fetch with `HX-Request` still set), 303 otherwise.
    pub fn redirect_or(self, why: NoSession) -> Response {
        match (self.0, why) {
            (true, NoSession::SignIn { ended }) => hx_location(if ended { "/?ended=1" } else { "/" }),
            (true, NoSession::ChangePassword) => hx_location("/change-password"),
            (_, other) => other.into_response(),
        }
    }

    /// After a successful change: go to `location` with `toast` shown there. console.js follows
    /// `HX-Location` with a full navigation, so the toast travels as the flash cookie either way.
    pub fn done(self, location: &str, toast: &str) -> Response {
        let mut r = if self.0 { hx_location(location) } else { redirect_to(location) };
        set_flash(&mut r, toast);
        r
    }

    /// Go to `location` (no toast).
    pub fn go(self, location: &str) -> Response {
        if self.0 { hx_location(location) } else { redirect_to(location) }
    }

    /// After a change that stays on the page: the fragment, with the toast in `HX-Trigger`
    /// (console.js); without it, 303 back to `location` with the toast as the flash.
    pub fn updated(self, fragment: Response, location: &str, toast: &str) -> Response {
        if self.0 {
            let mut r = fragment;
            r.headers_mut().insert("hx-trigger", toast_trigger(toast, "success"));
            r
        } else {
            redirect_with_flash(location, toast)
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Hx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Hx::from_headers(&parts.headers))
    }
}

/// `HX-Trigger` value for a toast. Header values must be ASCII: non-ASCII is `\uXXXX`-escaped.
pub fn toast_trigger(text: &str, kind: &str) -> HeaderValue {
    let json = serde_json::json!({ "toast": { "message": text, "kind": kind } }).to_string();
    let mut ascii = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    HeaderValue::from_str(&ascii).unwrap_or_else(|_| HeaderValue::from_static("{}"))
}

fn hx_location(location: &str) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert("hx-location", v);
    }
    r
}

/// 303 See Other to `location`.
pub fn redirect_to(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")));
    r
}

/// 303 to `location`, with `toast` shown once there.
pub fn redirect_with_flash(location: &str, toast: &str) -> Response {
    let mut r = redirect_to(location);
    set_flash(&mut r, toast);
    r
}

/// Makes the next page show `toast` once (a danger toast when it starts with `!`).
pub fn set_flash(r: &mut Response, toast: &str) {
    let value = serde_urlencoded::to_string([("t", toast)]).unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&format!("{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Renders a template as an HTML answer.
pub fn html<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            server_error()
        }
    }
}

/// A page that only says something (errors, refusals), without the navigation.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    css: String,
}

pub fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, &MessagePage { title, text, css: ASSETS.css.url() })
}

/// A failure while loading or changing a page: logged here with what failed (`what`), the
/// error page for the person.
pub fn failed(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "{what} failed");
    server_error()
}

pub fn server_error() -> Response {
    // Never the cause: it is logged where it happened.
    let body = MessagePage {
        title: "Something went wrong",
        text: "The page could not be loaded. Try again in a moment.",
        css: ASSETS.css.url(),
    }
    .render()
    .unwrap_or_else(|_| "Something went wrong".into());
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// A signed-in person asked for a page their role does not have.
pub fn forbidden_page(_viewer: &Viewer) -> Response {
    message_page(StatusCode::FORBIDDEN, "Not available", "Your role cannot open this page. Go back to the start page.")
}

/// 404 (also for another tenant's ids: a foreign id is never confirmed to exist).
pub fn not_found_page() -> Response {
    message_page(StatusCode::NOT_FOUND, "Page not found", "There is nothing here. It may have been deleted.")
}

/// The chip in the top bar: how the tenant's WhatsApp connection is doing.
#[derive(Clone, Debug)]
pub struct StatusChip {
    /// `` (green) | `status-chip--warn` | `status-chip--bad`
    pub class: &'static str,
    pub text: &'static str,
}

impl StatusChip {
    pub fn of(status: ConnectionStatus) -> Self {
        use ConnectionStatus::*;
        match status {
            Connected => Self { class: "", text: "connected" },
            Connecting => Self { class: "status-chip--warn", text: "connecting" },
            NeedsReauth => Self { class: "status-chip--warn", text: "needs attention" },
            NotConnected => Self { class: "status-chip--warn", text: "not connected" },
            Disconnected => Self { class: "status-chip--bad", text: "disconnected" },
            Banned => Self { class: "status-chip--bad", text: "banned" },
        }
    }
}

/// The tenant part of the chrome.
#[derive(Clone, Debug)]
pub struct TenantChrome {
    /// Its brand name when it set one, else the tenant's name.
    pub name: String,
    pub initial: String,
    /// `/brand/logo/{id}` when the brand has a logo (shown instead of the initial).
    pub logo_url: Option<String>,
    pub chip: StatusChip,
}

/// The layout's data (templates/layout.html). Every signed-in page has one, built by [`Shell::load`].
#[derive(Clone, Debug)]
pub struct Shell {
    pub title: String,
    pub csrf: String,
    pub theme: Option<&'static str>,
    pub css: String,
    pub js: String,
    pub icons: String,
    /// `/brand/<rrggbb>.css`: the tenant's brand colour, the kit's own for the platform.
    pub brand_css: String,
    /// The zone the page's dates are in: the tenant's, UTC on the platform's pages.
    pub tz: Zone,
    pub user_name: String,
    pub user_email: String,
    pub initials: String,
    pub role_label: &'static str,
    pub tenant: Option<TenantChrome>,
    pub nav: Vec<NavSection>,
    pub flash: Vec<Toast>,
}

/// What [`Shell::load_with_tenant`] read about the viewer's tenant, for a page that shows it too
/// (the dashboard) instead of reading it again.
pub struct TenantReads {
    pub tenant: Result<Tenant, miping::domain::Error>,
    pub connection: Result<ConnectionView, miping::domain::Error>,
}

impl Shell {
    /// The chrome for `viewer` on the page at `path` (which marks the current navigation item).
    /// Reads the tenant, its settings (brand, time zone) and its WhatsApp connection, in parallel.
    pub async fn load(state: &AppState, viewer: &Viewer, headers: &HeaderMap, title: &str, path: &str) -> Self {
        Self::load_with_tenant(state, viewer, headers, title, path).await.0
    }

    /// [`Shell::load`], handing over the tenant and connection it read (`None` for a viewer
    /// without a tenant). A failed read only blanks the chrome; the page decides what it means.
    pub async fn load_with_tenant(
        state: &AppState,
        viewer: &Viewer,
        headers: &HeaderMap,
        title: &str,
        path: &str,
    ) -> (Self, Option<TenantReads>) {
        let user = viewer.user();
        let (reads, settings) = match viewer.tenant_id() {
            Some(tenant_id) => {
                let (tenant, settings, connection) = tokio::join!(
                    miping::domain::tenants::get(&state.ports, tenant_id),
                    tenant_settings::get(&state.ports, tenant_id),
                    connect::status(&state.ports, tenant_id)
                );
                let settings = settings.unwrap_or_else(|e| {
                    // The page still shows, in UTC with the default look.
                    tracing::error!(error = %e.message, "tenant settings failed to load");
                    TenantSettings::default()
                });
                (Some(TenantReads { tenant, connection }), settings)
            }
            None => (None, TenantSettings::default()),
        };
        let tenant = reads.as_ref().map(|r| {
            let name = match &settings.brand {
                Some(b) => b.name.clone(),
                None => r.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
            };
            let status = r.connection.as_ref().map(|c| c.status).unwrap_or_default();
            TenantChrome {
                initial: initials(&name, 1),
                name,
                logo_url: crate::pages::settings::logo_url(&settings),
                chip: StatusChip::of(status),
            }
        });
        let tz = zone(&settings);
        let shell = Shell {
            title: title.to_owned(),
            csrf: viewer.csrf.clone(),
            theme: viewer.theme,
            css: ASSETS.css.url(),
            js: ASSETS.js.url(),
            icons: ASSETS.icons.url(),
            brand_css: crate::brand::stylesheet_url(settings.brand.as_ref().map(|b| b.color.as_str())),
            tz,
            user_name: user.name.clone(),
            user_email: user.email.clone(),
            initials: initials(&user.name, 2),
            role_label: match user.role {
                Role::SuperAdmin => "Platform owner",
                Role::TenantAdmin => "Admin",
                Role::TenantAgent => "Agent",
            },
            tenant,
            nav: nav::for_role(user.role, path),
            flash: flash(headers),
        };
        (shell, reads)
    }

    /// `Acme Dental` → the tab title's suffix.
    pub fn site(&self) -> &str {
        self.tenant.as_ref().map(|t| t.name.as_str()).unwrap_or("Miping")
    }

    /// An icon from the sprite, for `<use href>`.
    pub fn icon(&self, name: &str) -> String {
        format!("{}#{name}", self.icons)
    }
}

fn zone(settings: &TenantSettings) -> Zone {
    Zone::or_utc(&settings.time_zone)
}

/// The tenant's time zone, for a fragment answered without the chrome (UTC when unreadable).
pub async fn time_zone(state: &AppState, tenant_id: &str) -> Zone {
    match tenant_settings::get(&state.ports, tenant_id).await {
        Ok(s) => zone(&s),
        Err(e) => {
            tracing::error!(error = %e.message, "tenant settings failed to load");
            Zone::UTC
        }
    }
}

/// Up to `n` capital initials of a name ("Asha Rao" → "AR").
pub fn initials(name: &str, n: usize) -> String {
    let s: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(n).collect();
    if s.is_empty() { "?".into() } else { s.to_uppercase() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toasts_survive_non_ascii_in_a_header() {
        let v = toast_trigger("Plantilla “pedido” enviada ✓", "success");
        let s = v.to_str().unwrap();
        assert!(s.is_ascii());
        let back: serde_json::Value = serde_json::from_str(s).unwrap();
        assert_eq!(back["toast"]["message"], "Plantilla “pedido” enviada ✓");
    }

    #[test]
    fn a_flash_cookie_round_trips_and_danger_is_marked() {
        let mut headers = HeaderMap::new();
        let value = serde_urlencoded::to_string([("t", "Saved; all good")]).unwrap();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("a=b; {FLASH_COOKIE}={value}")).unwrap());
        assert_eq!(flash(&headers), vec![Toast { kind: "success", text: "Saved; all good".into() }]);
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Asha Rao", 2), "AR");
        assert_eq!(initials("acme dental clinic", 1), "A");
        assert_eq!(initials("  ", 2), "?");
    }
}

/// The chrome of the signed-out pages (sign in, forgotten password): no navigation, and a CSRF
/// token bound to the `miping_anon` nonce cookie (set here when the browser has none yet).
#[derive(Clone, Debug)]
pub struct Chrome {
    pub csrf: String,
    pub theme: Option<&'static str>,
    pub css: String,
    pub js: String,
    pub flash: Vec<Toast>,
    /// `Set-Cookie` for a new nonce, to send with the page.
    pub set_nonce: Option<HeaderValue>,
}

impl Chrome {
    pub fn signed_out(state: &AppState, headers: &HeaderMap) -> Self {
        let (nonce, set_nonce) = match crate::session::cookie(headers, crate::session::ANON_COOKIE) {
            Some(n) if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) => (n, None),
            _ => {
                let n: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
                let cookie = crate::session::set_anon_cookie(state, &n);
                (n, Some(cookie))
            }
        };
        Chrome {
            csrf: crate::csrf::for_anonymous(state, &nonce),
            theme: crate::session::theme(headers),
            css: ASSETS.css.url(),
            js: ASSETS.js.url(),
            flash: flash(headers),
            set_nonce,
        }
    }

    /// The chrome of a signed-in person on a page without navigation (the forced password change).
    pub fn signed_in(viewer: &Viewer, headers: &HeaderMap) -> Self {
        Chrome {
            csrf: viewer.csrf.clone(),
            theme: viewer.theme,
            css: ASSETS.css.url(),
            js: ASSETS.js.url(),
            flash: flash(headers),
            set_nonce: None,
        }
    }

    /// `response` with the nonce cookie when this chrome made one.
    pub fn finish(&self, mut response: Response) -> Response {
        if let Some(c) = &self.set_nonce {
            response.headers_mut().append(header::SET_COOKIE, c.clone());
        }
        response
    }
}

/// A whole page, or on `HX-Request` its fragment (the block the request's target shows).
pub fn page_or_fragment<P: Template, F: Template>(hx: Hx, status: StatusCode, page: &P, fragment: F) -> Response {
    if hx.0 { html(status, &fragment) } else { html(status, page) }
}

/// Whether a destructive POST was confirmed: console.js's dialog sends `HX-Confirmed: true`; a
/// plain form (no JavaScript) reposts from [`confirm_page`] with `confirmed=1`.
/// The body of a destructive action's POST: `confirmed=1` when it comes from the confirmation
/// page (without JavaScript); console.js's dialog sends `HX-Confirmed` instead (see [`confirmed`]).
#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub confirmed: Option<String>,
}

pub fn confirmed(headers: &HeaderMap, confirmed_field: Option<&str>) -> bool {
    headers.get("hx-confirmed").is_some_and(|v| v == "true") || confirmed_field == Some("1")
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    shell: Shell,
    question: &'a str,
    action: &'a str,
    button: &'a str,
    back: &'a str,
    fields: &'a [(&'a str, &'a str)],
}

/// The page a destructive action shows without JavaScript: the question naming the thing, and a
/// form that repeats the post (`action`, with `fields`) with `confirmed=1`. `shell.title` is the
/// heading ("Delete template").
pub fn confirm_page(
    shell: Shell,
    question: &str,
    action: &str,
    button: &str,
    back: &str,
    fields: &[(&str, &str)],
) -> Response {
    html(StatusCode::OK, &ConfirmPage { shell, question, action, button, back, fields })
}
