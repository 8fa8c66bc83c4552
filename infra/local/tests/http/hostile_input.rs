//! Hostile input gets a clear answer (SPEC error body, right status) and changes nothing:
//! control characters in names, bodies on routes that take none, wrong JSON shapes, foreign
//! cursors, and what the HTTP server itself refuses (raw requests over TCP).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const INJECTION: &str = "Inj\r\nBcc: evil@attacker.test";

async fn details(r: reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap().to_owned(), d["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn control_characters_in_names_are_refused_with_422() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;

    let mut plan = sample_plan();
    plan["name"] = json!(INJECTION);
    let d = details(post(&tp, &admin, "/plans", &plan).await).await;
    assert_eq!(d, [("name".to_owned(), "invalid_characters".to_owned())]);

    let tenant = json!({"name": INJECTION, "slug": "inj", "admin_email": "inj@tenant.test",
        "admin_name": "Ana\u{7}", "plan_id": plan_id});
    let d = details(post(&tp, &admin, "/admin/tenants", &tenant).await).await;
    assert_eq!(
        d,
        [
            ("name".to_owned(), "invalid_characters".to_owned()),
            ("admin_name".to_owned(), "invalid_characters".to_owned())
        ]
    );
    // Nothing was created, and no email went out.
    let outbox = miping::platform::embedded::outbox_dir(&tp.data_dir);
    assert!(miping::adapters::embedded::outbox::read_outbox(&outbox).is_empty());

    let t = provision_and_activate(&tp).await;
    let d = details(post(&tp, &t.token, "/api-keys", &json!({"name": "ERP\nprod"})).await).await;
    assert_eq!(d, [("name".to_owned(), "invalid_characters".to_owned())]);
    let campaign = json!({"name": INJECTION, "template": {"name": "t", "language": "en"}, "audience": {"all": true}});
    let d = details(post(&tp, &t.token, "/campaigns", &campaign).await).await;
    assert_eq!(d, [("name".to_owned(), "invalid_characters".to_owned())]);
}

async fn raw_post(tp: &TestPlatform, token: &str, path: &str, content_type: &str, body: &str) -> reqwest::Response {
    tp.http
        .post(tp.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bodies_must_have_the_documented_shape() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    // serde would read `[]` as a struct with no fields, i.e. `{}` (a "resume" of the connection).
    for body in ["[]", "[\"code\"]", "\"code\"", "1", "null"] {
        let r = raw_post(&tp, &t.token, "/whatsapp/connect", "application/json", body).await;
        assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body", "{body}");
    }
    let admin = tp.admin_token().await;
    let r = raw_post(&tp, &admin, "/plans", "application/json", "[\"Starter\"]").await;
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");

    // Routes that take no body refuse one, whatever its type; none, or `{}`, is fine.
    let resend = format!("/admin/tenants/{}/resend-welcome", t.id);
    for (token, path) in [(&t.token, "/templates/sync"), (&t.token, "/templates/library/install"), (&admin, &resend)] {
        let r = raw_post(&tp, token, path, "text/plain", "surprise").await;
        assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type", "{path}");
        let r = raw_post(&tp, token, path, "application/json", "{\"force\": true}").await;
        assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "unexpected_body", "{path}");
        let r = raw_post(&tp, token, path, "application/json", "[]").await;
        assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "unexpected_body", "{path}");
    }
    // Without WhatsApp, sync answers its own 409: the empty bodies got through.
    let r = raw_post(&tp, &t.token, "/templates/sync", "application/json", "{}").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = tp.http.post(tp.url("/templates/sync")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // The body-less resend got through to its own answer: this admin already chose a password (409).
    let r = tp.http.post(tp.url(&resend)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "welcome_already_used");
}

#[tokio::test]
async fn cursors_are_sealed_and_a_bad_one_is_the_same_400_on_every_list() {
    use base64::Engine;
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    for phone in ["+14155550601", "+14155550602", "+14155550603"] {
        assert_eq!(post(&tp, &t.token, "/contacts", &json!({"phone": phone})).await.status(), StatusCode::CREATED);
    }
    let first = get_ok(&tp, &t.token, "/contacts?limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // Opaque: no key layout inside, even decoded.
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&cursor).unwrap();
    let decoded = String::from_utf8_lossy(&decoded);
    assert!(!decoded.contains("CONTACT") && !decoded.contains("PK") && !decoded.contains(&t.id), "{decoded}");
    let second = get_ok(&tp, &t.token, &format!("/contacts?limit=1&cursor={cursor}")).await;
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);

    // A forged table cursor (what the cursor used to be), garbage, an edited sealed cursor, and a
    // real cursor of another list: one answer, on every list.
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        r#"{{"PK":"T#{}#CONTACT#x","SK":"CONTACT","GSI1PK":"T#{}#CONTACTS","GSI1SK":"x"}}"#,
        t.id, t.id
    ));
    let mut edited = cursor.clone().into_bytes();
    let last = edited.len() - 2;
    edited[last] = if edited[last] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    for list in ["/contacts", "/messages", "/templates", "/campaigns", "/api-keys", "/billing/ledger", "/conversations"]
    {
        for bad in [forged.as_str(), "garbage!", edited.as_str()] {
            let r = tp.http.get(tp.url(&format!("{list}?cursor={bad}"))).bearer_auth(&t.token).send().await.unwrap();
            assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_cursor", "{list} {bad}");
        }
        if list != "/contacts" {
            let r = tp.http.get(tp.url(&format!("{list}?cursor={cursor}"))).bearer_auth(&t.token).send().await.unwrap();
            assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_cursor", "{list} with a contacts cursor");
        }
    }
}

/// Sends `request` as raw bytes and reads the answer until the server closes the connection.
async fn raw_exchange(tp: &TestPlatform, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = tp.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything (431): a failed write is fine.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status and the error code of a raw answer, after checking it is the SPEC error body.
fn spec_error(answer: &str) -> (u16, String) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no complete answer: {answer:?}"));
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert!(body["error"]["message"].is_string() && body["error"]["details"].is_array(), "{body}");
    (status, body["error"]["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn what_the_http_server_refuses_has_the_spec_error_body() {
    let tp = start().await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a control byte in a header",
            b"GET /health HTTP/1.1\r\nhost: x\r\nx-bad: a\x01b\r\n\r\n".to_vec(),
            400,
            "bad_request",
        ),
        ("a raw < > in the path", b"GET /contacts/<script> HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 400, "bad_request"),
        (
            "a URI over 64 KB",
            format!("GET /health?q={} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            "headers over the server's buffer",
            format!("GET /health HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "a".repeat(500_000)).into_bytes(),
            431,
            "header_fields_too_large",
        ),
    ];
    for (what, request, status, code) in cases {
        let answer = raw_exchange(&tp, &request).await;
        assert_eq!(spec_error(&answer), (status, code.to_owned()), "{what}");
    }
    // The server still serves normal requests, with their own bodies untouched.
    let answer = raw_exchange(&tp, b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert_eq!(spec_error(&answer), (404, "not_found".to_owned()));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tp = start_with_timeouts(miping_local::server::Timeouts {
        header_read: std::time::Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let addr = tp.base.trim_start_matches("http://");
    // Half a request head, then silence (slowloris); and an idle keep-alive connection.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ").await.unwrap();
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    for (name, stream) in [("slow", &mut slow), ("idle", &mut idle)] {
        let mut seen = Vec::new();
        // The server closes it (read_to_end returns); without the timeout this waits forever
        // and the outer bound fails the test.
        let closed = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_end(&mut seen)).await;
        assert!(closed.is_ok(), "the {name} connection was kept open");
    }
}
