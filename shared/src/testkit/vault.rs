//! Conformance suite for [`TokenVault`] adapters. Every case takes the vault under test; the
//! [`vault_conformance!`](crate::vault_conformance) macro turns them into one test each:
//!
//! ```ignore
//! mod file_vault { miping::vault_conformance!(async { std::sync::Arc::new(make_my_vault()) }); }
//! ```
//!
//! The port trait has no `Debug` bound, yet the suite must check the vault's `Debug` output:
//! so `$make` yields an `Arc<V>` of the concrete vault type (`V: TokenVault + Debug`) rather
//! than an `Arc<dyn TokenVault>`; every case but the `Debug` one takes `&dyn TokenVault`.
//!
//! Tenants are unique per call so adapters sharing a backend between tests stay independent.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};

use super::unique;
use crate::ports::vault::{TokenVault, VaultError};

/// A plausible WhatsApp business token: what the vault mostly holds.
const TOKEN: &str = "EAAGm0PX4ZCpsBAKZCwhatsappTOKENsecret0123456789abcdefXYZ";

async fn seal(vault: &dyn TokenVault, tenant: &str, secret: &str) -> String {
    match vault.seal(tenant, &SecretString::from(secret)).await {
        Ok(sealed) => sealed,
        Err(e) => panic!("seal failed: {e}"),
    }
}

async fn open(vault: &dyn TokenVault, tenant: &str, sealed: &str) -> Result<String, VaultError> {
    vault.open(tenant, sealed).await.map(|s| s.expose_secret().to_owned())
}

fn long_token() -> String {
    // 2 KB and more, beyond any single-block or small-buffer shortcut (and KMS's 4 KB is near).
    (0..2100).map(|i| char::from(b'A' + (i % 26) as u8)).collect()
}

/// `open(t, seal(t, s)) == s` for a token, a PIN, a 2 KB token and unicode text.
pub async fn round_trip(vault: &dyn TokenVault) {
    let tenant = unique("tenant");
    for secret in [TOKEN.to_owned(), "123456".to_owned(), long_token(), "pïn-१२३४-🔐 ключ".to_owned()] {
        let sealed = seal(vault, &tenant, &secret).await;
        let opened = open(vault, &tenant, &sealed).await;
        assert!(
            matches!(&opened, Ok(s) if *s == secret),
            "round trip failed for a {}-byte secret: {:?}",
            secret.len(),
            opened.map(|_| "<different secret>")
        );
    }
}

/// The sealed text contains neither the secret nor any base64 spelling of it.
pub async fn sealed_text_hides_secret(vault: &dyn TokenVault) {
    let tenant = unique("tenant");
    for secret in [TOKEN.to_owned(), long_token()] {
        let sealed = seal(vault, &tenant, &secret).await;
        assert!(!sealed.contains(&secret), "sealed value contains the secret");
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&secret);
            // Drop the last 4 chars: a base64 run inside a longer one may end differently.
            let core = &encoded[..encoded.len() - 4];
            assert!(!sealed.contains(core), "sealed value contains the secret in base64");
        }
    }
}

/// Sealing the same secret twice gives different ciphertexts (random nonce / data key).
pub async fn seals_of_same_secret_differ(vault: &dyn TokenVault) {
    let tenant = unique("tenant");
    let first = seal(vault, &tenant, TOKEN).await;
    let second = seal(vault, &tenant, TOKEN).await;
    assert_ne!(first, second, "two seals of the same secret are identical");
}

/// A value sealed for one tenant does not open for another, not even a prefix-sharing one.
pub async fn other_tenant_cannot_open(vault: &dyn TokenVault) {
    let tenant = unique("tenant");
    let sealed = seal(vault, &tenant, TOKEN).await;
    for other in [unique("tenant"), format!("{tenant}x"), tenant[..tenant.len() - 1].to_owned()] {
        let opened = open(vault, &other, &sealed).await;
        assert!(matches!(opened, Err(VaultError::CannotOpen)), "opened for tenant {other:?}: {}", describe(&opened));
    }
}

/// Flipped, truncated, extended, garbage and empty sealed values are all `CannotOpen`.
pub async fn tampered_cannot_open(vault: &dyn TokenVault) {
    let tenant = unique("tenant");
    let sealed = seal(vault, &tenant, TOKEN).await;
    let mut tampered = vec![
        ("middle char flipped", flip_char(&sealed, sealed.len() / 2)),
        ("last char flipped", flip_char(&sealed, sealed.len() - 1)),
        ("truncated by one", sealed[..sealed.len() - 1].to_owned()),
        ("truncated to half", sealed[..sealed.len() / 2].to_owned()),
        ("extended", format!("{sealed}AAAA")),
        ("prefix only", sealed.split_inclusive('.').next().unwrap_or_default().to_owned()),
        ("garbage", "not a sealed value".to_owned()),
        ("garbage base64", format!("{}{}", prefix_of(&sealed), URL_SAFE_NO_PAD.encode([7u8; 80]))),
        ("empty", String::new()),
    ];
    tampered.push(("the secret itself", TOKEN.to_owned()));
    for (what, value) in tampered {
        assert_ne!(value, sealed, "{what}: test bug, value not changed");
        let opened = open(vault, &tenant, &value).await;
        assert!(matches!(opened, Err(VaultError::CannotOpen)), "{what}: {}", describe(&opened));
    }
    // The genuine value still opens: the failures above were about the tampering.
    assert_eq!(open(vault, &tenant, &sealed).await.ok().as_deref(), Some(TOKEN));
}

/// Neither the vault nor its errors show the secret in `Debug` or `Display`.
pub async fn debug_and_errors_hide_secret<V: TokenVault + std::fmt::Debug>(vault: &V) {
    let tenant = unique("tenant");
    let secret = SecretString::from(TOKEN);
    let sealed = seal(vault, &tenant, TOKEN).await;
    let opened = vault.open(&tenant, &sealed).await;
    let wrong = vault.open(&unique("tenant"), &sealed).await;
    let tampered = vault.open(&tenant, &flip_char(&sealed, sealed.len() / 2)).await;
    let shown = [
        format!("{vault:?}"),
        format!("{secret:?}"),
        format!("{opened:?}"),
        format!("{wrong:?}"),
        format!("{tampered:?}"),
        wrong.as_ref().err().map(ToString::to_string).unwrap_or_default(),
        tampered.as_ref().err().map(ToString::to_string).unwrap_or_default(),
    ];
    for text in shown {
        assert!(!text.contains(TOKEN), "secret shown in {text:?}");
    }
}

fn describe(opened: &Result<String, VaultError>) -> String {
    match opened {
        Ok(_) => "opened (expected CannotOpen)".into(),
        Err(e) => format!("{e:?} (expected CannotOpen)"),
    }
}

/// The adapter's format prefix (up to and including the first '.'), or nothing.
fn prefix_of(sealed: &str) -> &str {
    sealed.find('.').map_or("", |i| &sealed[..=i])
}

/// Replaces the char at byte `at` (sealed values are ASCII) by another base64url char.
fn flip_char(sealed: &str, at: usize) -> String {
    let mut bytes = sealed.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One `#[tokio::test]` per conformance case. `$make` is an async expression (evaluated
/// afresh for each test) yielding `Arc<V>` with `V: TokenVault + Debug` (see the module doc);
/// the calling crate needs `tokio`.
#[macro_export]
macro_rules! vault_conformance {
    ($make:expr) => {
        $crate::vault_conformance!(@cases $make;
            round_trip,
            sealed_text_hides_secret,
            seals_of_same_secret_differ,
            other_tenant_cannot_open,
            tampered_cannot_open,
            debug_and_errors_hide_secret,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let vault = $make.await;
                $crate::testkit::vault::$case(&*vault).await;
            }
        )*
    };
}
