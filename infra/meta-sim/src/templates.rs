//! Message templates: the record, Meta's validation, review outcome and edit limits.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::errors::GraphError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateStatus {
    Pending,
    Approved,
    Rejected,
}

impl TemplateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(Self::Pending),
            "APPROVED" => Some(Self::Approved),
            "REJECTED" => Some(Self::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateRecord {
    pub id: String,
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: TemplateStatus,
    pub components: Value,
    /// Meta's `rejected_reason`: `NONE` unless rejected.
    pub rejected_reason: String,
    /// Bumped by every (re)submission, so a stale review of an edited template is dropped.
    pub review_generation: u64,
    /// Unix seconds of each edit made while APPROVED (Meta limits those).
    pub approved_edits: Vec<u64>,
}

/// Fields Meta returns when the request names none.
const DEFAULT_FIELDS: &[&str] = &["name", "components", "language", "status", "category", "id"];

impl TemplateRecord {
    /// `IMAGE`, `VIDEO` or `DOCUMENT` when the template's header is media: every send must
    /// then carry that header as a parameter (else 132012).
    pub fn media_header(&self) -> Option<String> {
        self.components.as_array()?.iter().find_map(|c| {
            let is_header = c.get("type").and_then(Value::as_str)?.eq_ignore_ascii_case("HEADER");
            let format = c.get("format").and_then(Value::as_str)?.to_ascii_uppercase();
            (is_header && matches!(format.as_str(), "IMAGE" | "VIDEO" | "DOCUMENT")).then_some(format)
        })
    }

    pub fn to_json(&self, fields: Option<&[String]>) -> Value {
        let all = json!({
            "id": self.id,
            "name": self.name,
            "language": self.language,
            "status": self.status.as_str(),
            "category": self.category,
            "components": self.components,
            "rejected_reason": self.rejected_reason,
            "parameter_format": "POSITIONAL",
        });
        let mut out = Map::new();
        let wanted: Vec<&str> = match fields {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => DEFAULT_FIELDS.to_vec(),
        };
        for f in wanted {
            if let Some(v) = all.get(f) {
                out.insert(f.to_owned(), v.clone());
            }
        }
        // Graph always returns the id, asked or not.
        out.insert("id".into(), json!(self.id));
        Value::Object(out)
    }
}

/// Template names: lowercase letters, digits and underscores, at most 512 characters.
pub fn validate_name(name: &str) -> Result<(), GraphError> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        return Ok(());
    }
    Err(GraphError::new(StatusCode::BAD_REQUEST, 100, "OAuthException", "Invalid parameter")
        .user(
            "Invalid template name",
            "Template names can only contain lowercase alphanumeric characters and underscores.",
        )
        .details(format!("name '{name}' must match ^[a-z0-9_]{{1,512}}$")))
}

/// The current categories; legacy ones map the way Meta migrated them.
pub fn normalize_category(category: &str) -> Result<&'static str, GraphError> {
    match category {
        "MARKETING" => Ok("MARKETING"),
        "UTILITY" | "TRANSACTIONAL" => Ok("UTILITY"),
        "AUTHENTICATION" | "OTP" => Ok("AUTHENTICATION"),
        other => Err(GraphError::invalid_param(format!(
            "Param category must be one of {{UTILITY, MARKETING, AUTHENTICATION}} - got \"{other}\"."
        ))),
    }
}

pub fn validate_components(components: &Value) -> Result<(), GraphError> {
    let Some(list) = components.as_array() else {
        return Err(GraphError::invalid_param("The parameter components is required."));
    };
    let has_body =
        list.iter().any(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("BODY")));
    if !has_body {
        return Err(GraphError::invalid_param("Param components must contain a component of type BODY."));
    }
    Ok(())
}

pub fn duplicate(language: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 100, "OAuthException", "Invalid parameter").subcode(2388024).user(
        "Content in this language already exists",
        format!("There is already {language} content for this template. You can create a new template and try again."),
    )
}

/// The review's verdict: names containing `reject` are rejected (`scam` for the SCAM reason).
pub struct Verdict {
    pub status: TemplateStatus,
    pub reason: &'static str,
    pub rejection_info: Option<Value>,
}

pub fn review(name: &str) -> Verdict {
    if !name.contains("reject") {
        return Verdict { status: TemplateStatus::Approved, reason: "NONE", rejection_info: None };
    }
    if name.contains("scam") {
        return Verdict { status: TemplateStatus::Rejected, reason: "SCAM", rejection_info: None };
    }
    Verdict {
        status: TemplateStatus::Rejected,
        reason: "INVALID_FORMAT",
        rejection_info: Some(json!({
            "reason": "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
            "recommendation": "Separate parameters with descriptive text and ensure each parameter is clearly contextualized."
        })),
    }
}

const DAY: u64 = 24 * 3600;

/// Meta's edit rules: a template in review cannot be edited; an APPROVED one at most once per
/// 24 hours and 10 times per 30 days; REJECTED (and paused) ones without limit.
pub fn check_edit(status: TemplateStatus, approved_edits: &[u64], now: u64) -> Result<(), GraphError> {
    let refuse = |title: &str, msg: &str| {
        Err(GraphError::new(StatusCode::BAD_REQUEST, 100, "OAuthException", "Invalid parameter")
            .user(title, msg)
            .details(msg.to_owned()))
    };
    match status {
        TemplateStatus::Pending => refuse(
            "Template can't be edited",
            "This message template is in review and can't be edited until the review is complete.",
        ),
        TemplateStatus::Rejected => Ok(()),
        TemplateStatus::Approved => {
            let last_day = approved_edits.iter().filter(|t| now.saturating_sub(**t) < DAY).count();
            let last_month = approved_edits.iter().filter(|t| now.saturating_sub(**t) < 30 * DAY).count();
            if last_day >= 1 {
                refuse(
                    "Edit limit reached",
                    "An approved message template can be edited once in 24 hours. Try again later.",
                )
            } else if last_month >= 10 {
                refuse(
                    "Edit limit reached",
                    "An approved message template can be edited 10 times in 30 days. Try again later.",
                )
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("order_update_2").is_ok());
        for bad in ["", "Order", "order-update", "order update", "ordér"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn edit_limits() {
        let now = 100 * DAY;
        assert!(check_edit(TemplateStatus::Approved, &[], now).is_ok());
        assert!(check_edit(TemplateStatus::Approved, &[now - 3600], now).is_err());
        assert!(check_edit(TemplateStatus::Approved, &[now - DAY], now).is_ok());
        let nine: Vec<u64> = (1..=9).map(|d| now - d * 2 * DAY).collect();
        assert!(check_edit(TemplateStatus::Approved, &nine, now).is_ok());
        let ten_recent: Vec<u64> = (1..=10).map(|d| now - d * DAY - 60).collect();
        assert!(check_edit(TemplateStatus::Approved, &ten_recent, now).is_err());
        assert!(check_edit(TemplateStatus::Rejected, &ten_recent, now).is_ok());
        assert!(check_edit(TemplateStatus::Pending, &[], now).is_err());
    }
}
