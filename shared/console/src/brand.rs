//! A tenant's brand colour as a tiny stylesheet (`/brand/<rrggbb>.css`), linked after
//! `console.css`: `:root{--brand:…;--brand-contrast:…}`. The URL is the colour itself, so the
//! answer needs no table read and is cacheable forever, and the CSP stays `style-src 'self'`
//! (no inline `<style>`). The contrast colour is the domain's (`brand_contrast`): white or
//! near-black, whichever reads better on the brand (WCAG relative luminance).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use miping::domain::tenants::settings::brand_contrast;

/// The kit's own colour (console.css), for tenants without a brand.
pub const DEFAULT_COLOR: &str = "#3b5bdb";

/// `#rrggbb` → `rrggbb` in lower case, or None when it is not a 6-digit hex colour.
pub fn normalize(color: &str) -> Option<String> {
    let hex = color.strip_prefix('#').unwrap_or(color);
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// The stylesheet URL for a brand colour (any form [`normalize`] accepts; the default otherwise).
pub fn stylesheet_url(color: Option<&str>) -> String {
    let hex = color.and_then(normalize).unwrap_or_else(|| normalize(DEFAULT_COLOR).expect("valid default"));
    format!("/brand/{hex}.css")
}

/// `GET /brand/{rrggbb}.css`
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(hex) = file.strip_suffix(".css").and_then(normalize).filter(|h| file == format!("{h}.css")) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "no such stylesheet")
            .into_response();
    };
    let css = format!(":root{{--brand:#{hex};--brand-contrast:{}}}\n", brand_contrast(&format!("#{hex}")));
    crate::assets::immutable("text/css; charset=utf-8", css.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_stylesheet_pairs_the_brand_with_the_domains_contrast_colour() {
        for (file, contrast) in [("0a7d5a.css", "#ffffff"), ("ffd43b.css", "#111111")] {
            let r = serve(Path(file.to_owned())).await;
            assert_eq!(r.status(), StatusCode::OK);
            let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
            let hex = file.trim_end_matches(".css");
            assert_eq!(body, format!(":root{{--brand:#{hex};--brand-contrast:{contrast}}}\n").as_bytes());
        }
        assert_eq!(serve(Path("0A7D5A.css".to_owned())).await.status(), StatusCode::NOT_FOUND, "one URL per colour");
    }

    #[test]
    fn only_six_digit_hex_colours_are_brands() {
        assert_eq!(normalize("#0A7D5A").as_deref(), Some("0a7d5a"));
        assert_eq!(normalize("0a7d5a").as_deref(), Some("0a7d5a"));
        assert_eq!(normalize("#fff"), None);
        assert_eq!(normalize("red;}body{display:none"), None);
        assert_eq!(stylesheet_url(Some("nonsense")), "/brand/3b5bdb.css");
    }
}
