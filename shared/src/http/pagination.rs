//! Cursor pagination, the SPEC way: `?limit=` (default 50, max 500) and `?cursor=`; answers
//! `{"items": [...], "next_cursor": "..." | null}`.
//!
//! What a client sees as a cursor is the list's own cursor (the table's position, or a ledger
//! sequence) sealed with AES-256-GCM under a key derived from the JWT secret: it reveals nothing
//! of the key layout, cannot be forged or edited, and every process with the same secret opens
//! it (all API functions on AWS). [`ListResponse`] seals `next_cursor` when it is serialized and
//! [`PageParams::cursor`] opens `?cursor=`; a cursor that does not open, or that belongs to
//! another list, is the same 400 `invalid_cursor` on every list ([`invalid_cursor`]).

use std::sync::OnceLock;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::error::{ApiError, FieldError};
use crate::ports::table::TableError;

/// Bound into every sealed cursor, so no other AES-GCM ciphertext under a related key opens as one.
const CURSOR_AAD: &[u8] = b"miping list cursor v1";
const NONCE_LEN: usize = 12;

fn cipher_cell() -> &'static OnceLock<Aes256Gcm> {
    static CIPHER: OnceLock<Aes256Gcm> = OnceLock::new();
    &CIPHER
}

/// Derives the cursor key from the JWT secret (once per process; the first call wins). Without
/// it (unit tests), a random key per process is used.
pub fn install_cursor_key(jwt_secret: &SecretString) {
    let mut h = Sha256::new();
    h.update(b"miping cursor key v1\0");
    h.update(jwt_secret.expose_secret().as_bytes());
    let key = h.finalize();
    let _ = cipher_cell().set(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)));
}

fn cipher() -> &'static Aes256Gcm {
    cipher_cell().get_or_init(|| Aes256Gcm::new(&Aes256Gcm::generate_key(OsRng)))
}

/// The cursor a client is given for the list's own `cursor`.
pub fn seal_cursor(cursor: &str) -> String {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let payload = aes_gcm::aead::Payload { msg: cursor.as_bytes(), aad: CURSOR_AAD };
    let sealed = cipher().encrypt(&nonce, payload).expect("AES-GCM encryption of a short cursor");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    URL_SAFE_NO_PAD.encode(out)
}

/// The list's own cursor inside a client's cursor, or the one 400 every list answers.
pub fn open_cursor(sealed: &str) -> Result<String, ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| invalid_cursor())?;
    if bytes.len() <= NONCE_LEN {
        return Err(invalid_cursor());
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let payload = aes_gcm::aead::Payload { msg: ciphertext, aad: CURSOR_AAD };
    let plain = cipher().decrypt(Nonce::from_slice(nonce), payload).map_err(|_| invalid_cursor())?;
    String::from_utf8(plain).map_err(|_| invalid_cursor())
}

/// The answer to a cursor that is not one of this list's: malformed, tampered with, from another
/// list or another deployment.
pub fn invalid_cursor() -> ApiError {
    crate::domain::Error::invalid_cursor().into()
}

/// A list query's error: a cursor the table refuses (it opened, but is another list's
/// position) is the client's, the same 400 as a cursor that does not open.
pub fn list_error(e: TableError) -> ApiError {
    crate::domain::error::list_error(e).into()
}

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size, or a 422 naming `limit` when it is out of range.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::validation(vec![FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            )])),
        }
    }
    /// The list's own cursor from `?cursor=` (none when absent or empty), or 400 `invalid_cursor`.
    pub fn cursor(&self) -> Result<Option<String>, ApiError> {
        self.cursor.as_deref().filter(|c| !c.is_empty()).map(open_cursor).transpose()
    }
}

/// One page of a list; `next_cursor` is null on the last page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null when there is none. Opaque (and sealed).
    #[serde(serialize_with = "serialize_sealed")]
    pub next_cursor: Option<String>,
}

fn serialize_sealed<S: Serializer>(cursor: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match cursor {
        Some(c) => serializer.serialize_some(&seal_cursor(c)),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_sealed_and_refuse_anything_else() {
        let raw = r#"eyJQSyI6IlQjdGVuXzEjQ09OVEFDVFMifQ"#;
        let sealed = seal_cursor(raw);
        assert!(!sealed.contains(raw), "the list's cursor is not visible");
        assert_ne!(sealed, seal_cursor(raw), "a fresh nonce each time");
        assert_eq!(open_cursor(&sealed).unwrap(), raw);
        // Garbage, a raw table cursor, a truncated or edited sealed one: the same 400.
        let mut edited = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        *edited.last_mut().unwrap() ^= 1;
        for bad in ["", "nope", raw, &sealed[..sealed.len() - 4], &URL_SAFE_NO_PAD.encode(edited)] {
            let e = open_cursor(bad).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (400, "invalid_cursor"), "{bad}");
        }
    }

    #[test]
    fn list_responses_serialize_a_sealed_cursor() {
        let page = ListResponse { items: vec![1], next_cursor: Some("position".to_owned()) };
        let v = serde_json::to_value(&page).unwrap();
        let next = v["next_cursor"].as_str().unwrap();
        assert_ne!(next, "position");
        assert_eq!(open_cursor(next).unwrap(), "position");
        let last = ListResponse::<u8> { items: vec![], next_cursor: None };
        assert_eq!(serde_json::to_value(&last).unwrap()["next_cursor"], serde_json::Value::Null);
    }
}
