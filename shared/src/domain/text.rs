//! Rules every name-like field shares (plans, tenants, users, API keys, campaigns, contacts,
//! templates' one-line texts): no control characters. A name ends up in email headers, CSV
//! exports, logs and other people's screens; a CR/LF in it is never a name, and is how a header
//! (`Bcc:`) or a log line gets forged.

use crate::domain::FieldError;

pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Control characters other than the line breaks and tabs a multi-line text may hold.
pub fn has_control_besides_line_breaks(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// The 422 detail for `field`.
pub fn control_error(field: impl Into<String>) -> FieldError {
    FieldError::new(field, "invalid_characters", "must not contain control characters (line breaks, tabs, ...)")
}

/// A required one-line name: trimmed, 1 to `max` characters, no control characters.
pub fn name(field: &str, raw: Option<&str>, max: usize) -> Result<String, FieldError> {
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "is required"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")));
    }
    if has_control(value) {
        return Err(control_error(field));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("name", Some("  Sunrise College "), 10).unwrap_err().code, "too_long");
        assert_eq!(name("name", Some("  Sunrise "), 10).unwrap(), "Sunrise");
        assert_eq!(name("name", Some("   "), 10).unwrap_err().code, "required");
        assert_eq!(name("name", None, 10).unwrap_err().code, "required");
        assert_eq!(name("name", Some("Inj\r\nBcc: x@y.z"), 100).unwrap_err().code, "invalid_characters");
        assert_eq!(name("name", Some("tab\there"), 100).unwrap_err().code, "invalid_characters");
        assert!(!has_control_besides_line_breaks("two\r\nlines\tand a tab"));
        assert!(has_control_besides_line_breaks("bell\u{7}"));
    }
}
