//! Exact money. Amounts are integers in 1/10,000 of a currency unit ([`SCALE`] = 4 decimals),
//! because WhatsApp's per-message prices have four decimals (e.g. 0.7846 INR) and must add up
//! exactly over millions of messages. Floats never hold money here.
//!
//! On the wire an amount is a decimal string (`"499.99"`), always written with at least two
//! decimals. Input may be a string or a JSON number; a number is read as the decimal it was
//! written as (see [`Money::from_json`]), and more than four decimals is an error, never a
//! rounding.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Decimal places kept.
pub const SCALE: u32 = 4;
const UNIT: i64 = 10_i64.pow(SCALE);
/// Largest magnitude accepted from input: 100 billion units. Keeps every amount (and any sum of
/// a few million of them) far from `i64` overflow, and keeps JSON numbers within the 15
/// significant digits an `f64` carries exactly (see [`Money::from_json`]).
pub const MAX_UNITS: i64 = 100_000_000_000 * UNIT - 1;
/// The most a tenant's prepaid balance may hold: 10 billion units. A credit that would take the
/// balance above it is refused (422 `balance_limit_exceeded`). It is a tenth of [`MAX_UNITS`],
/// the largest amount that can be read back, so every stored amount stays readable: a balance
/// only grows past this cap by refunds of debits taken while it was at most the cap, and those
/// would have to add up to 90 billion to reach `MAX_UNITS`.
pub const MAX_BALANCE: Money = Money(10_000_000_000 * UNIT);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal amount such as \"12.50\"")]
    NotADecimal,
    #[error("must have at most {SCALE} decimal places")]
    TooManyDecimals,
    #[error("is too large")]
    TooLarge,
}

impl MoneyError {
    /// A stable snake_case code for a 422 field error.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::NotADecimal => "invalid_decimal",
            MoneyError::TooManyDecimals => "too_many_decimals",
            MoneyError::TooLarge => "too_large",
        }
    }
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// From 1/10,000 units (what the store keeps where it does arithmetic).
    pub const fn from_units(units: i64) -> Self {
        Money(units)
    }
    pub const fn units(self) -> i64 {
        self.0
    }
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// Parses `-?digits(.digits)?`, with at most [`SCALE`] decimals. No exponent, no `+`, no
    /// spaces, no thousands separators: an amount that needs interpreting is refused.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|f| !digits(f)) {
            return Err(MoneyError::NotADecimal);
        }
        let frac = frac.unwrap_or("");
        // Trailing zeros beyond the scale are harmless ("1.50000" is 1.5).
        let frac = frac.trim_end_matches('0');
        if frac.len() > SCALE as usize {
            return Err(MoneyError::TooManyDecimals);
        }
        let int = int.trim_start_matches('0');
        if int.len() > 12 {
            return Err(MoneyError::TooLarge);
        }
        let whole: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| MoneyError::TooLarge)? };
        let mut frac_units: i64 =
            if frac.is_empty() { 0 } else { frac.parse().map_err(|_| MoneyError::NotADecimal)? };
        frac_units *= 10_i64.pow(SCALE - frac.len() as u32);
        let units = whole.checked_mul(UNIT).and_then(|w| w.checked_add(frac_units)).ok_or(MoneyError::TooLarge)?;
        if units > MAX_UNITS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(if negative { -units } else { units }))
    }

    /// An amount from JSON: a string (parsed as above) or a number.
    ///
    /// serde_json hands us a number as an `f64` unless it is an integer. We format that `f64`
    /// with Rust's shortest round-trip formatting and parse the result as a decimal. That gives
    /// back exactly the decimal the client wrote whenever it has at most 15 significant digits:
    /// two distinct such decimals are further apart than one ulp of an `f64`, so no other short
    /// decimal maps to the same float. [`MAX_UNITS`] caps amounts at 11 integer digits + 4
    /// decimals = 15 digits, so every accepted number is exact; larger numbers are refused, never
    /// rounded.
    pub fn from_json(v: &Value) -> Result<Money, MoneyError> {
        match v {
            Value::String(s) => Money::parse(s.trim()),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    return i.checked_mul(UNIT).filter(|u| u.abs() <= MAX_UNITS).map(Money).ok_or(MoneyError::TooLarge);
                }
                if n.as_u64().is_some() {
                    return Err(MoneyError::TooLarge);
                }
                let f = n.as_f64().ok_or(MoneyError::NotADecimal)?;
                if !f.is_finite() || f.abs() >= 1e11 {
                    return Err(MoneyError::TooLarge);
                }
                Money::parse(&format!("{f}"))
            }
            _ => Err(MoneyError::NotADecimal),
        }
    }
}

impl fmt::Display for Money {
    /// `-12.5` → `"-12.50"`, `0.7846` → `"0.7846"`: at least two decimals, at most four, no
    /// trailing zeros beyond two.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / UNIT as u64;
        let frac = format!("{:04}", abs % UNIT as u64);
        let frac = frac.trim_end_matches('0');
        let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_string() };
        write!(f, "{sign}{whole}.{frac}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

/// The API shows money as a decimal string (`"12.50"`): exact, unlike a JSON number.
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^-?[0-9]+\.[0-9]{2,4}$"))
            .examples([serde_json::json!("12.50")])
            .into()
    }
}

impl utoipa::ToSchema for Money {}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MoneyVisitor;
        impl Visitor<'_> for MoneyVisitor {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal amount as a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                Money::from_json(&Value::String(v.to_string())).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Money::from_json(&Value::from(v)).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                Money::from_json(&Value::from(v)).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                let n = serde_json::Number::from_f64(v).ok_or_else(|| E::custom(MoneyError::NotADecimal))?;
                Money::from_json(&Value::Number(n)).map_err(E::custom)
            }
        }
        d.deserialize_any(MoneyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(m("499.99").units(), 4_999_900);
        assert_eq!(m("0.7846").units(), 7_846);
        assert_eq!(m("100").units(), 1_000_000);
        assert_eq!(m("-1.5").units(), -15_000);
        assert_eq!(m("1.50000").units(), 15_000);
        assert_eq!(m("007.10").units(), 71_000);
    }

    #[test]
    fn refuses_what_it_would_have_to_guess() {
        for bad in ["", "-", ".", "1.", ".5", "1,000.00", "1e3", "+1", " 1", "abc", "1.2.3", "--1"] {
            assert_eq!(Money::parse(bad), Err(MoneyError::NotADecimal), "{bad:?}");
        }
        assert_eq!(Money::parse("0.12345"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("1000000000000"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse("99999999999.9999").unwrap().units(), MAX_UNITS);
        assert_eq!(Money::parse("100000000000"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn json_numbers_are_read_as_written() {
        let cases = [(json!(499.99), 4_999_900), (json!(0.7846), 7_846), (json!(0.1), 1_000), (json!(12), 120_000)];
        for (v, units) in cases {
            assert_eq!(Money::from_json(&v).unwrap().units(), units, "{v}");
        }
        // 0.1 + 0.2 in floats is 0.30000000000000004; we never do float arithmetic.
        let sum = Money::from_json(&json!(0.1)).unwrap().checked_add(Money::from_json(&json!(0.2)).unwrap()).unwrap();
        assert_eq!(sum.to_string(), "0.30");
        assert_eq!(Money::from_json(&json!(99999999999.9999)).unwrap().units(), MAX_UNITS);
        assert_eq!(Money::from_json(&json!(0.78461)), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::from_json(&json!(1e300)), Err(MoneyError::TooLarge));
        assert_eq!(Money::from_json(&json!(u64::MAX)), Err(MoneyError::TooLarge));
        assert_eq!(Money::from_json(&json!(true)), Err(MoneyError::NotADecimal));
        assert_eq!(Money::from_json(&json!("12.5")).unwrap().units(), 125_000);
    }

    #[test]
    fn displays_two_to_four_decimals() {
        assert_eq!(m("499.99").to_string(), "499.99");
        assert_eq!(m("0.7846").to_string(), "0.7846");
        assert_eq!(m("100").to_string(), "100.00");
        assert_eq!(m("0.5").to_string(), "0.50");
        assert_eq!(m("-12.345").to_string(), "-12.345");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn serde_round_trip() {
        let v: Money = serde_json::from_str("\"19.9\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"19.90\"");
        let v: Money = serde_json::from_str("0.7846").unwrap();
        assert_eq!(v.units(), 7_846);
        let v: Money = serde_json::from_str("7").unwrap();
        assert_eq!(v.units(), 70_000);
        assert!(serde_json::from_str::<Money>("0.00001").is_err());
        assert!(serde_json::from_str::<Money>("null").is_err());
    }
}
