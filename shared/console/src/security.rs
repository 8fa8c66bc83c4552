//! Headers every console answer carries: a Content-Security-Policy without inline scripts or
//! styles (the kit needs neither), no framing, no sniffing, no caching of pages (they hold
//! personal data), and the one-time toast cookie cleared once a page has shown it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// The policy of every page of a console whose files are downloaded straight from storage at
/// `files` (S3's presigned URLs: a Lambda cannot answer more than 6 MB, so the inbox's photo,
/// video and voice-note previews are redirected there): [`CSP`] with that origin allowed for
/// images and media, nothing else.
pub fn csp(files: Option<&str>) -> String {
    match files {
        None => CSP.to_owned(),
        Some(origin) => CSP.replacen(
            "img-src 'self' data:;",
            &format!("img-src 'self' data: {origin}; media-src 'self' {origin};"),
            1,
        ),
    }
}

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

pub async fn headers(State(csp): State<HeaderValue>, req: Request, next: Next) -> Response {
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
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_origin_is_allowed_for_images_and_media_only() {
        assert_eq!(csp(None), CSP);
        let p = csp(Some("https://media-1.s3.eu-west-1.amazonaws.com"));
        assert!(p.contains("img-src 'self' data: https://media-1.s3.eu-west-1.amazonaws.com;"), "{p}");
        assert!(p.contains("media-src 'self' https://media-1.s3.eu-west-1.amazonaws.com;"), "{p}");
        assert_eq!(p.matches("amazonaws").count(), 2, "nowhere else: {p}");
        assert!(p.contains("script-src 'self';") && p.contains("connect-src 'self';"), "{p}");
    }
}
