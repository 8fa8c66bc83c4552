//! The business behind an OAuth code, derived from the code alone.
//!
//! Every id embeds a 13-digit seed (12 digits of the code's SHA-256, then the number of phone
//! numbers), so any WABA or phone number id decodes back to its business without state: the
//! simulator restarts with the local process while the platform keeps the ids and tokens it
//! stored, and those must keep working.
//!
//! - business id: `12` + seed (15 digits); WABA id: `10` + seed (15 digits);
//! - phone number id: `11` + seed + index (16 digits);
//! - a code containing `finish_only_waba` has no phone number, one containing `numbers_N`
//!   (N in 1..=9) has N; otherwise one;
//! - only the part before a `~` counts: `acme~2` is the same business as `acme` (the same
//!   business running Embedded Signup again gets a new code for the same WABA and number).

use sha2::{Digest, Sha256};

const SEED_MOD: u64 = 1_000_000_000_000; // 12 digits from the hash

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    pub id: String,
    /// Meta's display form, e.g. `+1 555-042-1234`.
    pub display_phone_number: String,
    pub verified_name: String,
}

impl PhoneNumber {
    /// Digits only, as webhooks' `metadata.display_phone_number` carries it.
    pub fn display_digits(&self) -> String {
        self.display_phone_number.chars().filter(char::is_ascii_digit).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Business {
    /// 13 digits: the hash part then the phone number count.
    pub seed: u64,
    pub business_id: String,
    pub waba_id: String,
    pub name: String,
    pub phone_numbers: Vec<PhoneNumber>,
}

/// The business an OAuth code stands for (pure: same code, same business).
pub fn business_for_code(code: &str) -> Business {
    let code = code.split('~').next().unwrap_or(code);
    let digest = Sha256::digest(code.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let hash = u64::from_be_bytes(first) % SEED_MOD;
    Business::from_seed(hash * 10 + phone_count(code))
}

fn phone_count(code: &str) -> u64 {
    if code.contains("finish_only_waba") {
        return 0;
    }
    if let Some(rest) = code.split("numbers_").nth(1)
        && let Some(n) = rest.chars().next().and_then(|c| c.to_digit(10))
        && n >= 1
    {
        return u64::from(n);
    }
    1
}

impl Business {
    pub fn from_seed(seed: u64) -> Self {
        let hash = seed / 10;
        let count = seed % 10;
        let name = format!("Sim Business {:04X}", hash % 0x10000);
        let phone_numbers = (0..count)
            .map(|i| PhoneNumber {
                id: format!("11{seed:013}{i}"),
                display_phone_number: format!("+1 555-0{:02}-{:04}", (hash / 10_000 + i) % 100, (hash + i) % 10_000),
                verified_name: name.clone(),
            })
            .collect();
        Self { seed, business_id: format!("12{seed:013}"), waba_id: format!("10{seed:013}"), name, phone_numbers }
    }

    /// The business owning a WABA id, if the id has the simulator's shape.
    pub fn from_waba_id(id: &str) -> Option<Self> {
        seed_of(id, "10", 15).map(Self::from_seed)
    }

    /// The business owning a phone number id and the number itself.
    pub fn from_phone_id(id: &str) -> Option<(Self, PhoneNumber)> {
        if id.len() != 16 || !id.starts_with("11") || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seed = id[2..15].parse().ok()?;
        let business = Self::from_seed(seed);
        let phone = business.phone(id)?.clone();
        Some((business, phone))
    }

    pub fn phone(&self, id: &str) -> Option<&PhoneNumber> {
        self.phone_numbers.iter().find(|p| p.id == id)
    }
}

fn seed_of(id: &str, prefix: &str, len: usize) -> Option<u64> {
    if id.len() != len || !id.starts_with(prefix) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id[prefix.len()..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_code_same_business_and_ids_decode() {
        let a = business_for_code("abc");
        assert_eq!(a, business_for_code("abc"));
        assert_ne!(a.waba_id, business_for_code("abd").waba_id);
        assert_eq!(a.waba_id.len(), 15);
        assert_eq!(a.phone_numbers.len(), 1);
        assert_eq!(a.phone_numbers[0].id.len(), 16);
        assert_eq!(Business::from_waba_id(&a.waba_id), Some(a.clone()));
        let (b, p) = Business::from_phone_id(&a.phone_numbers[0].id).unwrap();
        assert_eq!((b, p), (a.clone(), a.phone_numbers[0].clone()));
        assert!(Business::from_phone_id("1100000000000015").is_none(), "index past the count");
    }

    #[test]
    fn code_flags_choose_the_phone_count() {
        assert!(business_for_code("x_finish_only_waba").phone_numbers.is_empty());
        assert_eq!(business_for_code("acme_numbers_3").phone_numbers.len(), 3);
    }

    #[test]
    fn a_tilde_suffix_is_the_same_business() {
        assert_eq!(business_for_code("acme~again"), business_for_code("acme"));
        assert_eq!(business_for_code("x_finish_only_waba~2").phone_numbers.len(), 0);
        assert_ne!(business_for_code("acme~again").waba_id, business_for_code("acme-again").waba_id);
    }
}
