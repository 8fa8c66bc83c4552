//! Validation rules one by one (each test fails if its rule is dropped), and the schema and
//! send-components builder against Meta's own send bodies (`shared/fixtures/meta-send`).

use serde_json::{Value, json};

use super::model::{ParameterFormat, TemplateInput};
use super::schema::{self, ParamKind};
use super::validate::validate;

fn input(category: &str, components: Value) -> TemplateInput {
    TemplateInput {
        name: Some("order_update".into()),
        language: Some("en_US".into()),
        category: Some(category.into()),
        components: Some(components),
        parameter_format: None,
    }
}

fn body(text: &str, example: Option<Value>) -> Value {
    let mut b = json!({"type": "BODY", "text": text});
    if let Some(e) = example {
        b["example"] = json!({"body_text": [e]});
    }
    b
}

/// The (field, code) pairs of a rejected input.
fn errors(i: TemplateInput) -> Vec<(String, String)> {
    validate(&i).expect_err("should be rejected").into_iter().map(|e| (e.field, e.code)).collect()
}

fn has(errs: &[(String, String)], field: &str, code: &str) -> bool {
    errs.iter().any(|(f, c)| f == field && c == code)
}

#[test]
fn accepts_meta_sample_request() {
    let v: Value = serde_json::from_str(&fixture("create_template_request_1.json")).unwrap();
    let i = TemplateInput {
        name: v["name"].as_str().map(Into::into),
        language: v["language"].as_str().map(Into::into),
        // Meta's legacy TRANSACTIONAL is UTILITY today; ours takes the current names only.
        category: Some("UTILITY".into()),
        components: Some(v["components"].clone()),
        parameter_format: None,
    };
    let ok = validate(&i).expect("Meta's own sample is valid");
    assert_eq!(ok.parameters.count, 1);
    assert_eq!(ok.parameters.variables[0].kind, ParamKind::BodyText);
}

#[test]
fn name_language_category_are_checked() {
    let mut i = input("PROMO", json!([body("Hi there", None)]));
    i.name = Some("Order-Update".into());
    i.language = Some("english".into());
    let e = errors(i);
    assert!(has(&e, "name", "invalid_format"), "{e:?}");
    assert!(has(&e, "language", "invalid_format"), "{e:?}");
    assert!(has(&e, "category", "invalid"), "{e:?}");
    let e = errors(TemplateInput::default());
    for f in ["name", "language", "category", "components"] {
        assert!(has(&e, f, "required"), "{f}: {e:?}");
    }
}

#[test]
fn placeholders_must_be_sequential_from_one() {
    let e = errors(input("UTILITY", json!([body("Hi {{1}}, order {{3}} ships.", Some(json!(["a", "b"])))])));
    assert!(has(&e, "components[0].text", "placeholder_sequence"), "{e:?}");
    let e = errors(input("UTILITY", json!([body("Hi {{2}}, order {{1}} ships.", Some(json!(["a", "b"])))])));
    assert!(has(&e, "components[0].text", "placeholder_sequence"), "{e:?}");
    assert!(
        validate(&input("UTILITY", json!([body("Hi {{1}}, order {{2}} ships.", Some(json!(["a", "b"])))]))).is_ok()
    );
}

#[test]
fn adjacent_parameters_are_rejected() {
    let e = errors(input("UTILITY", json!([body("Hello {{1}} {{2}} today.", Some(json!(["a", "b"])))])));
    assert!(has(&e, "components[0].text", "adjacent_parameters"), "{e:?}");
}

#[test]
fn body_cannot_start_or_end_with_a_variable() {
    let e = errors(input("UTILITY", json!([body("{{1}} is your code", Some(json!(["a"])))])));
    assert!(has(&e, "components[0].text", "parameter_at_edge"), "{e:?}");
    let e = errors(input("UTILITY", json!([body("Your code is {{1}}", Some(json!(["a"])))])));
    assert!(has(&e, "components[0].text", "parameter_at_edge"), "{e:?}");
}

#[test]
fn examples_are_required_and_must_match() {
    let e = errors(input("UTILITY", json!([body("Hi {{1}}, order {{2}} ships.", None)])));
    assert!(has(&e, "components[0].example.body_text", "example_required"), "{e:?}");
    let e = errors(input("UTILITY", json!([body("Hi {{1}}, order {{2}} ships.", Some(json!(["only one"])))])));
    assert!(has(&e, "components[0].example.body_text", "example_mismatch"), "{e:?}");
    let header = json!({"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"});
    let e = errors(input("UTILITY", json!([header, body("Thanks for shopping.", None)])));
    assert!(has(&e, "components[0].example.header_text", "example_required"), "{e:?}");
    let media = json!({"type": "HEADER", "format": "IMAGE"});
    let e = errors(input("MARKETING", json!([media, body("Thanks for shopping.", None)])));
    assert!(has(&e, "components[0].example.header_handle", "example_required"), "{e:?}");
}

#[test]
fn lengths() {
    let long_body = "a".repeat(1025);
    let e = errors(input(
        "UTILITY",
        json!([
            {"type": "HEADER", "format": "TEXT", "text": "h".repeat(61)},
            body(&long_body, None),
            {"type": "FOOTER", "text": "f".repeat(61)},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "b".repeat(26)}]}
        ]),
    ));
    assert!(has(&e, "components[0].text", "too_long"), "{e:?}");
    assert!(has(&e, "components[1].text", "too_long"), "{e:?}");
    assert!(has(&e, "components[2].text", "too_long"), "{e:?}");
    assert!(has(&e, "components[3].buttons[0].text", "invalid"), "{e:?}");
}

#[test]
fn header_one_variable_footer_none() {
    let e = errors(input(
        "UTILITY",
        json!([
            {"type": "HEADER", "format": "TEXT", "text": "{{1}} and {{2}}", "example": {"header_text": ["a", "b"]}},
            body("Thanks for shopping.", None),
            {"type": "FOOTER", "text": "Bye {{1}}"}
        ]),
    ));
    assert!(has(&e, "components[0].text", "too_many_variables"), "{e:?}");
    assert!(has(&e, "components[2].text", "variables_not_allowed"), "{e:?}");
}

#[test]
fn structure_body_required_and_no_duplicates() {
    let e = errors(input("UTILITY", json!([{"type": "FOOTER", "text": "x"}, {"type": "FOOTER", "text": "y"}])));
    assert!(has(&e, "components", "body_required"), "{e:?}");
    assert!(has(&e, "components[1].type", "duplicate"), "{e:?}");
    let e = errors(input("UTILITY", json!([body("Hi", None), {"type": "CAROUSELS"}])));
    assert!(has(&e, "components[1].type", "invalid"), "{e:?}");
}

#[test]
fn button_rules() {
    let qr = |t: &str| json!({"type": "QUICK_REPLY", "text": t});
    let url = json!({"type": "URL", "text": "Track", "url": "https://x.test/{{1}}", "example": ["https://x.test/1"]});
    let e = errors(input(
        "MARKETING",
        json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": (0..11).map(|i| qr(&format!("b{i}"))).collect::<Vec<_>>()}]),
    ));
    assert!(has(&e, "components[1].buttons", "too_many"), "{e:?}");
    let e =
        errors(input("MARKETING", json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": [url, url, url]}])));
    assert!(has(&e, "components[1].buttons", "too_many_url_buttons"), "{e:?}");
    let e = errors(input(
        "MARKETING",
        json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": [qr("a"), url, qr("b")]}]),
    ));
    assert!(has(&e, "components[1].buttons", "quick_replies_not_grouped"), "{e:?}");
    let middle =
        json!({"type": "URL", "text": "Track", "url": "https://x.test/{{1}}/x", "example": ["https://x.test/1/x"]});
    let e = errors(input("MARKETING", json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": [middle]}])));
    assert!(has(&e, "components[1].buttons[0].url", "invalid_url_variable"), "{e:?}");
    let no_example = json!({"type": "URL", "text": "Track", "url": "https://x.test/{{1}}"});
    let e = errors(input("MARKETING", json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": [no_example]}])));
    assert!(has(&e, "components[1].buttons[0].example", "example_required"), "{e:?}");
    let e = errors(input(
        "MARKETING",
        json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "call me"}]}]),
    ));
    assert!(has(&e, "components[1].buttons[0].phone_number", "invalid"), "{e:?}");
    let ok = input(
        "MARKETING",
        json!([body("Hi there.", None), {"type": "BUTTONS", "buttons": [qr("Yes"), qr("No"), url]}]),
    );
    assert!(validate(&ok).is_ok());
}

#[test]
fn named_parameters() {
    let mut i = input(
        "MARKETING",
        json!([{"type": "BODY", "text": "Hi {{first_name}}, your order {{order_id}} ships.",
                "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"},
                                                       {"param_name": "order_id", "example": "A1"}]}}]),
    );
    i.parameter_format = Some("NAMED".into());
    let ok = validate(&i).expect("named is valid");
    assert_eq!(ok.parameter_format, ParameterFormat::Named);
    assert_eq!(ok.parameters.variables[1].name.as_deref(), Some("order_id"));
    // The same text without NAMED is a numbering error; a missing named example is caught.
    let mut positional = i.clone();
    positional.parameter_format = None;
    assert!(has(&errors(positional), "components[0].text", "placeholder_sequence"));
    i.components = Some(json!([{"type": "BODY", "text": "Hi {{first_name}}, thanks.",
        "example": {"body_text_named_params": [{"param_name": "other", "example": "x"}]}}]));
    assert!(has(&errors(i), "components[0].example.body_text_named_params", "example_mismatch"));
}

#[test]
fn authentication_shape() {
    let good = json!([
        {"type": "BODY", "add_security_recommendation": true},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}
    ]);
    let ok = validate(&input("AUTHENTICATION", good)).expect("auth shape is valid");
    assert_eq!(ok.parameters.count, 1);
    let bad = json!([
        {"type": "HEADER", "format": "TEXT", "text": "Code"},
        {"type": "BODY", "text": "Your code is {{1}}."},
        {"type": "FOOTER", "code_expiration_minutes": 120},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "ONE_TAP"}]}
    ]);
    let e = errors(input("AUTHENTICATION", bad));
    assert!(has(&e, "components[0]", "not_allowed"), "{e:?}");
    assert!(has(&e, "components[1].text", "not_allowed"), "{e:?}");
    assert!(has(&e, "components[2].code_expiration_minutes", "out_of_range"), "{e:?}");
    assert!(has(&e, "components[3].buttons[0].supported_apps", "required"), "{e:?}");
    let e = errors(input("AUTHENTICATION", json!([{"type": "BODY"}])));
    assert!(has(&e, "components", "otp_button_required"), "{e:?}");
    let e = errors(input(
        "UTILITY",
        json!([body("Hi.", None), {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}]),
    ));
    assert!(has(&e, "components[1].buttons[0].type", "not_allowed"), "{e:?}");
}

// --- schema and send components against Meta's send fixtures ---------------------------------

/// `shared/fixtures/meta-send/<name>`, found from this crate upwards (works in worktrees).
fn fixture(name: &str) -> String {
    let start = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in start.ancestors() {
        let p = dir.join("shared/fixtures/meta-send").join(name);
        if p.exists() {
            return std::fs::read_to_string(p).unwrap();
        }
    }
    panic!("fixture {name} not found above {}", start.display());
}

fn expected_components(name: &str) -> Value {
    let v: Value = serde_json::from_str(&fixture(name)).unwrap();
    v["template"]["components"].clone()
}

fn schema_for(category: &str, components: Value) -> schema::ParamSchema {
    let ok = validate(&input(category, components)).expect("template is valid");
    ok.parameters
}

fn qr_buttons(n: usize) -> Value {
    json!({"type": "BUTTONS", "buttons": (0..n).map(|i| json!({"type": "QUICK_REPLY", "text": format!("Option {i}")})).collect::<Vec<_>>()})
}

#[test]
fn builds_body_param_fixture() {
    let s = schema_for("UTILITY", json!([body("Your code: *{{1}}.*", Some(json!(["1458425"])))]));
    let vars = [json!("18754269072")];
    assert_eq!(schema::check_variables(&s, &vars), Ok(()));
    assert_eq!(schema::build(&s, &vars), expected_components("send_template_body_param.json"));
}

#[test]
fn builds_quick_reply_fixture() {
    let s = schema_for(
        "UTILITY",
        json!([body("Hi {{1}}, confirm {{2}} at {{3}}?", Some(json!(["Ana", "04/11", "14:30"]))), qr_buttons(3)]),
    );
    assert_eq!((s.count, s.variables.len()), (3, 6), "3 required, 3 optional payloads");
    let vars = [
        json!("Mauricio"),
        json!("04/11/2022"),
        json!("14:30"),
        json!("OP_YES_48547"),
        json!("OP_NO_48548"),
        json!("OP_CH_48549"),
    ];
    assert_eq!(schema::check_variables(&s, &vars), Ok(()));
    assert_eq!(schema::build(&s, &vars), expected_components("send_template_quick_reply_buttons.json"));
    // Without the optional payloads no button components are sent.
    assert_eq!(schema::build(&s, &vars[..3]).as_array().unwrap().len(), 1);
}

#[test]
fn builds_image_header_currency_fixture() {
    let s = schema_for(
        "MARKETING",
        json!([
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
            body("Concert on {{1}}, tickets from {{2}}!", Some(json!(["May 10", "$35"]))),
            qr_buttons(2)
        ]),
    );
    let expected = expected_components("send_template_image_header_currency.json");
    let vars = [
        json!({"id": "3196424913981611"}),
        json!({"date_time": expected[1]["parameters"][0]["date_time"].clone()}),
        json!({"currency": {"fallback_value": "$35", "code": "USD", "amount_1000": 30000}}),
        json!("OP_SHN_454584"),
        json!("OP_SPR_454585"),
    ];
    assert_eq!(schema::check_variables(&s, &vars), Ok(()));
    assert_eq!(schema::build(&s, &vars), expected);
}

#[test]
fn builds_document_header_url_button_fixture() {
    let s = schema_for(
        "MARKETING",
        json!([
            {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::ZG9j"]}},
            body("Hi {{1}}, here is your class.", Some(json!(["Ana"]))),
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Open", "url": "https://www.x.test/{{1}}", "example": ["https://www.x.test/a"]}]}
        ]),
    );
    let vars = [
        json!({"id": "928860901494862", "filename": "Class.pdf"}),
        json!("Mauricio Binda"),
        json!("career-academy/?trk_ref=globalnav"),
    ];
    assert_eq!(schema::check_variables(&s, &vars), Ok(()));
    assert_eq!(schema::build(&s, &vars), expected_components("send_template_document_header_url_button.json"));
}

#[test]
fn check_variables_counts_and_types() {
    let s = schema_for(
        "MARKETING",
        json!([{"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["h"]}}, body("Hi {{1}}, thanks.", Some(json!(["a"])))]),
    );
    let e = schema::check_variables(&s, &[json!("https://x.test/a.png")]).unwrap_err();
    assert_eq!(e[0].code, "count_mismatch");
    let e = schema::check_variables(&s, &[json!("not a link"), json!({"currency": {"code": "USD"}})]).unwrap_err();
    assert_eq!(e.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["variables[0]", "variables[1]"]);
    assert!(schema::check_variables(&s, &[json!("https://x.test/a.png"), json!(42)]).is_ok());
    let built = schema::build(&s, &[json!("https://x.test/a.png"), json!(42)]);
    assert_eq!(built[0]["parameters"][0], json!({"type": "image", "image": {"link": "https://x.test/a.png"}}));
    assert_eq!(built[1]["parameters"][0], json!({"type": "text", "text": "42"}));
}

#[test]
fn named_and_authentication_send_shapes() {
    let mut i = input(
        "MARKETING",
        json!([{"type": "BODY", "text": "Hi {{first_name}}, thanks.",
                "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]}}]),
    );
    i.parameter_format = Some("NAMED".into());
    let s = validate(&i).unwrap().parameters;
    assert_eq!(
        schema::build(&s, &[json!("Ana")]),
        json!([{"type": "body", "parameters": [{"type": "text", "text": "Ana", "parameter_name": "first_name"}]}])
    );
    let auth = schema_for(
        "AUTHENTICATION",
        json!([{"type": "BODY"}, {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}]),
    );
    assert_eq!(
        schema::build(&auth, &[json!("123456")]),
        json!([
            {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
            {"type": "button", "sub_type": "url", "index": 0, "parameters": [{"type": "text", "text": "123456"}]}
        ])
    );
}

#[test]
fn one_line_texts_refuse_control_characters_and_the_body_only_line_breaks() {
    let i = input(
        "UTILITY",
        json!([
            {"type": "HEADER", "format": "TEXT", "text": "Order\r\nBcc: x"},
            body("Hi,\r\nyour order\tships.\u{7}", None),
            {"type": "FOOTER", "text": "Thanks\nagain"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop\u{0}"}]}
        ]),
    );
    let e = errors(i);
    for field in ["components[0].text", "components[1].text", "components[2].text", "components[3].buttons[0].text"] {
        assert!(has(&e, field, "invalid_characters"), "{field}: {e:?}");
    }
    // Line breaks and tabs are fine in a body.
    let ok = input("UTILITY", json!([body("Hi,\r\nyour order\tships.", None)]));
    assert!(validate(&ok).is_ok());
}
