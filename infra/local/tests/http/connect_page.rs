//! The "Connect WhatsApp" page in headless Chromium (Debian's `chromium` through `chromedriver`),
//! with a local stand-in for the Facebook JS SDK that behaves like Embedded Signup: `FB.login`
//! answers with `{authResponse: {code}}` and facebook.com posts a `WA_EMBEDDED_SIGNUP` message
//! with the session info. The page must post exactly `{code, waba_id, phone_number_id}` and the
//! connection must end `connected` against the simulator.

use std::time::Duration;

use crate::common::*;
use crate::connect_support::webdriver::Driver;
use crate::connect_support::*;
use axum::Router;
use axum::http::header;
use axum::routing::get;
use meta_sim::business_for_code;
use serde_json::{Value, json};

/// The stand-in SDK. Like the real one it calls `window.fbAsyncInit` once loaded. `FB.login`
/// (scenario `finish`) first forges a message from a foreign origin (which the page must
/// ignore), then answers like Embedded Signup: the login callback with the code, then the
/// session info message from https://www.facebook.com (a `MessageEvent` whose `origin` is set,
/// since the stand-in cannot be served from facebook.com). Scenario `cancel` sends CANCEL and a
/// callback without a code. It also records every POST the page makes to /whatsapp/connect.
fn stand_in_sdk(code: &str, waba_id: &str, phone_number_id: &str) -> String {
    let ids = json!({"code": code, "waba_id": waba_id, "phone_number_id": phone_number_id});
    format!(
        r#"(function () {{
  var ids = {ids};
  window.__sdk = {{ init: null, login: null, scenario: "finish", posts: [] }};
  var realFetch = window.fetch.bind(window);
  window.fetch = function (url, init) {{
    if (String(url).indexOf("/whatsapp/connect") !== -1) {{
      window.__sdk.posts.push({{ url: String(url), method: init && init.method, body: init && init.body }});
    }}
    return realFetch(url, init);
  }};
  function post(origin, payload) {{
    window.dispatchEvent(new MessageEvent("message", {{ origin: origin, data: JSON.stringify(payload) }}));
  }}
  window.FB = {{
    init: function (opts) {{ window.__sdk.init = opts; }},
    login: function (callback, opts) {{
      window.__sdk.login = opts;
      setTimeout(function () {{
        if (window.__sdk.scenario === "cancel") {{
          post("https://www.facebook.com", {{ type: "WA_EMBEDDED_SIGNUP", event: "CANCEL", data: {{ current_step: "PHONE_NUMBER_SETUP" }}, version: "4" }});
          callback({{ authResponse: null, status: "unknown" }});
          return;
        }}
        post("https://evil.example", {{ type: "WA_EMBEDDED_SIGNUP", event: "FINISH", data: {{ waba_id: "666", phone_number_id: "999" }}, version: "4" }});
        callback({{ authResponse: {{ code: ids.code, userID: null, expiresIn: null, signedRequest: null }}, status: "connected" }});
        setTimeout(function () {{
          post("https://www.facebook.com", {{ type: "WA_EMBEDDED_SIGNUP", event: "FINISH",
            data: {{ phone_number_id: ids.phone_number_id, waba_id: ids.waba_id, business_id: "120000000000000" }}, version: "4" }});
        }}, 200);
      }}, 50);
    }}
  }};
  if (typeof window.fbAsyncInit === "function") {{ window.fbAsyncInit(); }}
}})();"#
    )
}

/// Serves `script` at `/sdk.js` with the CDN's CORS header (the page loads it `crossorigin`).
async fn serve_sdk(script: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app =
        Router::new().route(
            "/sdk.js",
            get(move || {
                let script = script.clone();
                async move {
                    ([(header::CONTENT_TYPE, "text/javascript"), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], script)
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/sdk.js")
}

async fn start_with_sdk(sdk_url: String) -> TestPlatform {
    start_configured(move |c| c.meta.sdk_url = sdk_url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_page_runs_embedded_signup_and_connects() {
    let code = code("browser");
    let business = business_for_code(&code);
    let phone = business.phone_numbers[0].id.clone();
    let sdk_url = serve_sdk(stand_in_sdk(&code, &business.waba_id, &phone)).await;
    let tp = start_with_sdk(sdk_url).await;
    let t = tenant(&tp, "Browser").await;
    let meta = tp.platform.as_ref().unwrap().state.config.meta.clone();

    let driver = Driver::start().await;
    driver.goto(&format!("{}#token={}", tp.url("/connect"), t.token)).await;
    let ready = "return !!(window.__sdk && window.__sdk.init) && !document.getElementById('connect-button').disabled";
    driver.wait_for(ready, Duration::from_secs(15), "the SDK to load and the button to enable").await;
    assert_eq!(driver.eval("return location.hash").await, "", "the token is taken out of the address bar");
    assert_eq!(driver.eval("return document.getElementById('connection-status').textContent").await, "Not connected");

    // FB.init with the app from /whatsapp/signup-config.
    let init = driver.eval("return window.__sdk.init").await;
    assert_eq!(init["appId"], meta.app_id.as_str());
    assert_eq!(init["version"], meta.graph_version.as_str());

    // A cancelled signup posts nothing and says where it stopped.
    driver.eval("window.__sdk.scenario = 'cancel'; return null").await;
    driver.click("#connect-button").await;
    driver
        .wait_for(
            "return document.getElementById('message').textContent.indexOf('PHONE_NUMBER_SETUP') !== -1",
            Duration::from_secs(10),
            "the cancel message",
        )
        .await;
    assert_eq!(driver.eval("return window.__sdk.posts.length").await, 0);

    // The real flow: code, then session info; the forged foreign-origin message is ignored.
    driver.eval("window.__sdk.scenario = 'finish'; return null").await;
    driver.click("#connect-button").await;
    driver
        .wait_for(
            "return document.getElementById('connection-status').getAttribute('data-status') === 'connected'",
            Duration::from_secs(20),
            "the connection to show connected",
        )
        .await;

    let login = driver.eval("return window.__sdk.login").await;
    assert_eq!(
        login,
        json!({
            "config_id": meta.config_id,
            "response_type": "code",
            "override_default_response_type": true,
            "extras": {"setup": {}, "featureType": "", "sessionInfoVersion": "3"}
        })
    );
    let posts = driver.eval("return window.__sdk.posts").await;
    let posts = posts.as_array().unwrap();
    assert_eq!(posts.len(), 1, "exactly one connect request: {posts:?}");
    assert_eq!(posts[0]["method"], "POST");
    let body: Value = serde_json::from_str(posts[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"code": code, "waba_id": business.waba_id, "phone_number_id": phone}));

    // The page shows every step done and the number.
    let steps = driver
        .eval("return Array.from(document.querySelectorAll('#steps li')).map(function (li) { return li.getAttribute('data-status'); })")
        .await;
    assert_eq!(steps, json!(["done", "done", "done", "done", "done", "done", "done", "done", "done"]));
    let shown = driver.eval("return document.getElementById('display-phone-number').textContent").await;
    assert_eq!(shown, business.phone_numbers[0].display_phone_number.as_str());
    driver.quit().await;

    // And the API agrees.
    let view = status(&tp, &t).await;
    assert_eq!(view["status"], "connected");
    assert_eq!(view["waba_id"], business.waba_id.as_str());
    assert_eq!(view["phone_number_id"], phone.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_page_asks_to_sign_in_first() {
    let sdk_url = serve_sdk(stand_in_sdk("unused", "1", "2")).await;
    let tp = start_with_sdk(sdk_url).await;
    let t = tenant(&tp, "Login").await;
    let driver = Driver::start().await;
    driver.goto(&tp.url("/connect")).await;
    driver
        .wait_for(
            "return !document.getElementById('login-section').hidden",
            Duration::from_secs(10),
            "the sign-in form",
        )
        .await;
    let script = format!(
        "document.getElementById('email').value = {}; document.getElementById('password').value = {}; return null",
        json!(t.email),
        json!(TENANT_PASSWORD)
    );
    driver.eval(&script).await;
    driver.click("#login-button").await;
    driver
        .wait_for(
            "return !document.getElementById('connect-button').disabled && document.getElementById('connection-status').textContent === 'Not connected'",
            Duration::from_secs(15),
            "the connect section after signing in",
        )
        .await;
    assert_eq!(driver.eval("return document.getElementById('password').value").await, "", "the password is cleared");
    driver.quit().await;
}
