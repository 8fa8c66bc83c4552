//! The `whatsapp-api` function's sample event (`events/whatsapp-api.json`, also used by the
//! cold-start bench) is a valid API Gateway payload its router serves: the connect page.

use axum::body::Body;
use http_body_util::BodyExt;
use miping::app::AppState;
use miping::http::layers::with_common_layers;
use tower::ServiceExt;

#[tokio::test]
async fn the_sample_event_gets_the_connect_page() {
    let dir = tempfile::tempdir().unwrap();
    let (ports, config) = miping::platform::embedded::local_state(dir.path()).unwrap();
    let sdk_url = config.meta.sdk_url.clone();
    let app = with_common_layers(miping::http::routes::whatsapp_group(AppState::new(ports, config)));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let event = std::fs::read_to_string(root.join("whatsapp-api.json")).unwrap();
    let req = lambda_http::request::from_str(&event).expect("a valid API Gateway v2 event");
    let res = app.oneshot(req.map(|b| Body::from(b.to_vec()))).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let html = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(html.contains("Connect WhatsApp"));
    assert!(html.contains("/connect/connect.js"));
    assert!(html.contains(&serde_json::to_string(&sdk_url).unwrap()), "the SDK URL comes from configuration");
    assert!(!html.contains("{{CONFIG_JSON}}"));
}
