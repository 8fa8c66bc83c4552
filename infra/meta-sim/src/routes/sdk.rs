//! The Facebook JS SDK stand-in (`GET /sdk.js`) and the Embedded Signup dialog it opens
//! (`GET /dialog/embedded_signup`, its script `GET /dialog/embedded_signup.js`).
//!
//! The dialog's outcome is decided here, from the code the page chose and the simulator's
//! conventions ([`crate::business_for_code`]), so the ids in the FINISH message are exactly the
//! business, WABA and number the Graph endpoints answer for that code.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Params;
use crate::business::business_for_code;
use crate::state::{Sim, unix_now};

const SDK_JS: &str = include_str!("../sdk/sdk.js");
const DIALOG_JS: &str = include_str!("../sdk/dialog.js");
/// Meta's session-info message version for `sessionInfoVersion: "3"`.
const SESSION_INFO_VERSION: u64 = 3;

fn script(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Loaded cross-origin (the page uses `crossorigin="anonymous"`, as with Meta's CDN).
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        body,
    )
        .into_response()
}

/// `GET /sdk.js`: the origin is taken from the script's own URL in the browser; the Host header
/// fills it in for the rare browser without `document.currentScript`.
pub async fn sdk(headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    script(SDK_JS.replace("__SIM_ORIGIN__", &format!("http://{host}")))
}

pub async fn dialog_js() -> Response {
    script(DIALOG_JS.to_owned())
}

/// What the dialog answers: the session-info message (if asked for), the login response.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub session_info: Option<Value>,
    pub auth_response: Value,
    pub status: &'static str,
    pub summary: String,
}

fn session_info(event: &str, data: Value) -> Value {
    json!({ "data": data, "type": "WA_EMBEDDED_SIGNUP", "event": event, "version": SESSION_INFO_VERSION })
}

fn error_outcome(message: &str) -> Outcome {
    let data = json!({
        "error_message": message,
        "error_id": "524126",
        "session_id": format!("{:x}", rand::random::<u64>()),
        "timestamp": unix_now(),
    });
    Outcome {
        session_info: Some(session_info("ERROR", data)),
        auth_response: Value::Null,
        status: "unknown",
        summary: format!("Signup failed: {message}"),
    }
}

/// The dialog's outcome for the parameters FB.login passed.
pub fn outcome(sim: &Sim, q: &Params) -> Outcome {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let config = sim.config();
    let with_info = !get("session_info_version").is_empty();
    let mut out = if get("app_id") != config.app_id {
        error_outcome(&format!("Invalid App ID: {} is not the simulator's app", get("app_id")))
    } else if get("config_id").is_empty() {
        error_outcome("Embedded Signup needs a configuration: FB.login was called without config_id")
    } else if get("code").is_empty() {
        error_outcome("No signup code was chosen")
    } else {
        match get("scenario") {
            "cancel" => Outcome {
                session_info: Some(session_info("CANCEL", json!({ "current_step": "PHONE_NUMBER_SETUP" }))),
                auth_response: Value::Null,
                status: "unknown",
                summary: "Signup cancelled at PHONE_NUMBER_SETUP.".into(),
            },
            "error" => error_outcome("The simulator was asked to fail this signup"),
            _ => finish(sim, q),
        }
    };
    if !with_info {
        out.session_info = None;
    }
    out
}

fn finish(sim: &Sim, q: &Params) -> Outcome {
    let code = q.get("code").map(String::as_str).unwrap_or_default();
    let b = business_for_code(code);
    let index = q.get("phone_index").and_then(|i| i.parse::<usize>().ok()).unwrap_or(0);
    let (info, summary) = match b.phone_numbers.get(index.min(b.phone_numbers.len().saturating_sub(1))) {
        Some(p) => (
            session_info(
                "FINISH",
                json!({ "phone_number_id": p.id, "waba_id": b.waba_id, "business_id": b.business_id }),
            ),
            format!("{} connected WhatsApp number {} (WABA {}).", b.name, p.display_phone_number, b.waba_id),
        ),
        None => (
            session_info("FINISH_ONLY_WABA", json!({ "waba_id": b.waba_id, "business_id": b.business_id })),
            format!("{} finished without a phone number (WABA {}).", b.name, b.waba_id),
        ),
    };
    let user_id = format!("9{}", &b.business_id[1..]);
    let auth = if q.get("response_type").map(String::as_str) == Some("code") {
        json!({ "code": code, "userID": user_id, "expiresIn": null, "signedRequest": null, "graphDomain": "facebook" })
    } else {
        // Without `response_type: "code"` the SDK hands the page a user token instead.
        let secret = sim.config().app_secret;
        json!({
            "accessToken": crate::token::issue(b.seed, &secret),
            "userID": user_id,
            "expiresIn": 5_183_944,
            "signedRequest": null,
            "graphDomain": "facebook",
            "data_access_expiration_time": unix_now() + 90 * 24 * 3600,
        })
    };
    Outcome { session_info: Some(info), auth_response: auth, status: "connected", summary }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `GET /dialog/embedded_signup`: a page that answers its opener and closes (no inline script:
/// the data travels in a JSON block the dialog script reads).
pub async fn dialog(State(sim): State<Arc<Sim>>, Query(q): Query<Params>) -> Response {
    let o = outcome(&sim, &q);
    let delay_ms = q.get("delay_ms").and_then(|d| d.parse::<u64>().ok()).unwrap_or(300).min(10_000);
    let data = json!({
        "origin": q.get("origin").cloned().unwrap_or_else(|| "*".into()),
        "session_info": o.session_info,
        "auth_response": o.auth_response,
        "status": o.status,
        "delay_ms": delay_ms,
    });
    // JSON inside <script>: no `<` may close the element early.
    let data = data.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>WhatsApp Embedded Signup (Meta simulator)</title>\n</head>\n<body>\n<main>\n\
         <h1>WhatsApp Embedded Signup — Meta simulator</h1>\n<p>{}</p>\n<p id=\"state\" role=\"status\">Answering…</p>\n\
         </main>\n<script type=\"application/json\" id=\"signup\">{data}</script>\n\
         <script src=\"/dialog/embedded_signup.js\"></script>\n</body>\n</html>\n",
        html_escape(&o.summary)
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'self'"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn base(code: &str) -> Vec<(&str, &str)> {
        vec![
            ("app_id", crate::DEFAULT_APP_ID),
            ("config_id", "cfg"),
            ("response_type", "code"),
            ("code", code),
            ("session_info_version", "3"),
        ]
    }

    #[test]
    fn finish_names_the_codes_business_and_number() {
        let sim = Sim::new(crate::SimConfig::default()).unwrap();
        let o = outcome(&sim, &params(&base("acme~2")));
        let b = business_for_code("acme");
        assert_eq!(o.status, "connected");
        assert_eq!(o.auth_response["code"], "acme~2");
        let info = o.session_info.unwrap();
        assert_eq!(info["type"], "WA_EMBEDDED_SIGNUP");
        assert_eq!(info["event"], "FINISH");
        assert_eq!(info["data"]["waba_id"], b.waba_id.as_str());
        assert_eq!(info["data"]["phone_number_id"], b.phone_numbers[0].id.as_str());

        let mut p = base("x_numbers_3");
        p.push(("phone_index", "2"));
        let o = outcome(&sim, &params(&p));
        assert_eq!(
            o.session_info.unwrap()["data"]["phone_number_id"],
            business_for_code("x_numbers_3").phone_numbers[2].id.as_str()
        );

        let o = outcome(&sim, &params(&base("y_finish_only_waba")));
        let info = o.session_info.unwrap();
        assert_eq!(info["event"], "FINISH_ONLY_WABA");
        assert!(info["data"].get("phone_number_id").is_none());
    }

    #[test]
    fn cancel_error_wrong_app_and_no_session_info() {
        let sim = Sim::new(crate::SimConfig::default()).unwrap();
        let mut p = base("c");
        p.push(("scenario", "cancel"));
        let o = outcome(&sim, &params(&p));
        assert_eq!((o.session_info.unwrap()["event"].clone(), o.auth_response), (json!("CANCEL"), Value::Null));

        let mut p = base("c");
        p[0] = ("app_id", "42");
        let o = outcome(&sim, &params(&p));
        assert_eq!(o.session_info.unwrap()["event"], "ERROR");
        assert_eq!(o.status, "unknown");

        let p: Vec<_> = base("c").into_iter().filter(|(k, _)| *k != "session_info_version").collect();
        let o = outcome(&sim, &params(&p));
        assert!(o.session_info.is_none());
        assert_eq!(o.auth_response["code"], "c");

        let p: Vec<_> = base("c").into_iter().filter(|(k, _)| *k != "response_type").collect();
        let token = outcome(&sim, &params(&p)).auth_response["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(crate::token::business_of(&token, crate::DEFAULT_APP_SECRET), Some(business_for_code("c")));
    }
}
