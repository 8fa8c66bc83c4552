//! Hostile input gets a clear answer (SPEC error body, right status) and changes nothing:
//! control characters in names, bodies on routes that take none, wrong JSON shapes, foreign
//! cursors, and what the HTTP server itself refuses (raw requests over TCP).

mod common;

use common::*;
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
    let r = tp.http.post(tp.url(&resend)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
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
