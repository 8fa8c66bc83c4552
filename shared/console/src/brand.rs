//! A tenant's brand colour as a tiny stylesheet (`/brand/<rrggbb>.css`), linked after
//! `console.css`: `:root{--brand:…;--brand-contrast:…}`. The URL is the colour itself, so the
//! answer needs no table read and is cacheable forever, and the CSP stays `style-src 'self'`
//! (no inline `<style>`). The contrast colour is chosen here, server-side: white or near-black,
//! whichever reads better on the brand (WCAG relative luminance).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The kit's own colour (console.css), for tenants without a brand.
pub const DEFAULT_COLOR: &str = "#3b5bdb";

/// `#rrggbb` → `rrggbb` in lower case, or None when it is not a 6-digit hex colour.
pub fn normalize(color: &str) -> Option<String> {
    let hex = color.strip_prefix('#').unwrap_or(color);
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

/// The text colour for a brand background (`rrggbb`): white when it reaches 4.5:1, else near-black
/// (which then always does better).
pub fn contrast_color(hex: &str) -> &'static str {
    let l = luminance(hex);
    if contrast(l, 1.0) >= 4.5 || contrast(l, 1.0) >= contrast(l, luminance("111111")) { "#ffffff" } else { "#111111" }
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
    let css = format!(":root{{--brand:#{hex};--brand-contrast:{}}}\n", contrast_color(&hex));
    crate::assets::immutable("text/css; charset=utf-8", css.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_brands_get_white_text_and_light_ones_dark_text() {
        assert_eq!(contrast_color("0a7d5a"), "#ffffff");
        assert_eq!(contrast_color("3b5bdb"), "#ffffff");
        assert_eq!(contrast_color("ffd43b"), "#111111");
        assert_eq!(contrast_color("ffffff"), "#111111");
        // Mid green: white is only ~3.3:1, so near-black.
        assert_eq!(contrast_color("2f9e44"), "#111111");
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
