//! Headers every console answer carries: a Content-Security-Policy without inline scripts or
//! styles (the kit needs neither), no framing, no sniffing, no caching of pages (they hold
//! personal data), and the one-time toast cookie cleared once a page has shown it.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// The strict policy widened for one page: `script`, `frame` and `connect` origins added to
/// their directives (e.g. the Facebook SDK's), everything else as [`CSP`].
pub fn widened_csp(script: &[&str], frame: &[&str], connect: &[&str]) -> String {
    let join = |origins: &[&str]| origins.iter().map(|o| format!(" {o}")).collect::<String>();
    format!(
        "default-src 'self'; script-src 'self'{}; style-src 'self'; img-src 'self' data:{}; \
        connect-src 'self'{}; frame-src{}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
        object-src 'none'",
        join(script),
        join(frame),
        join(connect),
        if frame.is_empty() { " 'none'".to_owned() } else { join(frame) },
    )
}

pub async fn headers(req: Request, next: Next) -> Response {
    let had_flash = crate::session::cookie(req.headers(), crate::page::FLASH_COOKIE).is_some();
    let hx = crate::page::Hx::from_headers(req.headers()).0;
    let mut res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let h = res.headers_mut();
    // A page that loads a third party's script (the connect page's Facebook SDK) sets a wider
    // policy itself; every other answer gets the strict one.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if had_flash && is_html && !hx && res.status().is_success() {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("miping_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    res
}
