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
pub fn moment(at: chrono::DateTime<chrono::Utc>) -> (String, String) {
    (at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), at.format("%-d %b %Y, %H:%M UTC").to_string())
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
}
