//! How values read on a page: numbers with separators, percentages, status words and colours
//! (the same word and colour everywhere: CONSOLE.md → Status).

use chrono::{DateTime, FixedOffset, Utc};
use miping::domain::money::Money;
use miping::domain::whatsapp::model::ConnectionStatus;
use miping::domain::zone::Zone;

/// 1234567 → "1,234,567"
pub fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A file's size: "820 B", "48 KB", "1.2 MB" (1,024 steps, one decimal under ten).
pub fn file_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if size < 10.0 { format!("{size:.1} {}", UNITS[unit]) } else { format!("{size:.0} {}", UNITS[unit]) }
}

/// "26%" (of a limit; "0%" for a zero limit)
pub fn percent_of(used: u64, limit: u64) -> String {
    format!("{}%", used.saturating_mul(100).checked_div(limit).unwrap_or(0))
}

/// (badge modifier, word) for a WhatsApp connection.
pub fn connection_badge(status: ConnectionStatus) -> (&'static str, &'static str) {
    use ConnectionStatus::*;
    match status {
        Connected => ("badge--connected", "Connected"),
        Connecting => ("badge--warning", "Connecting"),
        NeedsReauth => ("badge--warning", "Needs reconnecting"),
        NotConnected => ("badge--warning", "Not connected"),
        Disconnected => ("badge--disconnected", "Disconnected"),
        Banned => ("badge--danger", "Banned"),
    }
}

/// (badge modifier, word) for a tenant.
pub fn tenant_status(status: &miping::domain::tenants::TenantStatus) -> (&'static str, &'static str) {
    use miping::domain::tenants::TenantStatus::*;
    match *status {
        Active => ("badge--active", "active"),
        Suspended => ("badge--suspended", "suspended"),
    }
}

/// (badge modifier, word) for a message template's status (CONSOLE.md → Status).
pub fn template_status(status: &str) -> (&'static str, &'static str) {
    match status {
        "SUBMITTING" | "PENDING" => ("badge--pending", "pending"),
        "IN_APPEAL" => ("badge--pending", "in appeal"),
        "APPROVED" => ("badge--approved", "approved"),
        "REJECTED" => ("badge--rejected", "rejected"),
        "DISABLED" => ("badge--rejected", "disabled"),
        "PAUSED" => ("badge--paused", "paused"),
        "LIMIT_EXCEEDED" => ("badge--warning", "limit exceeded"),
        "PENDING_DELETION" => ("", "being deleted"),
        "DELETED" => ("", "deleted"),
        _ => ("", "archived"),
    }
}

/// Meta's codes (`INVALID_FORMAT`, `TAG_CONTENT_MISMATCH`) as words: "Invalid format".
pub fn humanize_code(code: &str) -> String {
    crate::forms::sentence(&code.to_lowercase().replace('_', " ")).trim_end_matches('.').to_owned()
}

/// (badge modifier, word) for a message's status: the same on the messages log, a message's
/// page, campaign reports and the inbox.
pub fn message_status(status: miping::domain::messages::MessageStatus) -> (&'static str, &'static str) {
    use miping::domain::messages::MessageStatus::*;
    match status {
        Scheduled => ("badge--scheduled", "scheduled"),
        Queued => ("badge--queued", "queued"),
        Sending => ("badge--queued", "sending"),
        Sent => ("badge--sent", "sent"),
        Delivered => ("badge--delivered", "delivered"),
        Read => ("badge--read", "read"),
        Failed => ("badge--failed", "failed"),
        Cancelled => ("", "cancelled"),
        Received => ("badge--info", "received"),
    }
}

/// (badge modifier, word) for a campaign (cancelled: the plain badge).
pub fn campaign_badge(status: miping::domain::campaigns::CampaignStatus) -> (&'static str, &'static str) {
    use miping::domain::campaigns::CampaignStatus::*;
    match status {
        Scheduled => ("badge--scheduled", "scheduled"),
        Running => ("badge--running", "running"),
        Completed => ("badge--completed", "completed"),
        Cancelled => ("", "cancelled"),
    }
}

/// A moment as pages show it: `<time datetime="{iso}" data-relative>{text}</time>`, `text` (and
/// `date`) in the zone the page is for: the tenant's time zone on its pages, UTC on the
/// platform's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    pub iso: String,
    /// "6 Dec 2026, 14:35 IST"
    pub text: String,
    /// "6 Dec 2026" (the day it was there)
    pub date: String,
    local: DateTime<FixedOffset>,
    /// The zone's abbreviation then ("IST").
    zone: String,
}

impl When {
    /// The exact text to the second ("6 Dec 2026, 14:35:07 IST"), for a status history.
    pub fn to_the_second(self) -> Self {
        Self { text: format!("{} {}", self.local.format("%-d %b %Y, %H:%M:%S"), self.zone), ..self }
    }
}

/// `at` as it reads in `tz`.
pub fn when(at: DateTime<Utc>, tz: &Zone) -> When {
    let local = tz.local(at);
    let zone = tz.abbreviation_at(at);
    When {
        iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        text: format!("{} {zone}", local.format("%-d %b %Y, %H:%M")),
        date: local.format("%-d %b %Y").to_string(),
        local,
        zone,
    }
}

/// "12.50 INR": exact decimals, with the currency.
pub fn money(amount: Money, currency: &str) -> String {
    format!("{amount} {currency}")
}

/// A media kind as a page names it ("Image").
pub fn media_label(kind: miping::domain::media::MediaKind) -> &'static str {
    use miping::domain::media::MediaKind;
    match kind {
        MediaKind::Image => "Image",
        MediaKind::Video => "Video",
        MediaKind::Document => "Document",
        MediaKind::Audio => "Audio",
        MediaKind::Sticker => "Sticker",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_sizes_read_in_their_unit() {
        assert_eq!(super::file_size(54), "54 B");
        assert_eq!(super::file_size(48 * 1024 + 300), "48 KB");
        assert_eq!(super::file_size(1_300_000), "1.2 MB");
        assert_eq!(super::file_size(100 * 1024 * 1024), "100 MB");
    }

    use super::*;

    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(1234567), "1,234,567");
        assert_eq!(percent_of(1284, 5000), "25%");
        assert_eq!(percent_of(5, 0), "0%");
    }

    #[test]
    fn moments_and_money_read_exactly() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T09:05:00Z").unwrap().with_timezone(&Utc);
        let w = when(at, &Zone::UTC);
        assert_eq!((w.iso.as_str(), w.text.as_str()), ("2026-12-06T09:05:00Z", "6 Dec 2026, 09:05 UTC"));
        // Late evening in UTC is already the next day in Kolkata (+05:30); the instant is the same.
        let late = DateTime::parse_from_rfc3339("2026-12-06T20:05:07Z").unwrap().with_timezone(&Utc);
        let w = when(late, &Zone::parse("Asia/Kolkata").unwrap());
        assert_eq!((w.iso.as_str(), w.text.as_str()), ("2026-12-06T20:05:07Z", "7 Dec 2026, 01:35 IST"));
        assert_eq!(w.date, "7 Dec 2026");
        assert_eq!(w.to_the_second().text, "7 Dec 2026, 01:35:07 IST");
        assert_eq!(money(Money::from_units(125_000), "INR"), "12.50 INR");
    }
}
