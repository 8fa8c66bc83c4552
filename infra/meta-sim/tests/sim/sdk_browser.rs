//! The Facebook JS SDK stand-in in headless Chromium (Debian's `chromium` through
//! `chromedriver`), loaded by a page on another origin the way a console loads Meta's SDK:
//! `FB.login` opens the simulator's signup popup, the page receives `WA_EMBEDDED_SIGNUP` from the
//! simulator's origin and a code that the Graph endpoints map to the same business. Also: the
//! generated inbound images decode in a real browser.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use meta_sim::{SimHandle, business_for_code};
use serde_json::{Value, json};

use crate::common::*;
use crate::webdriver::Driver;

/// The host page: records every `message` event and every login response, with no check of
/// its own (the test checks origins).
const PAGE: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title></head>
<body><button id="connect" type="button">Connect WhatsApp</button><script src="/page.js"></script></body></html>"#;

const PAGE_JS: &str = r#"
(function () {
  var q = new URLSearchParams(location.search);
  window.__t = { ready: false, messages: [], responses: [], images: {} };
  window.addEventListener("message", function (e) {
    window.__t.messages.push({ origin: e.origin, data: e.data });
  });
  window.fbAsyncInit = function () {
    FB.init({ appId: q.get("app"), autoLogAppEvents: true, xfbml: true, version: "v24.0" });
    window.__t.ready = true;
  };
  document.getElementById("connect").addEventListener("click", function () {
    FB.login(function (r) { window.__t.responses.push(r); }, {
      config_id: "cfg-sim", response_type: "code", override_default_response_type: true,
      extras: { setup: {}, featureType: "", sessionInfoVersion: "3" }
    });
  });
  var s = document.createElement("script");
  s.src = q.get("sdk");
  s.async = true;
  s.crossOrigin = "anonymous";
  document.body.appendChild(s);
})();
"#;

async fn host_page() -> String {
    let app = Router::new()
        .route("/", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }))
        .route("/page.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], PAGE_JS) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn url(host: &str, sdk: &str) -> String {
    let params = [("sdk", sdk), ("app", meta_sim::DEFAULT_APP_ID)];
    reqwest::Url::parse_with_params(&format!("{host}/"), &params).unwrap().to_string()
}

/// Clicks Connect and waits for the login callback; answers it and the session-info messages
/// that came from the simulator's origin (parsed).
async fn login(driver: &Driver, sim: &SimHandle) -> (Value, Vec<Value>) {
    let before = driver.eval("return window.__t.responses.length").await.as_u64().unwrap();
    driver.click("#connect").await;
    // The popup's session message and the login callback are separate events (as with Meta): wait
    // for both, in whichever order a loaded machine delivers them.
    let done = format!(
        "return window.__t.responses.length > {before} \
         && window.__t.messages.some(m => String(m.data).includes('WA_EMBEDDED_SIGNUP'))"
    );
    // Generous: the popup is a second page load on a machine a full test run keeps busy.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while driver.eval(&done).await != Value::Bool(true) {
        if std::time::Instant::now() > deadline {
            // What the page saw says whether the popup was blocked, closed early or never answered.
            let seen = driver.eval("return JSON.stringify({t: window.__t, logins: FB.__sim.logins})").await;
            panic!("no FB.login callback and session message; the page saw {seen}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = driver.eval("return window.__t").await;
    let response = t["responses"][before as usize].clone();
    let from_sim: Vec<Value> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["origin"] == sim.origin().as_str())
        .filter_map(|m| serde_json::from_str::<Value>(m["data"].as_str()?).ok())
        .filter(|d| d["type"] == "WA_EMBEDDED_SIGNUP")
        .collect();
    driver.eval("window.__t.messages = []; return null").await;
    (response, from_sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fb_login_completes_embedded_signup_against_the_simulator() {
    let sim = sim(fast_config()).await;
    let host = host_page().await;
    assert_ne!(host, sim.origin(), "the page and the simulator are different origins");
    let driver = Driver::start().await;
    driver.goto(&url(&host, &sim.sdk_url())).await;
    driver.wait_for("return window.__t && window.__t.ready", Duration::from_secs(15), "the SDK to load").await;
    assert_eq!(driver.eval("return FB.__sim.init.appId").await, meta_sim::DEFAULT_APP_ID);

    // The code the page chose: FINISH names that code's business, WABA and number.
    let chosen = code("browser");
    driver.eval(&format!("FB.__sim.code = {}; return null", json!(chosen))).await;
    let (response, info) = login(&driver, &sim).await;
    assert_eq!(response["status"], "connected");
    assert_eq!(response["authResponse"]["code"], chosen.as_str());
    let b = business_for_code(&chosen);
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0]["event"], "FINISH");
    assert_eq!(
        info[0]["data"],
        json!({"phone_number_id": b.phone_numbers[0].id, "waba_id": b.waba_id, "business_id": b.business_id})
    );
    // And Graph agrees: the code exchanges for a token that sees that number.
    let g = Graph::new(&sim);
    let token = g.token(&chosen).await;
    let (_, phones) = g.get(&format!("{}/phone_numbers", b.waba_id), &token).await;
    assert_eq!(phones["data"][0]["id"], b.phone_numbers[0].id.as_str());

    // Cancelled in the dialog: CANCEL, and a callback without a code.
    driver.eval("FB.__sim.scenario = 'cancel'; return null").await;
    let (response, info) = login(&driver, &sim).await;
    assert_eq!(response["authResponse"], Value::Null);
    assert_eq!(
        (info[0]["event"].as_str(), info[0]["data"]["current_step"].as_str()),
        (Some("CANCEL"), Some("PHONE_NUMBER_SETUP"))
    );

    // No code chosen: a fresh one per login, a new business, still consistent with Graph.
    driver.eval("FB.__sim.scenario = 'finish'; FB.__sim.code = null; return null").await;
    let (response, info) = login(&driver, &sim).await;
    let random = response["authResponse"]["code"].as_str().unwrap().to_owned();
    assert!(random.starts_with("sim-"), "{random}");
    assert_eq!(info[0]["data"]["waba_id"], business_for_code(&random).waba_id.as_str());
    let (again, _) = login(&driver, &sim).await;
    assert_ne!(again["authResponse"]["code"].as_str(), Some(random.as_str()));

    // A business without a number, and the third number of a three-number business.
    driver.eval(&format!("FB.__sim.code = {}; return null", json!(code_with("x_finish_only_waba")))).await;
    let (_, info) = login(&driver, &sim).await;
    assert_eq!(info[0]["event"], "FINISH_ONLY_WABA");
    let three = code_with("y_numbers_3");
    driver.eval(&format!("FB.__sim.code = {}; FB.__sim.phone_index = 2; return null", json!(three))).await;
    let (_, info) = login(&driver, &sim).await;
    assert_eq!(info[0]["data"]["phone_number_id"], business_for_code(&three).phone_numbers[2].id.as_str());

    // The code can also come with the script URL (`sdk.js?code=`).
    let preset = code("preset");
    driver.goto(&url(&host, &format!("{}?code={preset}", sim.sdk_url()))).await;
    driver.wait_for("return window.__t && window.__t.ready", Duration::from_secs(15), "the SDK to reload").await;
    let (response, _) = login(&driver, &sim).await;
    assert_eq!(response["authResponse"]["code"], preset.as_str());
    driver.quit().await;
}

fn code_with(flag: &str) -> String {
    format!("{flag}-{}", ulid::Ulid::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_images_decode_in_a_browser() {
    let sim = sim(fast_config()).await;
    let host = host_page().await;
    let phone = business_for_code(&code("pics")).phone_numbers[0].id.clone();
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (kind, mime) in [("image", None), ("image", Some("image/png")), ("sticker", None)] {
        let mut req = json!({"phone_number_id": phone, "from": "15550001111", "type": kind});
        if let Some(m) = mime {
            req["mime_type"] = json!(m);
        }
        let r: Value = http
            .post(format!("{}/_sim/inbound", sim.base_url()))
            .json(&req)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push((kind, r["media_id"].as_str().unwrap().to_owned()));
    }
    let driver = Driver::start().await;
    driver.goto(&url(&host, &sim.sdk_url())).await;
    for (_, id) in &ids {
        let src = format!("{}/_sim/media/{id}/bytes", sim.base_url());
        let script = format!(
            "var i = new Image(); i.onload = function () {{ window.__t.images[{id:?}] = i.naturalWidth + 'x' + i.naturalHeight; }}; \
             i.onerror = function () {{ window.__t.images[{id:?}] = 'error'; }}; i.src = {src:?}; return null"
        );
        driver.eval(&script).await;
    }
    let all = format!("return Object.keys(window.__t.images).length === {}", ids.len());
    driver.wait_for(&all, Duration::from_secs(10), "the images to load or fail").await;
    let images = driver.eval("return window.__t.images").await;
    assert_eq!(images[&ids[0].1], "8x8", "JPEG: {images}");
    assert_eq!(images[&ids[1].1], "8x8", "PNG: {images}");
    assert_eq!(images[&ids[2].1], "1x1", "WEBP sticker: {images}");
    driver.quit().await;
}
