//! The console's static files, embedded in the binary and served at content-addressed URLs
//! (`/assets/console.<hash>.css`): a new build changes the URL, so browsers may cache each one
//! for a year (`immutable`) and never run a stale script against new pages.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub struct Asset {
    /// `console.css`
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// `console.<hash>.css`
    pub hashed: String,
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let (stem, ext) = name.rsplit_once('.').expect("asset names have an extension");
        Self { name, content_type, bytes, hashed: format!("{stem}.{hash}.{ext}") }
    }

    /// The URL pages link to.
    pub fn url(&self) -> String {
        format!("/assets/{}", self.hashed)
    }
}

pub struct Assets {
    pub css: Asset,
    pub js: Asset,
    pub icons: Asset,
    /// The connect page's script (Embedded Signup through the Facebook SDK).
    pub connect: Asset,
}

pub static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets {
    css: Asset::new("console.css", "text/css; charset=utf-8", include_bytes!("../assets/console.css")),
    js: Asset::new("console.js", "text/javascript; charset=utf-8", include_bytes!("../assets/console.js")),
    icons: Asset::new("icons.svg", "image/svg+xml", include_bytes!("../assets/icons.svg")),
    connect: Asset::new("connect.js", "text/javascript; charset=utf-8", include_bytes!("../assets/connect.js")),
});

/// `GET /assets/{file}`: only the current hashed names (an old hash is a 404, never old content
/// under a cacheable name).
pub async fn serve(Path(file): Path<String>) -> Response {
    let assets = &*ASSETS;
    match [&assets.css, &assets.js, &assets.icons, &assets.connect].into_iter().find(|a| a.hashed == file) {
        Some(asset) => immutable(asset.content_type, asset.bytes.to_vec()),
        None => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "no such asset")
            .into_response(),
    }
}

/// A response that may be cached forever (its URL changes with its content).
pub fn immutable(content_type: &'static str, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], body)
        .into_response()
}
