//! How values read on a page: numbers with separators, percentages, status words and colours
//! (the same word and colour everywhere: CONSOLE.md → Status).

use chrono::{DateTime, Utc};
use miping::domain::money::Money;
use miping::domain::whatsapp::model::ConnectionStatus;

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

/// "6 Dec 2026" (UTC until the tenant's time zone is known).
pub fn day(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %b %Y").to_string()
}

/// "6 Dec 2026, 10:27" (UTC), the exact text under a `<time data-relative>`.
pub fn moment(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
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

/// A moment for `<time datetime="…" data-relative>…</time>`: (the attribute, the exact text).
/// UTC until the tenant's time zone is a setting.
pub fn moment_pair(at: chrono::DateTime<chrono::Utc>) -> (String, String) {
    (at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), at.format("%-d %b %Y, %H:%M UTC").to_string())
}

/// A moment as pages show it: `<time datetime="{iso}" data-relative>{text}</time>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    pub iso: String,
    pub text: String,
}

/// Exact text in UTC (the tenant's time zone once tenant settings exist).
pub fn when(at: DateTime<Utc>) -> When {
    When {
        iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        text: at.format("%-d %b %Y, %H:%M UTC").to_string(),
    }
}

/// "12.50 INR": exact decimals, with the currency.
pub fn money(amount: Money, currency: &str) -> String {
    format!("{amount} {currency}")
}

#[cfg(test)]
mod tests {
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
        let w = when(at);
        assert_eq!((w.iso.as_str(), w.text.as_str()), ("2026-12-06T09:05:00Z", "6 Dec 2026, 09:05 UTC"));
        assert_eq!(money(Money::from_units(125_000), "INR"), "12.50 INR");
    }
}
