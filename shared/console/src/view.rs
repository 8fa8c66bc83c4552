//! How values read on a page: numbers with separators, percentages, status words and colours
//! (the same word and colour everywhere: CONSOLE.md → Status).

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

/// A moment for `<time datetime="{{ iso }}" data-relative>{{ text }}</time>`: the exact time
/// in the tenant's time zone (UTC until the tenant settings land), relative in the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    pub iso: String,
    pub text: String,
}

pub fn when(at: chrono::DateTime<chrono::Utc>) -> When {
    When {
        iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        text: at.format("%-d %b %Y, %H:%M UTC").to_string(),
    }
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
    fn message_states_read_the_same_everywhere() {
        use miping::domain::messages::MessageStatus;
        assert_eq!(message_status(MessageStatus::Read), ("badge--read", "read"));
        assert_eq!(message_status(MessageStatus::Failed), ("badge--failed", "failed"));
        let w = when(chrono::DateTime::parse_from_rfc3339("2026-12-06T10:27:05Z").unwrap().into());
        assert_eq!((w.iso.as_str(), w.text.as_str()), ("2026-12-06T10:27:05Z", "6 Dec 2026, 10:27 UTC"));
    }
}
