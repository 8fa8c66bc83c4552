//! Business tokens: `EAAS` + seed (13 digits) + nonce (8 hex) + MAC (32 hex).
//!
//! The token carries the business it was issued for and a MAC keyed with the app secret, so the
//! simulator validates it without state (it survives restarts, like the platform's stored token)
//! and a forged or edited token is refused like an unparseable one on the real Graph API.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::business::Business;

const PREFIX: &str = "EAAS";

pub fn issue(seed: u64, app_secret: &str) -> String {
    let nonce: u32 = rand::random();
    let body = format!("{seed:013}{nonce:08x}");
    format!("{PREFIX}{body}{}", mac(&body, app_secret))
}

/// The business a token was issued for, if it is one of ours and untampered.
pub fn business_of(token: &str, app_secret: &str) -> Option<Business> {
    let rest = token.strip_prefix(PREFIX)?;
    if rest.len() != 13 + 8 + 32 || !rest.is_ascii() {
        return None;
    }
    let (body, tag) = rest.split_at(21);
    if mac(body, app_secret) != tag {
        return None;
    }
    body[..13].parse().ok().map(Business::from_seed)
}

/// `app_id|app_secret`, the app access token Meta accepts for `debug_token`.
pub fn is_app_token(token: &str, app_id: &str, app_secret: &str) -> bool {
    token.split_once('|').is_some_and(|(id, secret)| id == app_id && secret == app_secret)
}

fn mac(body: &str, app_secret: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    m.update(b"token:");
    m.update(body.as_bytes());
    crate::webhooks::hex(&m.finalize().into_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering() {
        let b = crate::business::business_for_code("c1");
        let t = issue(b.seed, "s");
        assert_eq!(business_of(&t, "s"), Some(b));
        assert_eq!(business_of(&t, "other-secret"), None);
        let mut forged = t.clone();
        forged.replace_range(5..6, if &t[5..6] == "1" { "2" } else { "1" });
        assert_eq!(business_of(&forged, "s"), None);
    }
}
