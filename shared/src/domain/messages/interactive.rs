//! Interactive messages (SPEC → Media and rich messages): reply buttons and lists, free-form (only
//! inside the 24 h customer service window, like text), checked against Meta's limits at
//! acceptance so Meta never refuses one for its shape.
//!
//! The message keeps our shape (`interactive` on the message, its `body` as the message's text
//! for previews); the send worker turns it into Meta's ([`meta_object`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::FieldError;

/// Meta's limits.
pub const MAX_BODY_CHARS: usize = 1024;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
pub const MAX_BUTTON_ID_CHARS: usize = 256;
pub const MAX_LIST_BUTTON_CHARS: usize = 20;
pub const MAX_SECTIONS: usize = 10;
pub const MAX_ROWS: usize = 10;
pub const MAX_SECTION_TITLE_CHARS: usize = 24;
pub const MAX_ROW_ID_CHARS: usize = 200;
pub const MAX_ROW_TITLE_CHARS: usize = 24;
pub const MAX_ROW_DESCRIPTION_CHARS: usize = 72;

/// `interactive` as given (everything optional: a missing field is a 422 naming it).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractiveInput, example = json!({"type": "button", "body": "Shall we book Friday at 10?",
    "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "Another day"}]}))]
pub struct InteractiveInput {
    /// `button` (1–3 reply buttons) or `list` (a menu of up to 10 rows in sections).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The message text, 1 to 1,024 characters.
    pub body: Option<String>,
    /// `button`: 1 to 3, ids unique, titles up to 20 characters.
    pub buttons: Option<Vec<ButtonInput>>,
    /// `list`: the text of the button that opens the list, up to 20 characters.
    pub button: Option<String>,
    /// `list`: 1 to 10 sections, 10 rows in all.
    pub sections: Option<Vec<SectionInput>>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractiveButtonInput)]
pub struct ButtonInput {
    /// Comes back in the customer's reply (`interactive.id`), up to 256 characters.
    pub id: Option<String>,
    pub title: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractiveSectionInput)]
pub struct SectionInput {
    /// Up to 24 characters (required when there are several sections).
    pub title: Option<String>,
    pub rows: Option<Vec<RowInput>>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InteractiveRowInput)]
pub struct RowInput {
    /// Comes back in the customer's reply, up to 200 characters, unique in the list.
    pub id: Option<String>,
    /// Up to 24 characters.
    pub title: Option<String>,
    /// Up to 72 characters.
    pub description: Option<String>,
}

/// A checked interactive message, as the message keeps and shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = Interactive)]
pub enum Interactive {
    Button { body: String, buttons: Vec<Choice> },
    List { body: String, button: String, sections: Vec<Section> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = InteractiveChoice)]
pub struct Choice {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = InteractiveSection)]
pub struct Section {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub rows: Vec<Choice>,
}

impl Interactive {
    pub fn body(&self) -> &str {
        match self {
            Interactive::Button { body, .. } | Interactive::List { body, .. } => body,
        }
    }
}

/// A trimmed text of 1 to `max` characters (`required` may be false: then absent is fine).
fn text(
    value: Option<String>,
    field: String,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match &value {
        None if required => errors.push(FieldError::new(field, "required", format!("1 to {max} characters"))),
        Some(v) if v.chars().count() > max => {
            errors.push(FieldError::new(field, "too_long", format!("at most {max} characters")))
        }
        Some(v) if crate::domain::text::has_control(v) && max < MAX_BODY_CHARS => {
            errors.push(crate::domain::text::control_error(&field))
        }
        _ => {}
    }
    value
}

/// Unique ids (`field` names the repeated one).
fn unique<'a>(ids: impl Iterator<Item = (String, &'a str)>, errors: &mut Vec<FieldError>) {
    let mut seen = HashSet::new();
    for (field, id) in ids {
        if !seen.insert(id.to_owned()) {
            errors.push(FieldError::new(field, "duplicate", "ids must be unique"));
        }
    }
}

/// Checks the shape against Meta's limits: every problem, each naming its field under `field`.
pub fn shape(input: InteractiveInput, field: &str, errors: &mut Vec<FieldError>) -> Option<Interactive> {
    let before = errors.len();
    let body = text(input.body, format!("{field}.body"), MAX_BODY_CHARS, true, errors);
    let out = match input.kind.as_deref().map(str::trim) {
        Some("button") => {
            let given = input.buttons.unwrap_or_default();
            if given.is_empty() || given.len() > MAX_BUTTONS {
                errors.push(FieldError::new(
                    format!("{field}.buttons"),
                    "invalid",
                    format!("1 to {MAX_BUTTONS} buttons"),
                ));
            }
            let buttons: Vec<Choice> = given
                .into_iter()
                .enumerate()
                .map(|(i, b)| Choice {
                    id: text(b.id, format!("{field}.buttons[{i}].id"), MAX_BUTTON_ID_CHARS, true, errors)
                        .unwrap_or_default(),
                    title: text(b.title, format!("{field}.buttons[{i}].title"), MAX_BUTTON_TITLE_CHARS, true, errors)
                        .unwrap_or_default(),
                    description: None,
                })
                .collect();
            unique(
                buttons.iter().enumerate().map(|(i, b)| (format!("{field}.buttons[{i}].id"), b.id.as_str())),
                errors,
            );
            unique(
                buttons.iter().enumerate().map(|(i, b)| (format!("{field}.buttons[{i}].title"), b.title.as_str())),
                errors,
            );
            Interactive::Button { body: body.unwrap_or_default(), buttons }
        }
        Some("list") => {
            let button = text(input.button, format!("{field}.button"), MAX_LIST_BUTTON_CHARS, true, errors);
            let given = input.sections.unwrap_or_default();
            if given.is_empty() || given.len() > MAX_SECTIONS {
                errors.push(FieldError::new(
                    format!("{field}.sections"),
                    "invalid",
                    format!("1 to {MAX_SECTIONS} sections"),
                ));
            }
            let several = given.len() > 1;
            let sections: Vec<Section> = given
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    let at = format!("{field}.sections[{i}]");
                    let rows = s.rows.unwrap_or_default();
                    if rows.is_empty() {
                        errors.push(FieldError::new(format!("{at}.rows"), "required", "at least one row"));
                    }
                    Section {
                        title: text(s.title, format!("{at}.title"), MAX_SECTION_TITLE_CHARS, several, errors),
                        rows: rows
                            .into_iter()
                            .enumerate()
                            .map(|(j, r)| Choice {
                                id: text(r.id, format!("{at}.rows[{j}].id"), MAX_ROW_ID_CHARS, true, errors)
                                    .unwrap_or_default(),
                                title: text(
                                    r.title,
                                    format!("{at}.rows[{j}].title"),
                                    MAX_ROW_TITLE_CHARS,
                                    true,
                                    errors,
                                )
                                .unwrap_or_default(),
                                description: text(
                                    r.description,
                                    format!("{at}.rows[{j}].description"),
                                    MAX_ROW_DESCRIPTION_CHARS,
                                    false,
                                    errors,
                                ),
                            })
                            .collect(),
                    }
                })
                .collect();
            let total: usize = sections.iter().map(|s| s.rows.len()).sum();
            if total > MAX_ROWS {
                errors.push(FieldError::new(
                    format!("{field}.sections"),
                    "too_many_rows",
                    format!("at most {MAX_ROWS} rows in all"),
                ));
            }
            unique(
                sections.iter().enumerate().flat_map(|(i, s)| {
                    s.rows
                        .iter()
                        .enumerate()
                        .map(move |(j, r)| (format!("{field}.sections[{i}].rows[{j}].id"), r.id.as_str()))
                }),
                errors,
            );
            Interactive::List { body: body.unwrap_or_default(), button: button.unwrap_or_default(), sections }
        }
        None | Some("") => {
            errors.push(FieldError::new(format!("{field}.type"), "required", "button or list"));
            return None;
        }
        Some(_) => {
            errors.push(FieldError::new(format!("{field}.type"), "invalid", "must be button or list"));
            return None;
        }
    };
    (errors.len() == before).then_some(out)
}

/// Meta's `interactive` object for the send.
pub fn meta_object(i: &Interactive) -> Value {
    match i {
        Interactive::Button { body, buttons } => json!({
            "type": "button",
            "body": {"text": body},
            "action": {"buttons": buttons.iter().map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}})).collect::<Vec<_>>()},
        }),
        Interactive::List { body, button, sections } => json!({
            "type": "list",
            "body": {"text": body},
            "action": {"button": button, "sections": sections},
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Value) -> Result<Interactive, Vec<String>> {
        let mut errors = Vec::new();
        let input: InteractiveInput = serde_json::from_value(v).expect("deserializes");
        shape(input, "interactive", &mut errors)
            .ok_or_else(|| errors.into_iter().map(|e| format!("{}:{}", e.field, e.code)).collect())
    }

    #[test]
    fn buttons_within_metas_limits() {
        let ok = check(json!({"type": "button", "body": "Book Friday?", "buttons": [{"id": "y", "title": "Yes"}, {"id": "n", "title": "No"}]}))
            .expect("valid");
        assert_eq!(
            meta_object(&ok),
            json!({"type": "button", "body": {"text": "Book Friday?"}, "action": {"buttons": [
                {"type": "reply", "reply": {"id": "y", "title": "Yes"}}, {"type": "reply", "reply": {"id": "n", "title": "No"}}]}})
        );
        let e = check(json!({"type": "button", "body": "x".repeat(1025), "buttons": [
            {"id": "a", "title": "t".repeat(21)}, {"id": "a", "title": "B"}, {"id": "c", "title": "C"}, {"id": "d", "title": "D"}]}))
        .unwrap_err();
        assert_eq!(
            e,
            [
                "interactive.body:too_long",
                "interactive.buttons:invalid",
                "interactive.buttons[0].title:too_long",
                "interactive.buttons[1].id:duplicate"
            ]
        );
        assert_eq!(check(json!({"type": "carousel", "body": "x"})).unwrap_err(), ["interactive.type:invalid"]);
    }

    #[test]
    fn lists_within_metas_limits() {
        let rows = |n: usize, prefix: &str| {
            (0..n).map(|i| json!({"id": format!("{prefix}{i}"), "title": format!("Row {i}")})).collect::<Vec<_>>()
        };
        let ok = check(json!({"type": "list", "body": "Pick a slot", "button": "Slots", "sections": [{"title": "Friday", "rows": rows(2, "f")}]}))
            .expect("valid");
        assert_eq!(meta_object(&ok)["action"]["sections"][0]["rows"][1], json!({"id": "f1", "title": "Row 1"}));
        let e = check(json!({"type": "list", "body": "Pick", "button": "b".repeat(21), "sections": [
            {"title": "s".repeat(25), "rows": rows(6, "a")},
            {"rows": [{"id": "a0", "title": "t".repeat(25), "description": "d".repeat(73)}, {"id": "z", "title": "Z"}, {"id": "y", "title": "Y"}, {"id": "x", "title": "X"}, {"id": "w", "title": "W"}]}
        ]}))
        .unwrap_err();
        assert_eq!(
            e,
            [
                "interactive.button:too_long",
                "interactive.sections[0].title:too_long",
                "interactive.sections[1].title:required",
                "interactive.sections[1].rows[0].title:too_long",
                "interactive.sections[1].rows[0].description:too_long",
                "interactive.sections:too_many_rows",
                "interactive.sections[1].rows[0].id:duplicate"
            ]
        );
    }
}
