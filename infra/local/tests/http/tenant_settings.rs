//! `GET|PATCH /tenant/settings` over HTTP: defaults, merge, per-field 422 details, roles, and
//! the default country read into national phone numbers everywhere a phone comes in (contacts,
//! CSV and JSON imports, `POST /messages`, the trigger API).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn patch(tp: &TestPlatform, token: &str, body: &Value) -> reqwest::Response {
    tp.http.patch(tp.url("/tenant/settings")).bearer_auth(token).json(body).send().await.unwrap()
}

async fn patch_ok(tp: &TestPlatform, token: &str, body: &Value) -> Value {
    let r = patch(tp, token, body).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn import(tp: &TestPlatform, token: &str, content_type: &str, body: &str) -> Value {
    let r = tp
        .http
        .post(tp.url("/contacts/import"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn settings_round_trip_with_defaults_merge_and_reset() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let defaults = json!({"default_country": null, "time_zone": "UTC", "opt_out_keywords": [], "opt_in_keywords": [],
        "brand": null});
    assert_eq!(get_ok(&tp, &t.token, "/tenant/settings").await, defaults);

    let all = json!({"default_country": "in", "time_zone": "Asia/Kolkata", "opt_out_keywords": [" band karo "],
        "opt_in_keywords": ["shuru"], "brand": {"name": "Sunrise College", "color": "#0B5FFF"}});
    let saved = patch_ok(&tp, &t.token, &all).await;
    let want = json!({"default_country": "IN", "time_zone": "Asia/Kolkata", "opt_out_keywords": ["band karo"],
        "opt_in_keywords": ["shuru"], "brand": {"name": "Sunrise College", "color": "#0b5fff", "logo_media_id": null}});
    assert_eq!(saved, want);
    assert_eq!(get_ok(&tp, &t.token, "/tenant/settings").await, want);

    // Only what is named changes; null puts the default back.
    let merged = patch_ok(&tp, &t.token, &json!({"time_zone": "Europe/Berlin", "brand": null})).await;
    assert_eq!((&merged["default_country"], &merged["time_zone"]), (&json!("IN"), &json!("Europe/Berlin")));
    assert_eq!((&merged["opt_out_keywords"], &merged["brand"]), (&json!(["band karo"]), &Value::Null));
    let reset = patch_ok(&tp, &t.token, &json!({"default_country": null, "time_zone": null})).await;
    assert_eq!((&reset["default_country"], &reset["time_zone"]), (&Value::Null, &json!("UTC")));
    assert_eq!(get_ok(&tp, &t.token, "/tenant/settings").await, reset);

    // Tenant users only; unknown fields are a malformed body.
    let admin = tp.admin_token().await;
    let r = tp.http.get(tp.url("/tenant/settings")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    assert_eq!(error_code(patch(&tp, &admin, &json!({})).await, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    let r = patch(&tp, &t.token, &json!({"timezone": "UTC"})).await;
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");
}

#[tokio::test]
async fn settings_validation_names_every_bad_field() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let r = patch(
        &tp,
        &t.token,
        &json!({"default_country": "XX", "time_zone": "Asia/Atlantis", "opt_out_keywords": ["ok", ""],
            "opt_in_keywords": ["STOP"], "brand": {"name": "Sunrise", "color": "#12345g", "logo_media_id": "a/b"}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    let details: Vec<(String, String)> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["field"].as_str().unwrap().to_owned(), d["code"].as_str().unwrap().to_owned()))
        .collect();
    let want = [
        ("default_country", "invalid_country"),
        ("time_zone", "invalid_time_zone"),
        ("opt_out_keywords[1]", "required"),
        ("brand.color", "invalid_color"),
        ("brand.logo_media_id", "invalid_media_id"),
    ];
    assert_eq!(details, want.map(|(f, c)| (f.to_owned(), c.to_owned())));
    // Nothing of a refused PATCH is kept.
    assert_eq!(get_ok(&tp, &t.token, "/tenant/settings").await["time_zone"], "UTC");
    // A word cannot opt in and out (built-in words count).
    let r = patch(&tp, &t.token, &json!({"opt_in_keywords": ["haan", "Stop"]})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["details"],
        json!([{"field": "opt_in_keywords[1]", "code": "keyword_conflict",
        "message": "is also an opt-out keyword"}])
    );
    let r = patch(&tp, &t.token, &json!({"brand": {"color": "#ffffff"}})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (&body["error"]["details"][0]["field"], &body["error"]["details"][0]["code"]),
        (&json!("brand.name"), &json!("required"))
    );
}

#[tokio::test]
async fn national_numbers_are_read_in_the_default_country() {
    let tp = start().await;
    let (t, _) = ready_to_send(&tp).await;
    let national = "098765 43210";
    // Without a default country a national number is refused, as before.
    let r = post(&tp, &t.token, "/contacts", &json!({"phone": national})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = post(&tp, &t.token, "/contacts", &json!({"phone": "+91 98765 43210", "name": "Asha"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let contact: Value = r.json().await.unwrap();

    patch_ok(&tp, &t.token, &json!({"default_country": "IN"})).await;
    // The same person written nationally is the same contact.
    let r = post(&tp, &t.token, "/contacts", &json!({"phone": national})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "contact_exists");
    let report = import(&tp, &t.token, "text/csv", "phone,name\n098765 43210,Asha R\n0 98765 43211,Ravi\n").await;
    assert_eq!((report["imported"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["invalid"], json!([]));
    let report = import(&tp, &t.token, "application/json", r#"{"contacts": [{"phone": "09876543212"}]}"#).await;
    assert_eq!(report["imported"], 1, "{report}");
    let phones: Vec<String> = get_ok(&tp, &t.token, "/contacts").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = phones.clone();
    sorted.sort();
    assert_eq!(sorted, ["+919876543210", "+919876543211", "+919876543212"]);
    assert_eq!(
        get_ok(&tp, &t.token, &format!("/contacts/{}", contact["id"].as_str().unwrap())).await["name"],
        "Asha R"
    );

    // POST /messages and the trigger API read `to` / `phone` the same way.
    let send = json!({"to": national, "template": {"name": "order_update", "language": "en_US", "variables": ["Asha", "A-1"]}});
    let r = post(&tp, &t.token, "/messages", &send).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["to"], "+919876543210");
    let message = get_ok(&tp, &t.token, &format!("/messages/{}", accepted["id"].as_str().unwrap())).await;
    assert_eq!(message["contact_id"], contact["id"]);

    let r = post(&tp, &t.token, "/api-keys", &json!({"name": "ERP"})).await;
    let key = r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    let trigger = json!({"phone": "098765-43210", "template_name": "order_update", "variables": ["Asha", "A-2"]});
    let r =
        tp.http.post(tp.url("/api/v1/trigger-message")).header("x-api-key", &key).json(&trigger).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_owned();
    let message = get_ok(&tp, &t.token, &format!("/messages/{id}")).await;
    assert_eq!((&message["to"], &message["contact_id"]), (&json!("+919876543210"), &contact["id"]));
    assert_eq!(get_ok(&tp, &t.token, "/contacts").await["items"].as_array().unwrap().len(), 3, "no new contact");
}
