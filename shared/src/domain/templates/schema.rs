//! A template's parameter schema: what a send must supply, derived once from the components and
//! stored with the template, so the send pipeline checks variables (count and types) before it
//! spends a Meta call, and builds Meta's send `components` from a flat `variables` list.
//!
//! The flat list is ordered: header variable, body variables (numbered order, or first
//! appearance when NAMED), URL-suffix and copy-code buttons by index, then the optional
//! quick-reply payloads by index (optional ones last, so a caller may simply stop early).
//! AUTHENTICATION templates take one variable, the code, sent both in the body and in the OTP
//! button as Meta requires.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::FieldError;

use super::model::{ParameterFormat, Template};
use super::validate::placeholders;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// A text header variable (text only).
    HeaderText,
    /// A body variable: text, or a `{"currency": {...}}` / `{"date_time": {...}}` object.
    BodyText,
    /// Media headers: a link (string) or `{"link"|"id": ..., "filename"?}`.
    Image,
    Video,
    Document,
    /// `{"latitude", "longitude", "name"?, "address"?}`.
    Location,
    /// The end of a URL button's URL.
    UrlSuffix,
    CouponCode,
    /// A quick-reply button's payload (optional).
    Payload,
    /// An AUTHENTICATION template's one-time code.
    OtpCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    Header,
    Body,
    Button,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variable {
    /// 1-based position in the flat `variables` list.
    pub position: usize,
    pub component: Slot,
    /// The button's index (buttons only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The parameter name (NAMED templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: ParamKind,
    pub required: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParamSchema {
    pub format: ParameterFormat,
    /// Required variables (`variables` may add the optional quick-reply payloads after them).
    pub count: usize,
    pub variables: Vec<Variable>,
}

/// The schema of any components, ours or Meta's (synced templates are not ours to validate):
/// what cannot be understood adds no variable.
pub fn derive(components: &Value, format: ParameterFormat, category: &str) -> ParamSchema {
    let mut required: Vec<Variable> = Vec::new();
    let mut optional: Vec<Variable> = Vec::new();
    let list = components.as_array().cloned().unwrap_or_default();
    let kind_of = |c: &Value| c.get("type").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    let push = |v: &mut Vec<Variable>, component, index, name, kind, req| {
        v.push(Variable { position: 0, component, index, name, kind, required: req })
    };
    if category == "AUTHENTICATION" {
        push(&mut required, Slot::Body, None, None, ParamKind::OtpCode, true);
    } else {
        if let Some(h) = list.iter().find(|c| kind_of(c) == "HEADER") {
            let fmt = h.get("format").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
            let media = match fmt.as_str() {
                "IMAGE" => Some(ParamKind::Image),
                "VIDEO" => Some(ParamKind::Video),
                "DOCUMENT" => Some(ParamKind::Document),
                "LOCATION" => Some(ParamKind::Location),
                _ => None,
            };
            match media {
                Some(kind) => push(&mut required, Slot::Header, None, None, kind, true),
                None => {
                    for name in distinct(h.get("text").and_then(Value::as_str).unwrap_or_default(), format) {
                        push(&mut required, Slot::Header, None, named(format, name), ParamKind::HeaderText, true);
                    }
                }
            }
        }
        if let Some(b) = list.iter().find(|c| kind_of(c) == "BODY") {
            for name in distinct(b.get("text").and_then(Value::as_str).unwrap_or_default(), format) {
                push(&mut required, Slot::Body, None, named(format, name), ParamKind::BodyText, true);
            }
        }
        let buttons =
            list.iter().find(|c| kind_of(c) == "BUTTONS").and_then(|c| c.get("buttons")).and_then(Value::as_array);
        for (j, button) in buttons.into_iter().flatten().enumerate() {
            match kind_of(button).as_str() {
                "URL" if button.get("url").and_then(Value::as_str).is_some_and(|u| !placeholders(u).is_empty()) => {
                    push(&mut required, Slot::Button, Some(j), None, ParamKind::UrlSuffix, true)
                }
                "COPY_CODE" => push(&mut required, Slot::Button, Some(j), None, ParamKind::CouponCode, true),
                "QUICK_REPLY" => push(&mut optional, Slot::Button, Some(j), None, ParamKind::Payload, false),
                _ => {}
            }
        }
    }
    let count = required.len();
    let mut variables = required;
    variables.extend(optional);
    for (i, v) in variables.iter_mut().enumerate() {
        v.position = i + 1;
    }
    ParamSchema { format, count, variables }
}

/// Distinct placeholder tokens in the order a sender numbers them.
fn distinct(text: &str, format: ParameterFormat) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for p in placeholders(text) {
        if !tokens.contains(&p.token) {
            tokens.push(p.token);
        }
    }
    if format == ParameterFormat::Positional {
        tokens.sort_by_key(|t| t.parse::<u32>().unwrap_or(u32::MAX));
    }
    tokens
}

fn named(format: ParameterFormat, token: String) -> Option<String> {
    (format == ParameterFormat::Named).then_some(token)
}

/// Count and types of `variables` against the schema; every problem, each naming
/// `variables[i]` (or `variables` for the count).
pub fn check_variables(schema: &ParamSchema, variables: &[Value]) -> Result<(), Vec<FieldError>> {
    let max = schema.variables.len();
    if variables.len() < schema.count || variables.len() > max {
        let expected =
            if max == schema.count { format!("{}", schema.count) } else { format!("{} to {}", schema.count, max) };
        return Err(vec![FieldError::new(
            "variables",
            "count_mismatch",
            format!("this template takes {expected} variable(s), got {}", variables.len()),
        )]);
    }
    let errors: Vec<FieldError> = schema
        .variables
        .iter()
        .zip(variables)
        .enumerate()
        .filter_map(|(i, (var, value))| {
            check_one(var.kind, value).err().map(|m| FieldError::new(format!("variables[{i}]"), "invalid_type", m))
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn text_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_link(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn check_one(kind: ParamKind, v: &Value) -> Result<(), String> {
    let text = || text_value(v).map(|_| ()).ok_or_else(|| "must be a non-empty text".to_string());
    match kind {
        ParamKind::HeaderText
        | ParamKind::UrlSuffix
        | ParamKind::CouponCode
        | ParamKind::Payload
        | ParamKind::OtpCode => text(),
        ParamKind::BodyText => {
            if let Some(c) = v.get("currency") {
                let ok = c.get("fallback_value").is_some_and(Value::is_string)
                    && c.get("code").and_then(Value::as_str).is_some_and(|s| s.len() == 3)
                    && c.get("amount_1000").is_some_and(|a| a.is_i64() || a.is_u64());
                return if ok {
                    Ok(())
                } else {
                    Err("a currency needs fallback_value, code and integer amount_1000".into())
                };
            }
            if let Some(d) = v.get("date_time") {
                return if d.get("fallback_value").is_some_and(Value::is_string) {
                    Ok(())
                } else {
                    Err("a date_time needs fallback_value".into())
                };
            }
            text().map_err(|_| "must be a text, a {currency} or a {date_time}".into())
        }
        ParamKind::Image | ParamKind::Video | ParamKind::Document => {
            let ok = match v {
                Value::String(s) => is_link(s),
                Value::Object(o) => {
                    o.get("link").and_then(Value::as_str).is_some_and(is_link)
                        || o.get("id").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
                }
                _ => false,
            };
            if ok { Ok(()) } else { Err("must be an http(s) link or {link|id}".into()) }
        }
        ParamKind::Location => {
            let ok =
                v.get("latitude").is_some_and(Value::is_number) && v.get("longitude").is_some_and(Value::is_number);
            if ok { Ok(()) } else { Err("must be {latitude, longitude, name?, address?}".into()) }
        }
    }
}

/// One send parameter in Meta's shape.
fn parameter(var: &Variable, v: &Value) -> Value {
    let text = text_value(v).unwrap_or_default();
    let mut p = match var.kind {
        ParamKind::HeaderText | ParamKind::UrlSuffix | ParamKind::OtpCode => json!({"type": "text", "text": text}),
        ParamKind::BodyText => match (v.get("currency"), v.get("date_time")) {
            (Some(c), _) => json!({"type": "currency", "currency": c}),
            (_, Some(d)) => json!({"type": "date_time", "date_time": d}),
            _ => json!({"type": "text", "text": text}),
        },
        ParamKind::CouponCode => json!({"type": "coupon_code", "coupon_code": text}),
        ParamKind::Payload => json!({"type": "payload", "payload": text}),
        ParamKind::Location => json!({"type": "location", "location": v}),
        ParamKind::Image | ParamKind::Video | ParamKind::Document => {
            let kind = match var.kind {
                ParamKind::Image => "image",
                ParamKind::Video => "video",
                _ => "document",
            };
            let media = match v {
                Value::String(link) => json!({"link": link}),
                other => other.clone(),
            };
            json!({"type": kind, kind: media})
        }
    };
    if let (Some(name), Some(obj)) = (&var.name, p.as_object_mut()) {
        obj.insert("parameter_name".into(), Value::String(name.clone()));
    }
    p
}

fn button(sub_type: &str, index: usize, parameters: Vec<Value>) -> Value {
    json!({"type": "button", "sub_type": sub_type, "index": index, "parameters": parameters})
}

/// Meta's send `components` for this template and these (checked) variables.
pub fn build_send_components(template: &Template, variables: &[Value]) -> Value {
    build(&template.parameters, variables)
}

/// [`build_send_components`] from the schema alone.
pub fn build(schema: &ParamSchema, variables: &[Value]) -> Value {
    let mut header = Vec::new();
    let mut body = Vec::new();
    let mut buttons: Vec<(usize, Value)> = Vec::new();
    for (var, value) in schema.variables.iter().zip(variables) {
        let p = parameter(var, value);
        match (var.component, var.kind) {
            (_, ParamKind::OtpCode) => {
                body.push(p.clone());
                buttons.push((0, button("url", 0, vec![p])));
            }
            (Slot::Header, _) => header.push(p),
            (Slot::Body, _) => body.push(p),
            (Slot::Button, kind) => {
                let sub_type = match kind {
                    ParamKind::CouponCode => "copy_code",
                    ParamKind::Payload => "quick_reply",
                    _ => "url",
                };
                let index = var.index.unwrap_or(0);
                buttons.push((index, button(sub_type, index, vec![p])));
            }
        }
    }
    buttons.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    if !header.is_empty() {
        out.push(json!({"type": "header", "parameters": header}));
    }
    if !body.is_empty() {
        out.push(json!({"type": "body", "parameters": body}));
    }
    out.extend(buttons.into_iter().map(|(_, b)| b));
    Value::Array(out)
}
