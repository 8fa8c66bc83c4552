//! `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw request bytes with the app
//! secret. Verified in constant time (`Mac::verify_slice`), before anything is parsed or stored.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub const HEADER: &str = "x-hub-signature-256";

/// True when `header` is a valid signature of `body`.
pub fn verify(app_secret: &SecretString, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Some(expected) = decode_hex(hex_sig) else { return false };
    if app_secret.expose_secret().is_empty() {
        // An unconfigured secret must never make every signature valid.
        return false;
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value for `body` (used by the simulator and tests).
pub fn sign(app_secret: &SecretString, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", crate::util::hex(&mac.finalize().into_bytes()))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_reject_the_rest() {
        let secret = SecretString::from("app-secret");
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let good = sign(&secret, body);
        assert!(verify(&secret, body, Some(&good)));
        assert!(verify(&secret, body, Some(&good.to_uppercase().replace("SHA256=", "sha256="))));
        assert!(!verify(&secret, b"{}", Some(&good)), "another body");
        assert!(!verify(&SecretString::from("other"), body, Some(&good)), "another secret");
        assert!(!verify(&secret, body, None));
        assert!(!verify(&secret, body, Some("sha1=abc")));
        assert!(!verify(&secret, body, Some("sha256=zz")));
        assert!(!verify(&SecretString::from(""), body, Some(&sign(&SecretString::from(""), body))));
    }
}
