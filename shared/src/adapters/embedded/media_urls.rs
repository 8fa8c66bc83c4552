//! Signed, expiring URLs for the embedded media store: what S3 presigned URLs are on AWS.
//!
//! ```text
//! GET|HEAD {public_url}/media-files/{key}?expires={unix seconds}&sig={signature}
//! PUT      {public_url}/media-files/{key}?expires={unix seconds}&sig={signature}
//!          with exactly the Content-Type and Content-Length the URL was made for
//! ```
//!
//! `sig` is HMAC-SHA256 (base64url, no padding) under a key kept in `<data_dir>/keys/media.key`
//! over `"{METHOD}\n{key}\n{expires}\n{content type}\n{content length}"` (type and length empty
//! for GET). As with S3's signed headers, a PUT's type and size are not in the URL: the server
//! signs what the request carries, so another type or size does not match. A GET URL is no PUT
//! URL (the method is signed) and a URL for one key opens no other (the key is signed, and keys
//! are [`MediaKey`]s: no `..`). The local process serves these paths (`http::media_files`); it calls
//! [`MediaUrls::verify`] and then the storage.

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::ports::storage::MediaKey;

/// The path the local HTTP layer serves media files under.
pub const PATH_PREFIX: &str = "/media-files/";

/// Makes and checks the embedded store's media URLs.
#[derive(Clone)]
pub struct MediaUrls {
    key: SecretString,
    public_url: String,
}

impl std::fmt::Debug for MediaUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaUrls").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

/// Why a media URL was refused. The HTTP layer answers 403 for all of them (404 is for a valid
/// URL whose file is gone), and says no more than the reason's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("not a media key")]
    BadKey,
    #[error("the URL lacks expires or sig, or has them twice")]
    Malformed,
    #[error("the URL has expired")]
    Expired,
    #[error("the signature does not match this request")]
    BadSignature,
    #[error("media URLs allow GET, HEAD and PUT only")]
    Method,
}

/// What the server saw of a request to `/media-files/{key}`.
#[derive(Clone, Copy, Debug)]
pub struct MediaRequest<'a> {
    pub method: &'a http::Method,
    /// The path after [`PATH_PREFIX`] (media keys need no percent-decoding).
    pub key: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// For a PUT: the request's `Content-Type` and `Content-Length` headers.
    pub content_type: Option<&'a str>,
    pub content_length: Option<u64>,
}

impl MediaUrls {
    /// `public_url` is the local process's base URL (`MIPING_PUBLIC_URL`).
    pub fn new(key: SecretString, public_url: &str) -> Self {
        Self { key, public_url: public_url.trim_end_matches('/').to_owned() }
    }

    pub fn get_url(&self, key: &MediaKey, expires_at: DateTime<Utc>) -> String {
        self.url(key, expires_at, &self.signature("GET", key.as_str(), expires_at.timestamp(), "", ""))
    }

    pub fn put_url(&self, key: &MediaKey, content_type: &str, size: u64, expires_at: DateTime<Utc>) -> String {
        let signature = self.signature("PUT", key.as_str(), expires_at.timestamp(), content_type, &size.to_string());
        self.url(key, expires_at, &signature)
    }

    fn url(&self, key: &MediaKey, expires_at: DateTime<Utc>, signature: &str) -> String {
        format!("{}{PATH_PREFIX}{key}?expires={}&sig={signature}", self.public_url, expires_at.timestamp())
    }

    /// Checks a request against its URL's signature and expiry at `now`; the key it may act on.
    pub fn verify(&self, request: &MediaRequest<'_>, now: DateTime<Utc>) -> Result<MediaKey, UrlRefused> {
        let key = MediaKey::parse(request.key).map_err(|_| UrlRefused::BadKey)?;
        let (expires, sig) = expires_and_sig(request.query)?;
        let (method, content_type, length) = match *request.method {
            http::Method::GET | http::Method::HEAD => ("GET", String::new(), String::new()),
            http::Method::PUT => (
                "PUT",
                request.content_type.unwrap_or_default().to_owned(),
                request.content_length.map(|n| n.to_string()).unwrap_or_default(),
            ),
            _ => return Err(UrlRefused::Method),
        };
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).map_err(|_| UrlRefused::BadSignature)?;
        // Constant-time comparison (hmac's verify), checked before the expiry so a forged URL
        // learns nothing from which error it gets.
        self.mac(method, key.as_str(), expires, &content_type, &length)
            .verify_slice(&sig)
            .map_err(|_| UrlRefused::BadSignature)?;
        if now.timestamp() >= expires {
            return Err(UrlRefused::Expired);
        }
        Ok(key)
    }

    fn signature(&self, method: &str, key: &str, expires: i64, content_type: &str, length: &str) -> String {
        let mac = self.mac(method, key, expires, content_type, length);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn mac(&self, method: &str, key: &str, expires: i64, content_type: &str, length: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes()).expect("HMAC takes any key length");
        mac.update(format!("{method}\n{key}\n{expires}\n{content_type}\n{length}").as_bytes());
        mac
    }
}

/// `expires` and `sig`, each exactly once; other parameters are ignored (as S3 ignores unsigned ones).
fn expires_and_sig(query: &str) -> Result<(i64, &str), UrlRefused> {
    let (mut expires, mut sig) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "expires" => &mut expires,
            "sig" => &mut sig,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(UrlRefused::Malformed);
        }
    }
    let expires = expires.and_then(|e| e.parse::<i64>().ok()).ok_or(UrlRefused::Malformed)?;
    Ok((expires, sig.ok_or(UrlRefused::Malformed)?))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::ports::storage::Direction;

    fn urls() -> MediaUrls {
        MediaUrls::new(SecretString::from("test-media-key"), "http://127.0.0.1:3000/")
    }

    fn key() -> MediaKey {
        MediaKey::new("ten_1", Direction::Outbound, "med_1/invoice.pdf").unwrap()
    }

    /// Splits a URL made by `urls()` into what the server sees.
    fn request<'a>(url: &'a str, method: &'a http::Method) -> MediaRequest<'a> {
        let rest = url.strip_prefix("http://127.0.0.1:3000/media-files/").expect("url shape");
        let (key, query) = rest.split_once('?').expect("query");
        MediaRequest { method, key, query, content_type: None, content_length: None }
    }

    #[test]
    fn a_get_url_has_the_documented_shape_and_verifies_until_it_expires() {
        let now = Utc::now();
        let url = urls().get_url(&key(), now + Duration::seconds(300));
        let expected = format!(
            "http://127.0.0.1:3000/media-files/tenants/ten_1/outbound/med_1/invoice.pdf?expires={}&sig=",
            (now + Duration::seconds(300)).timestamp()
        );
        assert!(url.starts_with(&expected), "{url}");
        let req = request(&url, &http::Method::GET);
        assert_eq!(urls().verify(&req, now), Ok(key()));
        assert_eq!(urls().verify(&request(&url, &http::Method::HEAD), now), Ok(key()));
        assert_eq!(urls().verify(&req, now + Duration::seconds(300)), Err(UrlRefused::Expired));
    }

    #[test]
    fn a_url_opens_only_its_own_key_method_and_signer() {
        let now = Utc::now();
        let url = urls().get_url(&key(), now + Duration::seconds(60));
        let mut req = request(&url, &http::Method::GET);
        req.key = "tenants/ten_2/outbound/med_1/invoice.pdf";
        assert_eq!(urls().verify(&req, now), Err(UrlRefused::BadSignature));
        req.key = "tenants/ten_1/outbound/med_1/../../../ten_2/x";
        assert_eq!(urls().verify(&req, now), Err(UrlRefused::BadKey));
        let put = request(&url, &http::Method::PUT);
        assert_eq!(urls().verify(&put, now), Err(UrlRefused::BadSignature), "a GET URL used to PUT");
        let other_signer = MediaUrls::new(SecretString::from("another-key"), "http://127.0.0.1:3000");
        assert_eq!(other_signer.verify(&request(&url, &http::Method::GET), now), Err(UrlRefused::BadSignature));
        let delete = request(&url, &http::Method::DELETE);
        assert_eq!(urls().verify(&delete, now), Err(UrlRefused::Method));
    }

    #[test]
    fn a_tampered_expiry_or_signature_is_refused() {
        let now = Utc::now();
        let expires = now + Duration::seconds(60);
        let url = urls().get_url(&key(), expires);
        let later = url.replace(&expires.timestamp().to_string(), &(expires.timestamp() + 3600).to_string());
        assert_eq!(urls().verify(&request(&later, &http::Method::GET), now), Err(UrlRefused::BadSignature));
        let (base, sig) = url.split_once("&sig=").unwrap();
        let flipped = format!("{base}&sig={}", sig.replacen(&sig[..1], if &sig[..1] == "A" { "B" } else { "A" }, 1));
        assert_eq!(urls().verify(&request(&flipped, &http::Method::GET), now), Err(UrlRefused::BadSignature));
        let key = key();
        for query in
            ["", "expires=1", "sig=abc", "expires=x&sig=abc", &format!("{}&sig={sig}", url.split_once('?').unwrap().1)]
        {
            let req = MediaRequest {
                method: &http::Method::GET,
                key: key.as_str(),
                query,
                content_type: None,
                content_length: None,
            };
            assert_eq!(urls().verify(&req, now), Err(UrlRefused::Malformed), "{query:?}");
        }
    }

    #[test]
    fn a_put_url_holds_only_for_its_content_type_and_size() {
        let now = Utc::now();
        let url = urls().put_url(&key(), "application/pdf", 1234, now + Duration::seconds(60));
        let method = http::Method::PUT;
        let exact = MediaRequest {
            content_type: Some("application/pdf"),
            content_length: Some(1234),
            ..request(&url, &method)
        };
        assert_eq!(urls().verify(&exact, now), Ok(key()));
        for (content_type, length) in [
            (Some("text/html"), Some(1234)),
            (Some("application/pdf"), Some(1235)),
            (None, Some(1234)),
            (Some("application/pdf"), None),
        ] {
            let req = MediaRequest { content_type, content_length: length, ..exact };
            assert_eq!(urls().verify(&req, now), Err(UrlRefused::BadSignature), "{content_type:?} {length:?}");
        }
        assert_eq!(
            urls().verify(&MediaRequest { method: &http::Method::GET, ..exact }, now),
            Err(UrlRefused::BadSignature)
        );
    }

    #[test]
    fn debug_shows_no_key() {
        assert!(!format!("{:?}", urls()).contains("test-media-key"));
    }
}
