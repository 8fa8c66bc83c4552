//! Meta's template rules, checked before Meta is called so that a tenant gets every problem at
//! once, each naming its field (`components[1].text`), instead of one opaque review rejection.
//!
//! Rules (WhatsApp Cloud API, message templates): name `^[a-z0-9_]{1,512}$`; one BODY, at most
//! one HEADER/FOOTER/BUTTONS; HEADER text ≤ 60 chars with at most one variable, media headers
//! need a sample (`header_handle`); BODY ≤ 1024 chars; FOOTER ≤ 60 chars without variables;
//! placeholders numbered from 1 without gaps (or named, with `parameter_format: NAMED`), never
//! two side by side, never at the very start or end of the body, and an example for each;
//! ≤ 10 buttons, text ≤ 25 chars, ≤ 2 URL buttons (one variable, at the end of the URL), ≤ 1
//! phone number, ≤ 1 copy-code, quick replies grouped together; AUTHENTICATION templates have
//! Meta's fixed shape (no header, a body without text, one OTP button).

use serde_json::{Map, Value};

use crate::domain::FieldError;

use super::model::{CATEGORIES, ParameterFormat, TemplateInput};
use super::schema::{self, ParamSchema};

pub const MAX_NAME: usize = 512;
pub const MAX_HEADER_TEXT: usize = 60;
pub const MAX_BODY_TEXT: usize = 1024;
pub const MAX_FOOTER_TEXT: usize = 60;
pub const MAX_BUTTONS: usize = 10;
pub const MAX_BUTTON_TEXT: usize = 25;
pub const MAX_URL_BUTTONS: usize = 2;
pub const MAX_URL: usize = 2000;
pub const MAX_PHONE: usize = 20;
pub const MAX_COUPON: usize = 15;
pub const MAX_CODE_EXPIRATION_MINUTES: i64 = 90;

/// A template that passed every rule, with its parameter schema.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidTemplate {
    pub name: String,
    pub language: String,
    pub category: String,
    pub components: Value,
    pub parameter_format: ParameterFormat,
    pub parameters: ParamSchema,
}

/// One `{{...}}` occurrence in a text: its byte span and what is between the braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    pub start: usize,
    pub end: usize,
    pub token: String,
}

/// Every `{{...}}` in `text`, in order (the content trimmed).
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else { break };
        out.push(Placeholder { start: open, end: close + 2, token: text[open + 2..close].trim().to_string() });
        from = close + 2;
    }
    out
}

pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Meta's language codes: `en`, `en_US`, `pt_BR`, `zh_HK`, `fil`, ...
pub fn is_valid_language(code: &str) -> bool {
    let (lang, region) = match code.split_once('_') {
        Some((l, r)) => (l, Some(r)),
        None => (code, None),
    };
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Collects errors; each rule adds as many as it finds.
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }
}

/// `POST /templates` (and the library): every rule, all errors at once.
pub fn validate(input: &TemplateInput) -> Result<ValidTemplate, Vec<FieldError>> {
    let mut e = Errors(Vec::new());
    let name = input.name.clone().unwrap_or_default();
    if input.name.is_none() {
        e.add("name", "required", "is required");
    } else if !is_valid_name(&name) {
        e.add("name", "invalid_format", "must be 1 to 512 lowercase letters, digits or underscores");
    }
    let language = input.language.clone().unwrap_or_default();
    if input.language.is_none() {
        e.add("language", "required", "is required");
    } else if !is_valid_language(&language) {
        e.add("language", "invalid_format", "must be a WhatsApp language code such as en, en_US or pt_BR");
    }
    let category = input.category.clone().unwrap_or_default();
    if input.category.is_none() {
        e.add("category", "required", "is required");
    } else if !CATEGORIES.contains(&category.as_str()) {
        e.add("category", "invalid", "must be MARKETING, UTILITY or AUTHENTICATION");
    }
    let format = match input.parameter_format.as_deref() {
        None | Some("POSITIONAL") => ParameterFormat::Positional,
        Some("NAMED") => ParameterFormat::Named,
        Some(_) => {
            e.add("parameter_format", "invalid", "must be POSITIONAL or NAMED");
            ParameterFormat::Positional
        }
    };
    match input.components.as_ref() {
        None => e.add("components", "required", "is required"),
        Some(components) => check_components(&mut e, components, &category, format),
    }
    if !e.0.is_empty() {
        return Err(e.0);
    }
    let components = input.components.clone().unwrap_or(Value::Null);
    let parameters = schema::derive(&components, format, &category);
    Ok(ValidTemplate { name, language, category, components, parameter_format: format, parameters })
}

/// Just the components (PATCH keeps the name, language and format).
pub fn validate_components(components: &Value, category: &str, format: ParameterFormat) -> Result<(), Vec<FieldError>> {
    let mut e = Errors(Vec::new());
    check_components(&mut e, components, category, format);
    if e.0.is_empty() { Ok(()) } else { Err(e.0) }
}

fn kind(c: &Map<String, Value>) -> String {
    c.get("type").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase()
}

fn text_of<'a>(c: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    c.get(field).and_then(Value::as_str)
}

fn check_components(e: &mut Errors, components: &Value, category: &str, format: ParameterFormat) {
    let Some(list) = components.as_array().filter(|l| !l.is_empty()) else {
        e.add("components", "invalid", "must be a non-empty array of components");
        return;
    };
    let auth = category == "AUTHENTICATION";
    let mut seen: Vec<String> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let path = format!("components[{i}]");
        let Some(c) = c.as_object() else {
            e.add(path, "invalid", "must be an object");
            continue;
        };
        let k = kind(c);
        if !["HEADER", "BODY", "FOOTER", "BUTTONS"].contains(&k.as_str()) {
            e.add(format!("{path}.type"), "invalid", "must be HEADER, BODY, FOOTER or BUTTONS");
            continue;
        }
        if seen.contains(&k) {
            e.add(format!("{path}.type"), "duplicate", format!("only one {k} component is allowed"));
            continue;
        }
        seen.push(k.clone());
        match (k.as_str(), auth) {
            ("HEADER", true) => e.add(path, "not_allowed", "AUTHENTICATION templates have no header"),
            ("HEADER", false) => check_header(e, &path, c, format),
            ("BODY", true) => check_auth_body(e, &path, c),
            ("BODY", false) => check_text(e, &path, c, TextRules::BODY, format),
            ("FOOTER", true) => check_auth_footer(e, &path, c),
            ("FOOTER", false) => check_text(e, &path, c, TextRules::FOOTER, format),
            (_, _) => check_buttons(e, &path, c, auth),
        }
    }
    if !seen.iter().any(|k| k == "BODY") {
        e.add("components", "body_required", "a BODY component is required");
    }
    if auth && !seen.iter().any(|k| k == "BUTTONS") {
        e.add(
            "components",
            "otp_button_required",
            "AUTHENTICATION templates need a BUTTONS component with one OTP button",
        );
    }
}

#[derive(Clone, Copy)]
struct TextRules {
    what: &'static str,
    max: usize,
    /// Line breaks (and tabs) allowed: the body; a header or footer is one line.
    multiline: bool,
    max_vars: usize,
    /// Meta rejects bodies that start or end with a variable.
    edges: bool,
    example_key: &'static str,
    named_example_key: &'static str,
}

impl TextRules {
    const BODY: Self = Self {
        what: "body",
        max: MAX_BODY_TEXT,
        multiline: true,
        max_vars: usize::MAX,
        edges: true,
        example_key: "body_text",
        named_example_key: "body_text_named_params",
    };
    const HEADER: Self = Self {
        what: "header",
        max: MAX_HEADER_TEXT,
        multiline: false,
        max_vars: 1,
        edges: false,
        example_key: "header_text",
        named_example_key: "header_text_named_params",
    };
    const FOOTER: Self = Self {
        what: "footer",
        max: MAX_FOOTER_TEXT,
        multiline: false,
        max_vars: 0,
        edges: false,
        example_key: "",
        named_example_key: "",
    };
}

fn check_header(e: &mut Errors, path: &str, c: &Map<String, Value>, format: ParameterFormat) {
    let fmt = c.get("format").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    match fmt.as_str() {
        "TEXT" => check_text(e, path, c, TextRules::HEADER, format),
        "IMAGE" | "VIDEO" | "DOCUMENT" => {
            let handle = c.get("example").and_then(|x| x.get("header_handle")).and_then(Value::as_array);
            if !handle.is_some_and(|h| !h.is_empty() && h.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty()))) {
                e.add(
                    format!("{path}.example.header_handle"),
                    "example_required",
                    "a media header needs a sample: example.header_handle with one uploaded media handle",
                );
            }
        }
        "LOCATION" => {}
        _ => e.add(format!("{path}.format"), "invalid", "must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION"),
    }
}

/// A text (header, body, footer) with its placeholders and examples.
fn check_text(e: &mut Errors, path: &str, c: &Map<String, Value>, rules: TextRules, format: ParameterFormat) {
    let field = format!("{path}.text");
    let Some(text) = text_of(c, "text").filter(|t| !t.trim().is_empty()) else {
        e.add(field, "required", format!("the {} text is required", rules.what));
        return;
    };
    if text.chars().count() > rules.max {
        e.add(&field, "too_long", format!("the {} text must be at most {} characters", rules.what, rules.max));
    }
    // A header and a footer are one line; the body may break lines, nothing else.
    let bad_characters = if rules.multiline {
        crate::domain::text::has_control_besides_line_breaks(text)
    } else {
        crate::domain::text::has_control(text)
    };
    if bad_characters {
        let detail = crate::domain::text::control_error(&field);
        e.add(detail.field, &detail.code, detail.message);
    }
    let vars = placeholders(text);
    if vars.is_empty() {
        return;
    }
    if rules.max_vars == 0 {
        e.add(&field, "variables_not_allowed", format!("the {} cannot have variables", rules.what));
        return;
    }
    if vars.len() > rules.max_vars {
        e.add(&field, "too_many_variables", format!("the {} can have at most {} variable", rules.what, rules.max_vars));
    }
    for pair in vars.windows(2) {
        if text[pair[0].end..pair[1].start].trim().is_empty() {
            e.add(
                &field,
                "adjacent_parameters",
                format!(
                    "{{{{{}}}}} and {{{{{}}}}} are next to each other: put text between them",
                    pair[0].token, pair[1].token
                ),
            );
        }
    }
    if rules.edges && (text.trim_start().starts_with("{{") || text.trim_end().ends_with("}}")) {
        e.add(&field, "parameter_at_edge", "the body cannot start or end with a variable");
    }
    let names = match format {
        ParameterFormat::Positional => match positional_numbers(&vars) {
            Ok(n) => n.into_iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            Err(msg) => return e.add(&field, "placeholder_sequence", msg),
        },
        ParameterFormat::Named => match named(&vars) {
            Ok(n) => n,
            Err(msg) => return e.add(&field, "invalid_placeholder", msg),
        },
    };
    check_examples(e, path, c, rules, format, &names);
}

/// The distinct numbers, which must be exactly 1..=n.
fn positional_numbers(vars: &[Placeholder]) -> Result<Vec<u32>, String> {
    let mut numbers = Vec::new();
    for v in vars {
        let n: u32 = v.token.parse().map_err(|_| {
            format!(
                "{{{{{}}}}} is not a numbered placeholder (use {{{{1}}}}, {{{{2}}}}, ... or parameter_format NAMED)",
                v.token
            )
        })?;
        if !numbers.contains(&n) {
            numbers.push(n);
        }
    }
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    if sorted.iter().enumerate().any(|(i, n)| *n as usize != i + 1) {
        return Err(format!("placeholders must be numbered from {{{{1}}}} without gaps; found {sorted:?}"));
    }
    if numbers != sorted {
        return Err("placeholders must appear in order: {{1}} before {{2}}".into());
    }
    Ok(sorted)
}

/// The distinct names, each lowercase letters, digits and underscores, starting with a letter.
fn named(vars: &[Placeholder]) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for v in vars {
        let ok = v.token.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && v.token.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(format!(
                "{{{{{}}}}} is not a valid named parameter (lowercase letters, digits, underscores)",
                v.token
            ));
        }
        if !names.contains(&v.token) {
            names.push(v.token.clone());
        }
    }
    Ok(names)
}

fn check_examples(
    e: &mut Errors,
    path: &str,
    c: &Map<String, Value>,
    rules: TextRules,
    format: ParameterFormat,
    names: &[String],
) {
    let example = c.get("example");
    match format {
        ParameterFormat::Positional => {
            let field = format!("{path}.example.{}", rules.example_key);
            let given = example.and_then(|x| x.get(rules.example_key));
            // BODY: [["v1", "v2"]]; HEADER: ["v1"].
            let values = match rules.what {
                "body" => given.and_then(Value::as_array).and_then(|rows| rows.first()).and_then(Value::as_array),
                _ => given.and_then(Value::as_array),
            };
            match values {
                None => e.add(field, "example_required", format!("{} example value(s) are required", names.len())),
                Some(v) if v.len() != names.len() || !v.iter().all(non_empty_str) => e.add(
                    field,
                    "example_mismatch",
                    format!("expected {} non-empty example value(s), got {}", names.len(), v.len()),
                ),
                Some(_) => {}
            }
        }
        ParameterFormat::Named => {
            let field = format!("{path}.example.{}", rules.named_example_key);
            let given = example.and_then(|x| x.get(rules.named_example_key)).and_then(Value::as_array);
            let Some(given) = given else {
                return e.add(field, "example_required", format!("an example is required for {names:?}"));
            };
            let mut covered: Vec<&str> = Vec::new();
            for g in given {
                let name = g.get("param_name").and_then(Value::as_str);
                let ok =
                    name.is_some_and(|n| names.iter().any(|x| x == n)) && g.get("example").is_some_and(non_empty_str);
                if !ok {
                    return e.add(
                        field,
                        "example_mismatch",
                        "each entry needs a param_name used in the text and an example",
                    );
                }
                covered.extend(name);
            }
            if names.iter().any(|n| !covered.contains(&n.as_str())) {
                e.add(field, "example_mismatch", format!("an example is required for each of {names:?}"));
            }
        }
    }
}

fn non_empty_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

fn check_buttons(e: &mut Errors, path: &str, c: &Map<String, Value>, auth: bool) {
    let field = format!("{path}.buttons");
    let Some(buttons) = c.get("buttons").and_then(Value::as_array).filter(|b| !b.is_empty()) else {
        return e.add(field, "required", "a BUTTONS component needs a non-empty buttons array");
    };
    if buttons.len() > MAX_BUTTONS {
        e.add(&field, "too_many", format!("at most {MAX_BUTTONS} buttons"));
    }
    let kinds: Vec<String> = buttons.iter().map(|b| b.as_object().map(kind).unwrap_or_default()).collect();
    if auth {
        if buttons.len() != 1 || kinds[0] != "OTP" {
            return e.add(field, "otp_button_required", "AUTHENTICATION templates have exactly one OTP button");
        }
        return check_otp_button(e, &format!("{field}[0]"), buttons[0].as_object());
    }
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    if count("URL") > MAX_URL_BUTTONS {
        e.add(&field, "too_many_url_buttons", format!("at most {MAX_URL_BUTTONS} URL buttons"));
    }
    if count("PHONE_NUMBER") > 1 {
        e.add(&field, "too_many_phone_buttons", "at most 1 phone number button");
    }
    if count("COPY_CODE") > 1 {
        e.add(&field, "too_many_copy_code_buttons", "at most 1 copy code button");
    }
    // Quick replies form one group (before or after the call-to-action buttons, never between).
    let groups = kinds.windows(2).filter(|w| (w[0] == "QUICK_REPLY") != (w[1] == "QUICK_REPLY")).count();
    if groups > 1 {
        e.add(&field, "quick_replies_not_grouped", "quick reply buttons must be next to each other");
    }
    for (j, (b, k)) in buttons.iter().zip(&kinds).enumerate() {
        let bpath = format!("{field}[{j}]");
        let Some(b) = b.as_object() else {
            e.add(bpath, "invalid", "must be an object");
            continue;
        };
        match k.as_str() {
            "QUICK_REPLY" | "URL" | "PHONE_NUMBER" => check_button_text(e, &bpath, b),
            "COPY_CODE" => {}
            "OTP" => {
                e.add(format!("{bpath}.type"), "not_allowed", "OTP buttons are for AUTHENTICATION templates");
                continue;
            }
            _ => {
                e.add(format!("{bpath}.type"), "invalid", "must be QUICK_REPLY, URL, PHONE_NUMBER or COPY_CODE");
                continue;
            }
        }
        match k.as_str() {
            "URL" => check_url_button(e, &bpath, b),
            "PHONE_NUMBER" => {
                let phone = text_of(b, "phone_number").unwrap_or_default();
                let ok = !phone.is_empty()
                    && phone.len() <= MAX_PHONE
                    && phone.trim_start_matches('+').bytes().all(|c| c.is_ascii_digit());
                if !ok {
                    e.add(
                        format!("{bpath}.phone_number"),
                        "invalid",
                        format!("a phone number of at most {MAX_PHONE} digits"),
                    );
                }
            }
            "COPY_CODE" => {
                let ok = b
                    .get("example")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty() && s.chars().count() <= MAX_COUPON);
                if !ok {
                    e.add(
                        format!("{bpath}.example"),
                        "example_required",
                        format!("a sample code of 1 to {MAX_COUPON} characters"),
                    );
                }
            }
            _ => {}
        }
    }
}

fn check_button_text(e: &mut Errors, path: &str, b: &Map<String, Value>) {
    match text_of(b, "text") {
        Some(t) if !t.trim().is_empty() && t.chars().count() <= MAX_BUTTON_TEXT => {
            if crate::domain::text::has_control(t) {
                let detail = crate::domain::text::control_error(format!("{path}.text"));
                e.add(detail.field, &detail.code, detail.message);
            } else if !placeholders(t).is_empty() {
                e.add(format!("{path}.text"), "variables_not_allowed", "button text cannot have variables");
            }
        }
        _ => e.add(format!("{path}.text"), "invalid", format!("must be 1 to {MAX_BUTTON_TEXT} characters")),
    }
}

fn check_url_button(e: &mut Errors, path: &str, b: &Map<String, Value>) {
    let field = format!("{path}.url");
    let url = text_of(b, "url").unwrap_or_default();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > MAX_URL {
        return e.add(field, "invalid", format!("an http(s) URL of at most {MAX_URL} characters"));
    }
    let vars = placeholders(url);
    match vars.as_slice() {
        [] => {}
        [one] if one.token == "1" && one.end == url.len() => {
            let ok = b.get("example").and_then(Value::as_array).is_some_and(|x| x.len() == 1 && non_empty_str(&x[0]));
            if !ok {
                e.add(format!("{path}.example"), "example_required", "one example URL is required for the variable");
            }
        }
        _ => e.add(field, "invalid_url_variable", "a URL can have one variable, {{1}}, at its end"),
    }
}

fn check_auth_body(e: &mut Errors, path: &str, c: &Map<String, Value>) {
    if c.contains_key("text") {
        e.add(format!("{path}.text"), "not_allowed", "AUTHENTICATION bodies are Meta's fixed text: omit text");
    }
    if c.get("add_security_recommendation").is_some_and(|v| !v.is_boolean()) {
        e.add(format!("{path}.add_security_recommendation"), "invalid", "must be a boolean");
    }
}

fn check_auth_footer(e: &mut Errors, path: &str, c: &Map<String, Value>) {
    if c.contains_key("text") {
        e.add(format!("{path}.text"), "not_allowed", "AUTHENTICATION footers are Meta's fixed text: omit text");
    }
    if let Some(v) = c.get("code_expiration_minutes")
        && !v.as_i64().is_some_and(|m| (1..=MAX_CODE_EXPIRATION_MINUTES).contains(&m))
    {
        e.add(
            format!("{path}.code_expiration_minutes"),
            "out_of_range",
            format!("must be 1 to {MAX_CODE_EXPIRATION_MINUTES}"),
        );
    }
}

fn check_otp_button(e: &mut Errors, path: &str, b: Option<&Map<String, Value>>) {
    let Some(b) = b else { return e.add(path, "invalid", "must be an object") };
    let otp_type = text_of(b, "otp_type").unwrap_or_default().to_ascii_uppercase();
    match otp_type.as_str() {
        "COPY_CODE" => {}
        "ONE_TAP" | "ZERO_TAP" => {
            let apps = b.get("supported_apps").and_then(Value::as_array);
            let ok = apps.is_some_and(|a| {
                !a.is_empty()
                    && a.iter().all(|app| {
                        app.get("package_name").is_some_and(non_empty_str)
                            && app.get("signature_hash").is_some_and(non_empty_str)
                    })
            });
            if !ok {
                e.add(
                    format!("{path}.supported_apps"),
                    "required",
                    "ONE_TAP and ZERO_TAP buttons need supported_apps with package_name and signature_hash",
                );
            }
        }
        _ => e.add(format!("{path}.otp_type"), "invalid", "must be COPY_CODE, ONE_TAP or ZERO_TAP"),
    }
}
