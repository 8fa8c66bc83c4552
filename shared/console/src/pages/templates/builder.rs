//! The template builder's form: what a person types (name, language, category, a header —
//! text, or an image, video or document with its sample for Meta's review —, the body with `{{1}}` variables and one example each, a footer, a few buttons) turned into the
//! API's `components`, the domain's `details` on `components[k]...` put back next to the form's
//! fields, and the WhatsApp-style preview. The rules themselves stay in the domain
//! (`miping::domain::templates::validate`); nothing here re-checks them.

use miping::domain::media::MediaKind;
use miping::domain::templates::model::{Template, TemplateEditInput, TemplateInput};
use miping::domain::templates::validate::{self, placeholders};
use miping::domain::{Error, FieldError};
use serde_json::{Map, Value, json};

use crate::forms::Errors;

/// Button rows the form offers (Meta allows more; a few cover what a small business sends).
pub const BUTTON_SLOTS: usize = 3;
/// Example fields shown at most (a body with `{{99}}` is refused by the domain anyway).
const MAX_EXAMPLES: usize = 20;

/// The button kinds the builder offers, as (API type, label).
pub const BUTTON_KINDS: [(&str, &str); 4] =
    [("", "None"), ("QUICK_REPLY", "Quick reply"), ("URL", "Link"), ("PHONE_NUMBER", "Call a phone number")];

/// The categories the builder offers: AUTHENTICATION templates have Meta's fixed shape (a code
/// button, no text), which this form does not build.
pub const CATEGORIES: [(&str, &str); 2] = [("MARKETING", "Marketing"), ("UTILITY", "Utility")];

/// The header types the builder offers, as (Meta's `format`, label); "" is no header.
pub const HEADER_FORMATS: [(&str, &str); 5] =
    [("", "None"), ("TEXT", "Text"), ("IMAGE", "Image"), ("VIDEO", "Video"), ("DOCUMENT", "Document")];

/// Every field the form shows, for [`Errors::from_error`] (anything else becomes the alert).
pub const FIELDS: &[&str] = &[
    "name",
    "language",
    "category",
    "header_format",
    "header",
    "header_example",
    "sample",
    "body",
    "examples",
    "footer",
    "buttons",
    "button_1_type",
    "button_1_text",
    "button_1_value",
    "button_2_type",
    "button_2_text",
    "button_2_value",
    "button_3_type",
    "button_3_text",
    "button_3_value",
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ButtonSlot {
    /// `QUICK_REPLY` | `URL` | `PHONE_NUMBER`, or empty for none.
    pub kind: String,
    pub text: String,
    /// The link (URL) or the phone number.
    pub value: String,
}

/// What the form holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Builder {
    pub name: String,
    pub language: String,
    pub category: String,
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, or empty for no header.
    pub header_format: String,
    pub header: String,
    pub header_example: String,
    /// A media header's sample as Meta's upload handle (`example.header_handle`), once uploaded:
    /// kept in the form so a refusal elsewhere does not ask for the file again.
    pub header_handle: String,
    /// The sample's file name, to say which file that handle is.
    pub sample_name: String,
    pub body: String,
    /// `examples[i]` is the example for `{{i+1}}`.
    pub examples: Vec<String>,
    pub footer: String,
    pub buttons: Vec<ButtonSlot>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            name: String::new(),
            language: "en".into(),
            category: "UTILITY".into(),
            header_format: String::new(),
            header: String::new(),
            header_example: String::new(),
            header_handle: String::new(),
            sample_name: String::new(),
            body: String::new(),
            examples: Vec::new(),
            footer: String::new(),
            buttons: vec![ButtonSlot::default(); BUTTON_SLOTS],
        }
    }
}

/// Which component of the submitted `components` array came from which part of the form, so a
/// detail on `components[k]` finds its field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Header,
    /// An image, video or document header: its sample is the file input's.
    MediaHeader,
    Body,
    Footer,
    /// The slot (0-based) of each submitted button, in order.
    Buttons(Vec<usize>),
}

/// One example field (for `{{n}}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleField {
    pub n: usize,
    pub value: String,
}

impl Builder {
    /// From the posted fields (unknown ones ignored: `_csrf`, `id`, `shown_vars`). Without a
    /// `header_format` (a form from before the header type), a typed header is a text one.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut b = Builder { language: String::new(), category: String::new(), ..Builder::default() };
        let mut format = None;
        for (k, v) in pairs {
            match k.as_str() {
                "name" => b.name = v.trim().to_owned(),
                "language" => b.language = v.clone(),
                "category" => b.category = v.clone(),
                "header_format" => format = Some(v.trim().to_ascii_uppercase()),
                "header" => b.header = v.clone(),
                "header_example" => b.header_example = v.clone(),
                "header_handle" => b.header_handle = v.trim().to_owned(),
                "sample_name" => b.sample_name = v.clone(),
                "body" => b.body = v.replace("\r\n", "\n"),
                "footer" => b.footer = v.clone(),
                other => {
                    if let Some(n) = other.strip_prefix("example_").and_then(|n| n.parse::<usize>().ok())
                        && (1..=MAX_EXAMPLES).contains(&n)
                    {
                        if b.examples.len() < n {
                            b.examples.resize(n, String::new());
                        }
                        b.examples[n - 1] = v.clone();
                    } else if let Some((slot, field)) = button_field(other) {
                        let s = &mut b.buttons[slot];
                        match field {
                            "type" => s.kind = v.clone(),
                            "text" => s.text = v.clone(),
                            _ => s.value = v.clone(),
                        }
                    }
                }
            }
        }
        b.header_format = format.unwrap_or_else(|| if b.header.trim().is_empty() { "" } else { "TEXT" }.to_owned());
        b
    }

    /// The media header's kind, when the header is an image, video or document.
    pub fn media_kind(&self) -> Option<MediaKind> {
        match self.header_format.as_str() {
            "IMAGE" => Some(MediaKind::Image),
            "VIDEO" => Some(MediaKind::Video),
            "DOCUMENT" => Some(MediaKind::Document),
            _ => None,
        }
    }

    pub fn text_header(&self) -> bool {
        self.header_format == "TEXT"
    }

    /// The form for editing `t`, or why the builder cannot show it faithfully (editing it here
    /// would drop what the form has no field for).
    pub fn from_template(t: &Template) -> Result<Self, String> {
        if t.category == "AUTHENTICATION" {
            return Err("Authentication templates have Meta's fixed text and a code button".into());
        }
        if t.parameter_format != Default::default() {
            return Err("This template uses named variables".into());
        }
        let mut b = Builder {
            name: t.name.clone(),
            language: t.language.clone(),
            category: t.category.clone(),
            ..Builder::default()
        };
        for c in t.components.as_array().into_iter().flatten() {
            let str_at = |v: &Value, path: &[&str]| -> String {
                path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned()
            };
            match upper(c, "type").as_str() {
                "HEADER" if upper(c, "format") == "TEXT" => {
                    b.header_format = "TEXT".into();
                    b.header = str_at(c, &["text"]);
                    b.header_example = c.pointer("/example/header_text/0").and_then(Value::as_str).unwrap_or("").into();
                }
                // Its sample stays Meta's handle unless another file is chosen.
                "HEADER" if matches!(upper(c, "format").as_str(), "IMAGE" | "VIDEO" | "DOCUMENT") => {
                    b.header_format = upper(c, "format");
                    b.header_handle =
                        c.pointer("/example/header_handle/0").and_then(Value::as_str).unwrap_or("").into();
                }
                "HEADER" => return Err("This template has a location header".into()),
                "BODY" => {
                    b.body = str_at(c, &["text"]);
                    b.examples = c
                        .pointer("/example/body_text/0")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect())
                        .unwrap_or_default();
                }
                "FOOTER" => b.footer = str_at(c, &["text"]),
                "BUTTONS" => {
                    let list = c.get("buttons").and_then(Value::as_array).cloned().unwrap_or_default();
                    if list.len() > BUTTON_SLOTS {
                        return Err(format!("This template has more than {BUTTON_SLOTS} buttons"));
                    }
                    for (slot, button) in list.iter().enumerate() {
                        let kind = upper(button, "type");
                        let value = match kind.as_str() {
                            "QUICK_REPLY" => String::new(),
                            "URL" if placeholders(&str_at(button, &["url"])).is_empty() => str_at(button, &["url"]),
                            "PHONE_NUMBER" => str_at(button, &["phone_number"]),
                            _ => return Err("This template has a button the builder does not offer".into()),
                        };
                        b.buttons[slot] = ButtonSlot { kind, text: str_at(button, &["text"]), value };
                    }
                }
                _ => return Err("This template has a component the builder does not offer".into()),
            }
        }
        Ok(b)
    }

    /// How many body variables the form asks examples for: up to the highest `{{n}}`.
    pub fn body_variables(&self) -> usize {
        placeholders(&self.body)
            .iter()
            .filter_map(|p| p.token.parse::<usize>().ok())
            .max()
            .unwrap_or(0)
            .min(MAX_EXAMPLES)
    }

    pub fn header_has_variable(&self) -> bool {
        self.text_header() && !placeholders(&self.header).is_empty()
    }

    /// Which header fields are shown (`shown_header`): the preview re-renders them when the
    /// header type changes (a text input, or the sample's file input).
    pub fn header_signature(&self) -> &str {
        &self.header_format
    }

    /// Which example fields are shown (`shown_vars`): the preview re-renders them only when
    /// this changes, so typing in an example field is never interrupted.
    pub fn variables_signature(&self) -> String {
        format!("h{}b{}", u8::from(self.header_has_variable()), self.body_variables())
    }

    pub fn example_fields(&self) -> Vec<ExampleField> {
        (1..=self.body_variables())
            .map(|n| ExampleField { n, value: self.examples.get(n - 1).cloned().unwrap_or_default() })
            .collect()
    }

    /// The API's `components`, and which part of the form each one came from.
    pub fn components(&self) -> (Value, Vec<Part>) {
        let mut list = Vec::new();
        let mut parts = Vec::new();
        if self.text_header() {
            // Chosen but empty: the domain says the text is required.
            let mut h = json!({"type": "HEADER", "format": "TEXT", "text": self.header});
            if self.header_has_variable() && !self.header_example.trim().is_empty() {
                h["example"] = json!({"header_text": [self.header_example]});
            }
            list.push(h);
            parts.push(Part::Header);
        } else if self.media_kind().is_some() {
            // Without a sample yet: the domain says one is required.
            let mut h = json!({"type": "HEADER", "format": self.header_format});
            if !self.header_handle.is_empty() {
                h["example"] = json!({"header_handle": [self.header_handle]});
            }
            list.push(h);
            parts.push(Part::MediaHeader);
        }
        let mut body = json!({"type": "BODY", "text": self.body});
        // Only the examples given: the domain then says how many are missing.
        let given: Vec<&String> =
            self.example_fields().iter().map(|f| f.n).filter_map(|n| self.examples.get(n - 1)).collect();
        let given: Vec<&String> = given.into_iter().filter(|v| !v.trim().is_empty()).collect();
        if !given.is_empty() {
            body["example"] = json!({"body_text": [given]});
        }
        list.push(body);
        parts.push(Part::Body);
        if !self.footer.trim().is_empty() {
            list.push(json!({"type": "FOOTER", "text": self.footer}));
            parts.push(Part::Footer);
        }
        let mut buttons = Vec::new();
        let mut slots = Vec::new();
        for (slot, b) in self.buttons.iter().enumerate() {
            if b.kind.is_empty() && b.text.trim().is_empty() && b.value.trim().is_empty() {
                continue;
            }
            let mut button = Map::new();
            button.insert("type".into(), Value::from(b.kind.clone()));
            button.insert("text".into(), Value::from(b.text.clone()));
            match b.kind.as_str() {
                "URL" => {
                    button.insert("url".into(), Value::from(b.value.clone()));
                }
                "PHONE_NUMBER" => {
                    button.insert("phone_number".into(), Value::from(b.value.clone()));
                }
                _ => {}
            }
            buttons.push(Value::Object(button));
            slots.push(slot);
        }
        if !buttons.is_empty() {
            list.push(json!({"type": "BUTTONS", "buttons": buttons}));
            parts.push(Part::Buttons(slots));
        }
        (Value::Array(list), parts)
    }

    /// `POST /templates`'s input (an empty field is an absent one: the domain says "is required").
    pub fn input(&self) -> (TemplateInput, Vec<Part>) {
        let (components, parts) = self.components();
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let input = TemplateInput {
            name: some(&self.name),
            language: some(&self.language),
            category: some(&self.category),
            components: Some(components),
            parameter_format: None,
        };
        (input, parts)
    }

    /// `PATCH /templates/{id}`'s input.
    pub fn edit_input(&self) -> (TemplateEditInput, Vec<Part>) {
        let (components, parts) = self.components();
        (TemplateEditInput { components: Some(components), category: Some(self.category.clone()) }, parts)
    }

    /// The domain's rules on what is typed so far, as (field label, message), for the preview.
    /// Nothing until the body has text; the name, language, category and the sample (a file,
    /// uploaded with the submit) wait for the submit.
    pub fn issues(&self) -> Vec<(String, String)> {
        if self.body.trim().is_empty() {
            return Vec::new();
        }
        let (input, parts) = self.input();
        let Err(details) = validate::validate(&input) else { return Vec::new() };
        details
            .into_iter()
            .filter(|d| d.field.starts_with("components"))
            .map(|d| (form_field(&d.field, &parts), d.message))
            .filter(|(field, _)| field != "sample")
            .map(|(field, message)| (label(&field), message))
            .collect()
    }

    /// The preview of the message, variables filled with their examples.
    pub fn preview(&self) -> Preview {
        let header = if !self.text_header() || self.header.trim().is_empty() {
            Vec::new()
        } else {
            segments(&self.header, |_| Some(self.header_example.as_str()))
        };
        let media = self
            .media_kind()
            .map(|k| MediaPreview { label: crate::view::media_label(k), sample: self.sample_name.trim().to_owned() });
        let body = segments(&self.body, |token| {
            token.parse::<usize>().ok().filter(|n| *n >= 1).and_then(|n| self.examples.get(n - 1)).map(String::as_str)
        });
        let buttons = self
            .buttons
            .iter()
            .filter(|b| !b.kind.is_empty() && !b.text.trim().is_empty())
            .map(|b| PreviewButton { text: b.text.clone(), kind: b.kind.clone() })
            .collect();
        Preview { header, media, body, footer: self.footer.trim().to_owned(), buttons }
    }
}

fn upper(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase()
}

/// `button_2_text` → (1, "text").
fn button_field(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("button_")?;
    let (n, field) = rest.split_once('_')?;
    let n: usize = n.parse().ok()?;
    ((1..=BUTTON_SLOTS).contains(&n) && ["type", "text", "value"].contains(&field)).then_some((n - 1, field))
}

/// The form field a domain detail concerns: `components[1].text` is the body when the body is
/// the second submitted component. A path the form has no field for stays as it is (the alert
/// shows it: never silent).
pub fn form_field(path: &str, parts: &[Part]) -> String {
    if path == "components" {
        return "body".into();
    }
    let Some(rest) = path.strip_prefix("components[") else { return path.to_owned() };
    let Some((k, rest)) = rest.split_once(']') else { return path.to_owned() };
    let Some(part) = k.parse::<usize>().ok().and_then(|k| parts.get(k)) else { return path.to_owned() };
    match part {
        Part::Header if rest.starts_with(".example") => "header_example".into(),
        Part::Header => "header".into(),
        Part::MediaHeader if rest.starts_with(".example") => "sample".into(),
        Part::MediaHeader => "header_format".into(),
        Part::Body if rest.starts_with(".example") => "examples".into(),
        Part::Body => "body".into(),
        Part::Footer => "footer".into(),
        Part::Buttons(slots) => {
            let Some(rest) = rest.strip_prefix(".buttons[") else { return "buttons".into() };
            let Some((j, field)) = rest.split_once(']') else { return "buttons".into() };
            let Some(slot) = j.parse::<usize>().ok().and_then(|j| slots.get(j)) else { return "buttons".into() };
            let what = match field {
                ".text" => "text",
                ".url" | ".phone_number" | ".example" => "value",
                _ => "type",
            };
            format!("button_{}_{what}", slot + 1)
        }
    }
}

/// A form field's label, for messages outside the form (the preview's checks).
pub fn label(field: &str) -> String {
    match field {
        "header_format" => "Header type".into(),
        "header" => "Header".into(),
        "sample" => "Sample file".into(),
        "header_example" => "Header example".into(),
        "body" => "Body".into(),
        "examples" => "Examples".into(),
        "footer" => "Footer".into(),
        "buttons" => "Buttons".into(),
        other => match button_field(other) {
            Some((slot, "type")) => format!("Button {} type", slot + 1),
            Some((slot, "text")) => format!("Button {} text", slot + 1),
            Some((slot, _)) => format!("Button {} link or number", slot + 1),
            None => other.to_owned(),
        },
    }
}

/// A use case's refusal, its details moved from `components[...]` to the form's fields.
pub fn errors(e: &Error, parts: &[Part]) -> Errors {
    if e.code == "template_exists" {
        return Errors::none().field("name", e.message.clone());
    }
    let mut placed = e.clone();
    placed.details = e
        .details
        .iter()
        .map(|d| {
            let field = form_field(&d.field, parts);
            // The API's words name its JSON; the form's, the file input.
            let message = if field == "sample" && d.code == "example_required" {
                "choose a sample file: Meta reviews the template with it".to_owned()
            } else {
                d.message.clone()
            };
            FieldError { field, message, ..d.clone() }
        })
        .collect();
    Errors::from_error(&placed, FIELDS)
}

/// A piece of previewed text: plain, or a variable shown with its example (`missing`: none yet,
/// so the `{{n}}` itself is shown, marked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub var: bool,
    pub missing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewButton {
    pub text: String,
    pub kind: String,
}

impl PreviewButton {
    /// The mark WhatsApp shows before the button's text (decorative).
    pub fn symbol(&self) -> &'static str {
        match self.kind.as_str() {
            "URL" => "↗",
            "PHONE_NUMBER" => "✆",
            _ => "↩",
        }
    }
}

/// A media header in the preview: a box naming its kind (the sample itself is Meta's to show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPreview {
    pub label: &'static str,
    pub sample: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    pub header: Vec<Segment>,
    pub media: Option<MediaPreview>,
    pub body: Vec<Segment>,
    pub footer: String,
    pub buttons: Vec<PreviewButton>,
}

impl Preview {
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.header.is_empty() && self.media.is_none()
    }
}

fn segments<'a>(text: &'a str, example: impl Fn(&str) -> Option<&'a str>) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    let plain = |s: &str| Segment { text: s.to_owned(), var: false, missing: false };
    for p in placeholders(text) {
        if p.start > at {
            out.push(plain(&text[at..p.start]));
        }
        match example(&p.token).filter(|e| !e.trim().is_empty()) {
            Some(e) => out.push(Segment { text: e.to_owned(), var: true, missing: false }),
            None => out.push(Segment { text: text[p.start..p.end].to_owned(), var: true, missing: true }),
        }
        at = p.end;
    }
    if at < text.len() {
        out.push(plain(&text[at..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_form_becomes_the_apis_components_in_order() {
        let b = Builder::from_pairs(&pairs(&[
            ("name", " order_update "),
            ("language", "en"),
            ("category", "UTILITY"),
            ("header", "Order {{1}}"),
            ("header_example", "A-1"),
            ("body", "Hi {{1}}, order {{2}} ships."),
            ("example_1", "Asha"),
            ("example_2", "A-1"),
            ("footer", ""),
            ("button_2_type", "URL"),
            ("button_2_text", "Track"),
            ("button_2_value", "https://acme.test/track"),
        ]));
        assert_eq!(b.name, "order_update");
        assert_eq!(b.header_format, "TEXT", "a typed header without a type is text");
        let (c, parts) = b.components();
        assert_eq!(
            c,
            json!([
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-1"]}},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships.", "example": {"body_text": [["Asha", "A-1"]]}},
                {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://acme.test/track"}]}
            ])
        );
        assert_eq!(parts, vec![Part::Header, Part::Body, Part::Buttons(vec![1])]);
        assert!(validate::validate(&b.input().0).is_ok());
    }

    #[test]
    fn details_on_components_land_on_the_form_fields() {
        let parts = vec![Part::Body, Part::Footer, Part::Buttons(vec![0, 2])];
        assert_eq!(form_field("components[0].text", &parts), "body");
        assert_eq!(form_field("components[0].example.body_text", &parts), "examples");
        assert_eq!(form_field("components[1].text", &parts), "footer");
        assert_eq!(form_field("components[2].buttons[1].url", &parts), "button_3_value");
        assert_eq!(form_field("components[2].buttons[0].text", &parts), "button_1_text");
        assert_eq!(form_field("components[2].buttons[0].type", &parts), "button_1_type");
        assert_eq!(form_field("components[2].buttons", &parts), "buttons");
        assert_eq!(form_field("components", &parts), "body");
        assert_eq!(form_field("name", &parts), "name");
        // A path the form cannot show is kept, so the alert names it.
        assert_eq!(form_field("components[7].text", &parts), "components[7].text");
    }

    #[test]
    fn the_domains_refusal_is_shown_next_to_the_fields() {
        let b = Builder::from_pairs(&pairs(&[
            ("name", "Bad Name"),
            ("language", "en"),
            ("category", "UTILITY"),
            ("body", "{{1}} is due"),
            ("footer", "Reply {{1}}"),
        ]));
        let (input, parts) = b.input();
        let e = Error::validation(validate::validate(&input).unwrap_err());
        let errors = errors(&e, &parts);
        assert!(errors.get("name").unwrap().contains("lowercase"));
        assert_eq!(errors.get("body"), Some("the body cannot start or end with a variable"));
        assert_eq!(errors.get("examples"), Some("1 example value(s) are required"));
        assert_eq!(errors.get("footer"), Some("the footer cannot have variables"));
        assert_eq!(errors.alert, None);
    }

    #[test]
    fn the_preview_fills_variables_with_their_examples() {
        let b = Builder::from_pairs(&pairs(&[("body", "Hi {{1}}, order {{2}}."), ("example_1", "Asha")]));
        let p = b.preview();
        let shown: Vec<(&str, bool, bool)> = p.body.iter().map(|s| (s.text.as_str(), s.var, s.missing)).collect();
        assert_eq!(
            shown,
            [
                ("Hi ", false, false),
                ("Asha", true, false),
                (", order ", false, false),
                ("{{2}}", true, true),
                (".", false, false)
            ]
        );
        assert_eq!(b.example_fields().len(), 2);
        assert_eq!(b.variables_signature(), "h0b2");
    }

    #[test]
    fn a_template_the_builder_made_reads_back_and_others_are_refused() {
        let b = Builder::from_pairs(&pairs(&[
            ("name", "promo"),
            ("language", "en_US"),
            ("category", "MARKETING"),
            ("body", "Hi {{1}}, 10% off."),
            ("example_1", "Asha"),
            ("footer", "Acme"),
            ("button_1_type", "QUICK_REPLY"),
            ("button_1_text", "Stop"),
        ]));
        let valid = validate::validate(&b.input().0).unwrap();
        let t = Template {
            id: "tpl_1".into(),
            name: valid.name,
            language: valid.language,
            category: valid.category,
            status: "APPROVED".into(),
            components: valid.components,
            parameter_format: valid.parameter_format,
            meta_template_id: None,
            rejection_reason: None,
            quality: None,
            parameters: valid.parameters,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        assert_eq!(Builder::from_template(&t).unwrap(), b);
        let mut media = t.clone();
        media.components = json!([
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1n"]}},
            {"type": "BODY", "text": "x"}
        ]);
        let m = Builder::from_template(&media).unwrap();
        assert_eq!((m.header_format.as_str(), m.header_handle.as_str()), ("IMAGE", "4::aW1n"));
        assert_eq!(m.components().0[0], media.components[0], "the sample kept when no other file is chosen");
        media.components = json!([{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "x"}]);
        assert_eq!(Builder::from_template(&media).unwrap_err(), "This template has a location header");
    }

    #[test]
    fn a_media_header_needs_its_sample_next_to_the_file_input() {
        let fields = [
            ("name", "invoice"),
            ("language", "en"),
            ("category", "UTILITY"),
            ("header_format", "document"),
            ("header", "ignored for a document"),
            ("body", "Your invoice is attached."),
        ];
        let b = Builder::from_pairs(&pairs(&fields));
        assert_eq!(b.media_kind(), Some(MediaKind::Document));
        let (input, parts) = b.input();
        assert_eq!(input.components.as_ref().unwrap()[0], json!({"type": "HEADER", "format": "DOCUMENT"}));
        assert!(b.issues().is_empty(), "the sample goes with the submit, not a live issue: {:?}", b.issues());
        let e = Error::validation(validate::validate(&input).unwrap_err());
        let errors = errors(&e, &parts);
        assert_eq!(errors.get("sample"), Some("choose a sample file: Meta reviews the template with it"));
        assert_eq!(errors.alert, None);
        let preview = b.preview();
        assert_eq!(preview.media.as_ref().map(|m| m.label), Some("Document"));
        assert!(preview.header.is_empty());

        let mut with_sample = fields.to_vec();
        with_sample.push(("header_handle", "4::ZG9j"));
        let b = Builder::from_pairs(&pairs(&with_sample));
        assert!(validate::validate(&b.input().0).is_ok());
        // "None" drops a typed header.
        let b = Builder::from_pairs(&pairs(&[("header_format", ""), ("header", "Hi"), ("body", "x y")]));
        assert_eq!(b.components().1, vec![Part::Body]);
    }
}
