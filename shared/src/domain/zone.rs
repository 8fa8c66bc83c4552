//! A tenant's time zone: an IANA name and the rules behind it.
//!
//! The zone database comes from jiff's bundled copy of the IANA tzdb: its TZif files compiled into
//! the binary as one block of bytes (a few hundred KB, read when a zone is first asked for), so a
//! Lambda needs no `/usr/share/zoneinfo` and a self-hosted install answers the same as AWS.
//! chrono-tz, used before, links every transition of every zone as a Rust table of
//! `(i64, FixedTimespan { name: Option<&'static str> })` — 66,175 entries, each with a pointer to
//! relocate — which was most of 2.2 MB in every function that shows or counts local dates.
//! Dates keep chrono's types everywhere else; this type only turns instants into local times and
//! back.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
use jiff::tz::TimeZone;

/// An IANA time zone (`Asia/Kolkata`), or UTC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone(TimeZone);

/// The name is not a zone of the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}")]
pub struct UnknownZone(pub String);

impl Zone {
    pub const UTC: Zone = Zone(TimeZone::UTC);

    /// The zone named `name` in the IANA database (the lookup ignores case; [`Zone::name`] gives
    /// the database's spelling).
    pub fn parse(name: &str) -> Result<Zone, UnknownZone> {
        jiff::tz::db().get(name).map(Zone).map_err(|_| UnknownZone(name.to_owned()))
    }

    /// A stored zone name, or UTC when it is no longer (or never was) a zone: dates must still
    /// show and count.
    pub fn or_utc(name: &str) -> Zone {
        Zone::parse(name).unwrap_or(Zone::UTC)
    }

    /// The IANA name, as the database spells it (`UTC` for UTC).
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }

    /// The zone's offset from UTC at `at`.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        self.offset_and_abbreviation(at).0
    }

    /// What the zone's clocks are called at `at` ("IST", "EST", "+04" where the database has no
    /// letters), as pages print it after a time.
    pub fn abbreviation_at(&self, at: DateTime<Utc>) -> String {
        self.offset_and_abbreviation(at).1
    }

    fn offset_and_abbreviation(&self, at: DateTime<Utc>) -> (FixedOffset, String) {
        let zero = || FixedOffset::east_opt(0).expect("zero offset");
        // Outside jiff's range (beyond ±9999 years) there are no zone rules anyway.
        let Ok(ts) = jiff::Timestamp::new(at.timestamp(), 0) else { return (zero(), "UTC".into()) };
        let info = self.0.to_offset_info(ts);
        (FixedOffset::east_opt(info.offset().seconds()).unwrap_or_else(zero), info.abbreviation().to_owned())
    }

    /// `at` on the zone's clocks.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.offset_at(at))
    }

    /// `at`'s date on the zone's clocks.
    pub fn date(&self, at: DateTime<Utc>) -> NaiveDate {
        self.local(at).date_naive()
    }

    /// The first instant the zone's clocks show `local`: the earlier of two when clocks go back;
    /// when they jump over it, the instant of the jump (the local time just after the gap).
    pub fn earliest(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        use chrono::Datelike;
        let civil = jiff::civil::DateTime::new(
            i16::try_from(local.year()).ok()?,
            i8::try_from(local.month()).ok()?,
            i8::try_from(local.day()).ok()?,
            i8::try_from(local.hour()).ok()?,
            i8::try_from(local.minute()).ok()?,
            i8::try_from(local.second()).ok()?,
            0,
        )
        .ok()?;
        let ambiguous = self.0.to_ambiguous_timestamp(civil);
        let gap = matches!(ambiguous.offset(), jiff::tz::AmbiguousOffset::Gap { .. });
        // Read on the offset after a gap, a skipped time falls before the jump: the next
        // transition is the jump itself, the first instant of the local times after it.
        let mut ts = ambiguous.earlier().ok()?;
        if gap {
            ts = self.0.following(ts).next()?.timestamp();
        }
        DateTime::from_timestamp(ts.as_second(), local.nanosecond())
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone::UTC
    }
}

impl FromStr for Zone {
    type Err = UnknownZone;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Zone::parse(s)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn names_resolve_to_the_database_spelling_and_unknown_names_are_refused() {
        assert_eq!(Zone::parse("Asia/Kolkata").unwrap().name(), "Asia/Kolkata");
        assert_eq!(Zone::parse("asia/kolkata").unwrap().name(), "Asia/Kolkata");
        assert_eq!(Zone::parse("UTC").unwrap().name(), "UTC");
        assert_eq!(Zone::UTC.name(), "UTC");
        assert_eq!(Zone::parse("Mars/Olympus_Mons"), Err(UnknownZone("Mars/Olympus_Mons".into())));
        assert_eq!(Zone::parse(""), Err(UnknownZone(String::new())));
        assert_eq!(Zone::or_utc("nowhere"), Zone::UTC);
    }

    #[test]
    fn local_times_follow_the_zone_rules_on_both_sides_of_a_change() {
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.local(utc("2026-12-06T20:05:07Z")).to_rfc3339(), "2026-12-07T01:35:07+05:30");
        assert_eq!(kolkata.date(utc("2026-12-06T18:29:59Z")).to_string(), "2026-12-06");
        assert_eq!(kolkata.date(utc("2026-12-06T18:30:00Z")).to_string(), "2026-12-07");
        // New York: EDT (−4) until 2026-11-01 06:00 UTC, EST (−5) after.
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(ny.offset_at(utc("2026-11-01T05:59:59Z")).local_minus_utc(), -4 * 3600);
        assert_eq!(ny.offset_at(utc("2026-11-01T06:00:00Z")).local_minus_utc(), -5 * 3600);
        assert_eq!(ny.abbreviation_at(utc("2026-11-01T05:59:59Z")), "EDT");
        assert_eq!(ny.abbreviation_at(utc("2026-11-01T06:00:00Z")), "EST");
        assert_eq!(kolkata.abbreviation_at(utc("2026-12-06T20:05:07Z")), "IST");
        assert_eq!(Zone::UTC.abbreviation_at(utc("2026-12-06T20:05:07Z")), "UTC");
    }

    #[test]
    fn local_midnights_map_back_to_instants_even_around_clock_changes() {
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        let midnight = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(kolkata.earliest(midnight), Some(utc("2026-12-06T18:30:00Z")));
        let ny = Zone::parse("America/New_York").unwrap();
        // 01:30 happens twice on 2026-11-01: the first is on EDT.
        let twice = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(1, 30, 0).unwrap();
        assert_eq!(ny.earliest(twice), Some(utc("2026-11-01T05:30:00Z")));
        // 02:30 never happens on 2026-03-08: the clocks jump from 02:00 EST to 03:00 EDT.
        let never = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap().and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(ny.earliest(never), Some(utc("2026-03-08T07:00:00Z")));
    }
}
