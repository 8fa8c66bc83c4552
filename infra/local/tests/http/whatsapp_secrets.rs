//! The business token and the registration PIN never appear in a response body or a log line,
//! at the most verbose log level, across a successful connect, failed and resumed steps, an
//! expired token and a disconnect. (Its own test binary: it installs the global subscriber.)

use crate::common::*;
use crate::connect_support::*;
use meta_sim::{Endpoint, ScriptedFault};
use miping::store::whatsapp::WhatsappStore;
use reqwest::Response;
use secrecy::ExposeSecret;
use serde_json::json;

async fn body(bodies: &mut Vec<String>, r: Response) {
    bodies.push(r.text().await.unwrap());
}

#[tokio::test]
async fn no_token_or_pin_in_any_response_or_log() {
    let captured = CapturedLogs::install();

    let tp = start().await;
    let t = tenant(&tp, "Secret").await;
    let sim = sim(&tp);
    let mut bodies = Vec::new();

    // Failures on the way (a transient error, an expired token), resumes, a reconnect.
    let code = code("secret");
    sim.fail_next(Endpoint::SubscribeApp, ScriptedFault::ServerError);
    body(&mut bodies, connect_code(&tp, &t, &code).await).await;
    body(&mut bodies, connect(&tp, &t, json!({})).await).await;
    let first = WhatsappStore::new(&*ports(&tp).table).get(&t.id).await.unwrap().unwrap();
    sim.fail_next(Endpoint::GetPhoneNumber, ScriptedFault::ExpiredToken);
    body(&mut bodies, connect_code(&tp, &t, &format!("{code}~2")).await).await;
    body(&mut bodies, connect_code(&tp, &t, &format!("{code}~3")).await).await;
    body(&mut bodies, connect_code(&tp, &t, "invalid").await).await;
    body(&mut bodies, connect_code(&tp, &t, &format!("{code}~4")).await).await;
    let last = WhatsappStore::new(&*ports(&tp).table).get(&t.id).await.unwrap().unwrap();
    let r = tp.http.get(tp.url("/whatsapp/status")).bearer_auth(&t.token).send().await.unwrap();
    body(&mut bodies, r).await;
    body(&mut bodies, disconnect(&tp, &t).await).await;

    // The secrets, from the vault.
    let vault = &ports(&tp).vault;
    let mut secrets = Vec::new();
    for conn in [&first, &last] {
        secrets
            .push(vault.open(&t.id, conn.sealed_token.as_deref().unwrap()).await.unwrap().expose_secret().to_string());
        secrets.push(vault.open(&t.id, conn.sealed_pin.as_deref().unwrap()).await.unwrap().expose_secret().to_string());
    }
    assert!(secrets[0].starts_with("EAA") && secrets[0] != secrets[2], "two distinct tokens were issued");
    assert_eq!(secrets[1].len(), 6);
    assert_eq!(secrets[1], secrets[3], "the same number keeps its PIN across reconnects");

    let logs = captured.text();
    assert!(logs.contains("WhatsApp connected"), "the capture works");
    assert!(bodies.iter().any(|b| b.contains("\"connected\"")), "the bodies were captured");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a token or PIN leaked into the logs");
        for b in &bodies {
            assert!(!b.contains(secret.as_str()), "a token or PIN leaked into a response");
        }
    }
    // Sealed values are not shown either.
    for b in &bodies {
        assert!(!b.contains(last.sealed_token.as_deref().unwrap()));
    }
}
