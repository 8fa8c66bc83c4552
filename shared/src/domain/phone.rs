//! Phone numbers: whatever a person or a spreadsheet wrote, normalised to E.164.
//!
//! Parsing and validation are libphonenumber's (the `phonenumber` crate, Google's metadata);
//! this module only decides how to read the *prefix*, because contacts arrive without a
//! country context:
//! - spaces, dashes, dots and parentheses are separators (`+91 98765-43210`, `(555) 123.4567`);
//! - `+…` and `00…` are international;
//! - bare digits are international digits without the `+` (what WhatsApp itself shows as
//!   `wa_id`, and what exports from most tools contain): `919876543210` is `+919876543210`.
//!
//! A national number with a trunk prefix (`09876 543210`) is therefore rejected rather than
//! guessed at: without a country there is no right answer. A tenant that sets a
//! `default_country` gives that answer ([`E164::parse_in`]): what does not start with `+` or
//! `00` is first read as a number of that country (libphonenumber strips the trunk prefix, and
//! also accepts the country code written without `+`), and only when that is not a valid number
//! as international digits, as without a country.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, PoisonError};

use phonenumber::Mode;

/// Longest input considered at all (a real number with separators is far shorter); keeps junk
/// cells in a 100k-row import from costing anything.
const MAX_RAW_LEN: usize = 64;

/// Answers the memo keeps at most (see [`Memo`]): a few thousand recipients, well under 1 MB.
const MEMO_CAPACITY: usize = 4096;

/// A valid phone number in E.164 (`+` and up to 15 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("is required")]
    Empty,
    #[error("contains characters that are not part of a phone number")]
    NotANumber,
    #[error("is not a valid phone number (include the country code, e.g. +14155550123)")]
    Invalid,
}

impl PhoneError {
    /// Stable snake_case code for API answers.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::Empty => "required",
            PhoneError::NotANumber => "not_a_phone_number",
            PhoneError::Invalid => "invalid_phone",
        }
    }
}

/// A country libphonenumber has a numbering plan for (ISO 3166 alpha-2, upper case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Country(phonenumber::country::Id);

impl Country {
    /// `"IN"` (or `"in"`) → India; `None` for codes that are not a country with a numbering plan.
    pub fn parse(code: &str) -> Option<Self> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let id: phonenumber::country::Id = code.parse().ok()?;
        phonenumber::metadata::DATABASE.by_id(id.as_ref()).map(|_| Country(id))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl E164 {
    /// Normalises and validates `raw` (see the module docs for how the prefix is read).
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        Self::parse_in(raw, None)
    }

    /// As [`E164::parse`], reading national numbers (`098765 43210`) as `country`'s when given.
    ///
    /// The libphonenumber part (~200 k instructions a number) is remembered per process: the
    /// same recipient written the same way is parsed once (see [`Memo`]).
    pub fn parse_in(raw: &str, country: Option<Country>) -> Result<Self, PhoneError> {
        static MEMO: LazyLock<Memo> = LazyLock::new(|| Memo::new(MEMO_CAPACITY));
        Self::parse_with(raw, country, Some(&MEMO))
    }

    fn parse_with(raw: &str, country: Option<Country>, memo: Option<&Memo>) -> Result<Self, PhoneError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(PhoneError::Empty);
        }
        if raw.len() > MAX_RAW_LEN {
            return Err(PhoneError::Invalid);
        }
        let compact = compact(raw)?;
        // What the answer depends on: the digits, and the country only when it is read in one.
        let country = country.filter(|_| is_national(raw));
        match memo {
            Some(memo) => memo.get_or_parse(compact, country),
            None => libphonenumber(&compact, country),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `compact` (`+` and digits) read as `country`'s national number first when given, then as
/// international digits.
fn libphonenumber(compact: &str, country: Option<Country>) -> Result<E164, PhoneError> {
    if let Some(country) = country
        && let Some(national) = valid(phonenumber::parse(Some(country.0), &compact[1..]))
    {
        return Ok(national);
    }
    valid(phonenumber::parse(None, compact)).ok_or(PhoneError::Invalid)
}

/// Loads libphonenumber's metadata (~1.3 G instructions, built lazily on the first parse) and
/// compiles the regexes of a common number, so that the first request does not pay for them. For
/// long-running processes only (the local process calls it on a blocking thread at start); a
/// Lambda's cold start must not.
pub fn warm() {
    let _ = libphonenumber("+14155552671", None);
}

/// Parsed answers by (compact number, country it is read in). Parsing is pure, so an entry never
/// goes stale; when the map is full it is emptied and fills again (a 100k-row import of distinct
/// numbers costs a clear every few thousand rows, nothing more). The lock is held for the lookup
/// and the insert only, never while parsing: two requests for a new number may both parse it,
/// and both get the same answer.
struct Memo {
    capacity: usize,
    answers: Mutex<HashMap<MemoKey, Result<E164, PhoneError>>>,
}

/// The compact number (`+` and digits) and the country it is read in, if any.
type MemoKey = (String, Option<Country>);

impl Memo {
    fn new(capacity: usize) -> Self {
        Memo { capacity, answers: Mutex::new(HashMap::new()) }
    }

    fn get_or_parse(&self, compact: String, country: Option<Country>) -> Result<E164, PhoneError> {
        let key = (compact, country);
        if let Some(answer) = self.answers.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return answer.clone();
        }
        let answer = libphonenumber(&key.0, country);
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        if answers.len() >= self.capacity {
            answers.clear();
        }
        answers.insert(key, answer.clone());
        answer
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.answers.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `is_valid` checks the number against its region's numbering plan, not only its length.
fn valid(parsed: Result<phonenumber::PhoneNumber, phonenumber::ParseError>) -> Option<E164> {
    let number = parsed.ok()?;
    (phonenumber::is_valid(&number) && number.extension().is_none())
        .then(|| E164(number.format().mode(Mode::E164).to_string()))
}

/// Written without an international prefix (`+`, `00`).
fn is_national(raw: &str) -> bool {
    let start: String = raw.chars().filter(|c| !is_separator(*c)).take(2).collect();
    !start.starts_with('+') && start != "00"
}

/// True for the characters people put between digits.
pub fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\t')
}

/// `+` and digits only, with `00` and bare digits read as international.
fn compact(raw: &str) -> Result<String, PhoneError> {
    let mut out = String::with_capacity(raw.len() + 1);
    let mut chars = raw.chars().filter(|c| !is_separator(*c)).peekable();
    if chars.peek() == Some(&'+') {
        chars.next();
    }
    out.push('+');
    for c in chars {
        if !c.is_ascii_digit() {
            return Err(PhoneError::NotANumber);
        }
        out.push(c);
    }
    if let Some(rest) = out.strip_prefix("+00") {
        out = format!("+{rest}");
    }
    if out.len() == 1 {
        return Err(PhoneError::NotANumber);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str) -> Result<String, PhoneError> {
        E164::parse(raw).map(E164::into_string)
    }

    #[test]
    fn the_same_person_written_differently_is_one_number() {
        for raw in [
            "+91 98765-43210",
            "919876543210",
            "+919876543210",
            "0091 98765 43210",
            "(+91) 98765.43210",
            " 91-98765-43210 ",
        ] {
            assert_eq!(e164(raw).as_deref(), Ok("+919876543210"), "{raw}");
        }
    }

    #[test]
    fn real_numbers_from_several_countries() {
        let cases = [
            ("+1 (415) 555-2671", "+14155552671"),   // US
            ("1.650.253.0000", "+16502530000"),      // US, Google
            ("+44 20 7946 0958", "+442079460958"),   // UK, London
            ("447911123456", "+447911123456"),       // UK mobile
            ("+49 30 901820", "+4930901820"),        // Germany, Berlin
            ("0033 6 12 34 56 78", "+33612345678"),  // France mobile
            ("+55 11 96123-4567", "+5511961234567"), // Brazil, São Paulo mobile
            ("+234 803 123 4567", "+2348031234567"), // Nigeria mobile
            ("+62 812-3456-7890", "+6281234567890"), // Indonesia mobile
            ("+52 55 1234 5678", "+525512345678"),   // Mexico City
            ("+971 50 123 4567", "+971501234567"),   // UAE mobile
            ("+61 4 1234 5678", "+61412345678"),     // Australia mobile
        ];
        for (raw, want) in cases {
            assert_eq!(e164(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn junk_is_rejected_with_a_reason() {
        assert_eq!(e164(""), Err(PhoneError::Empty));
        assert_eq!(e164("   "), Err(PhoneError::Empty));
        assert_eq!(e164("call me"), Err(PhoneError::NotANumber));
        assert_eq!(e164("+91 98765 4321x"), Err(PhoneError::NotANumber));
        assert_eq!(e164("+"), Err(PhoneError::NotANumber));
        assert_eq!(e164("12345"), Err(PhoneError::Invalid), "too short for any plan");
        assert_eq!(e164("+1 555 0000 000 000 000"), Err(PhoneError::Invalid), "too long");
        assert_eq!(e164("+999 123456789"), Err(PhoneError::Invalid), "no such country code");
        assert_eq!(e164("+1 011 555 2671"), Err(PhoneError::Invalid), "US area codes never start with 0");
        assert_eq!(e164("09876543210"), Err(PhoneError::Invalid), "national trunk prefix: no country to guess");
        assert_eq!(e164(&"9".repeat(200)), Err(PhoneError::Invalid));
    }

    #[test]
    fn a_default_country_reads_national_numbers() {
        let india = Country::parse("in");
        assert_eq!(india.map(|c| c.as_str().to_owned()).as_deref(), Some("IN"));
        let read = |raw: &str| E164::parse_in(raw, india).map(E164::into_string);
        for raw in ["098765 43210", "98765 43210", "(0) 98765-43210", "+91 98765 43210", "919876543210"] {
            assert_eq!(read(raw).as_deref(), Ok("+919876543210"), "{raw}");
        }
        // International numbers stay international.
        assert_eq!(read("+44 20 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(read("0044 20 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(read("447911123456").as_deref(), Ok("+447911123456"));
        assert_eq!(read("0 12"), Err(PhoneError::Invalid));
        let us = Country::parse("US");
        assert_eq!(E164::parse_in("(415) 555-2671", us).map(E164::into_string).as_deref(), Ok("+14155552671"));
        for bad in ["", "I", "IND", "ZZ", "1N", "EU"] {
            assert_eq!(Country::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_memo_answers_as_the_uncached_parse_does() {
        let memo = Memo::new(MEMO_CAPACITY);
        let (india, us) = (Country::parse("IN"), Country::parse("US"));
        let inputs = [
            "+91 98765-43210",
            "919876543210",
            "0091 98765 43210",
            "098765 43210",
            "98765 43210",
            "(415) 555-2671",
            "+1 (415) 555-2671",
            "+44 20 7946 0958",
            "0044 20 7946 0958",
            "12345",
            "09876543210",
            "+999 123456789",
            "+1 011 555 2671",
            "0 12",
            "call me",
            "+",
            "",
            "   ",
        ];
        // Twice: the first round fills the memo, the second answers from it.
        for _ in 0..2 {
            for raw in inputs {
                for country in [None, india, us] {
                    assert_eq!(
                        E164::parse_with(raw, country, Some(&memo)),
                        E164::parse_with(raw, country, None),
                        "{raw} in {country:?}"
                    );
                }
            }
        }
        // The same digits read with and without a country are different entries.
        assert_eq!(
            E164::parse_with("98765 43210", india, Some(&memo)).map(E164::into_string).as_deref(),
            Ok("+919876543210")
        );
        assert_eq!(E164::parse_with("98765 43210", None, Some(&memo)), Err(PhoneError::Invalid));
        // An international number does not depend on the country: one entry for all of them.
        let before = memo.len();
        for country in [None, india, us] {
            assert_eq!(
                E164::parse_with("+33 6 12 34 56 78", country, Some(&memo)).map(E164::into_string).as_deref(),
                Ok("+33612345678")
            );
        }
        assert_eq!(memo.len(), before + 1);
    }

    #[test]
    fn the_memo_stays_within_its_capacity() {
        let memo = Memo::new(8);
        for n in 0..100 {
            let raw = format!("+1 415 555 {:04}", 2600 + n);
            let parsed = E164::parse_with(&raw, None, Some(&memo));
            assert_eq!(parsed, E164::parse_with(&raw, None, None), "{raw}");
            assert!(memo.len() <= 8, "{} entries after {raw}", memo.len());
        }
        // Full of other numbers, it still answers right for the first.
        assert_eq!(
            E164::parse_with("+1 415 555 2600", None, Some(&memo)).map(E164::into_string).as_deref(),
            Ok("+14155552600")
        );
    }

    #[test]
    fn the_memo_is_shared_by_threads() {
        let memo = Memo::new(16);
        std::thread::scope(|s| {
            for t in 0..4 {
                let memo = &memo;
                s.spawn(move || {
                    for n in 0..50 {
                        let raw = format!("+1 415 555 {:04}", 2600 + (n + t) % 20);
                        assert_eq!(E164::parse_with(&raw, None, Some(memo)), E164::parse_with(&raw, None, None));
                    }
                });
            }
        });
        assert!(memo.len() <= 16);
    }
}
