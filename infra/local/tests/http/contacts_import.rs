//! `POST /contacts/import` over HTTP: messy real-world CSV, JSON, exact counts and row
//! numbers, the plan's contact limit, and a large file.

use std::time::Instant;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

impl TestPlatform {
    async fn import(&self, t: &TestTenant, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url("/contacts/import"))
            .bearer_auth(&t.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }
    async fn import_ok(&self, t: &TestTenant, content_type: &str, body: impl Into<reqwest::Body>) -> Value {
        let r = self.import(t, content_type, body).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
    async fn find(&self, t: &TestTenant, q: &str) -> Vec<Value> {
        let q: String = q
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let r =
            self.http.get(self.url(&format!("/contacts?limit=500&q={q}"))).bearer_auth(&t.token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone()
    }
    async fn count(&self, t: &TestTenant) -> u64 {
        miping::store::contacts::Contacts::new(&*self.ports().table).count(&t.id).await.unwrap()
    }
}

/// `(row, error)` pairs of a report.
fn invalid(report: &Value) -> Vec<(u64, String)> {
    report["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["row"].as_u64().unwrap(), i["error"].as_str().unwrap().to_string()))
        .collect()
}

fn counts(report: &Value) -> [u64; 4] {
    ["imported", "updated", "skipped_duplicates", "invalid_count"].map(|k| report[k].as_u64().unwrap())
}

const MESSY_CSV: &str = "\u{feff}Phone, Name ,City,Tags\r\n\
+91 98765-43210,\"Kumar, Ravi\",Pune,VIP; b2b\r\n\
919876543210,Ravi again,,\r\n\
\r\n\
(+44) 20.7946.0958,\"Turing, Alan \"\"AT\"\"\",London,\r\n\
0044 20 7946 0958,,,\r\n\
12345,Shorty,,\r\n\
not-a-number,Bad,,\r\n\
,No phone,,\r\n\
+1 (415) 555-2671,Existing Person,SF,new\r\n\
,,,\r\n\
+49 30 901820,Grace,\"Berlin\nMitte\",bad;tag!\r\n\
+33 6 12 34 56 78,Édith,Paris,\r\n";

#[tokio::test]
async fn messy_csv_gives_exact_counts_and_rows() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let r = tp
        .http
        .post(tp.url("/contacts"))
        .bearer_auth(&t.token)
        .json(&json!({"phone": "+14155552671", "attributes": {"x": 1}, "tags": ["old"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let report = tp.import_ok(&t, "text/csv; charset=utf-8", MESSY_CSV).await;
    // Rows: 1 Ravi, 2 dup of 1, 3 Alan, 4 dup of 3, 5-7 invalid, 8 existing, 9 bad tag, 10 Édith.
    assert_eq!(counts(&report), [3, 1, 2, 4], "{report}");
    assert_eq!(
        invalid(&report),
        [
            (5, "invalid_phone".into()),
            (6, "not_a_phone_number".into()),
            (7, "required".into()),
            (9, "invalid_tag".into())
        ]
    );
    assert_eq!(report["invalid"][0]["phone"], "12345", "the phone as written");
    assert!(report["invalid"][3]["message"].as_str().unwrap().contains("tags[1]"));

    let ravi = &tp.find(&t, "+919876543210").await[0];
    assert_eq!((ravi["name"].clone(), ravi["tags"].clone()), (json!("Kumar, Ravi"), json!(["vip", "b2b"])));
    assert_eq!(ravi["attributes"], json!({"City": "Pune"}));
    let alan = &tp.find(&t, "turing").await[0];
    assert_eq!((alan["phone"].clone(), alan["name"].clone()), (json!("+442079460958"), json!("Turing, Alan \"AT\"")));
    let existing = &tp.find(&t, "+14155552671").await[0];
    assert_eq!(existing["name"], "Existing Person");
    assert_eq!(existing["attributes"], json!({"x": 1, "City": "SF"}), "attributes merged");
    assert_eq!(existing["tags"], json!(["old", "new"]), "tags added");
    assert_eq!(tp.count(&t).await, 4);

    // The same file again: everything valid now exists.
    let again = tp.import_ok(&t, "text/csv", MESSY_CSV).await;
    assert_eq!(counts(&again), [0, 4, 2, 4], "{again}");
    assert_eq!(tp.count(&t).await, 4);
}

#[tokio::test]
async fn file_level_problems_import_nothing() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let r = tp.import(&t, "text/csv", "name,city\nAda,London\n").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["error"]["details"][0]["field"].clone(), body["error"]["details"][0]["code"].clone()),
        (json!("phone"), json!("missing_column"))
    );
    assert_eq!(
        error_code(tp.import(&t, "text/csv", "").await, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    assert_eq!(
        error_code(tp.import(&t, "text/csv", "phone,Phone\n").await, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    let truncated = r#"{"contacts": [{"phone": "+14155552671"}, {"phone": "+4930"#;
    assert_eq!(
        error_code(tp.import(&t, "application/json", truncated).await, StatusCode::BAD_REQUEST).await,
        "malformed_json"
    );
    assert_eq!(
        error_code(tp.import(&t, "application/json", r#"{"people": []}"#).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await,
        "validation_failed"
    );
    assert_eq!(
        error_code(tp.import(&t, "application/xml", "<x/>").await, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_media_type"
    );
    assert_eq!(tp.count(&t).await, 0);
}

#[tokio::test]
async fn json_import_with_row_errors() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let body = json!({"contacts": [
        {"phone": "+44 7911 123456", "name": "Ann", "attributes": {"age": 30, "vip": true}, "tags": ["A", "a"]},
        {"phone": 447911123456u64, "name": "Ann dup"},
        {"phone": "+61 4 1234 5678", "attributes": {"bad": {"nested": 1}}},
        {"phone": "+61 4 1234 5678", "name": "Bruce"},
        "not an object",
        {"name": "no phone"},
        {"phone": "+971 50 123 4567", "tags": "vip"}
    ]});
    let report = tp.import_ok(&t, "application/json", body.to_string()).await;
    assert_eq!(counts(&report), [2, 0, 1, 4], "{report}");
    assert_eq!(
        invalid(&report),
        [(3, "invalid_type".into()), (5, "invalid_row".into()), (6, "required".into()), (7, "invalid_type".into())]
    );
    let ann = &tp.find(&t, "ann").await[0];
    assert_eq!((ann["attributes"].clone(), ann["tags"].clone()), (json!({"age": 30, "vip": true}), json!(["a"])));
    // A bare array works too; `null` removes an attribute of an existing contact.
    let report = tp
        .import_ok(&t, "application/json", json!([{"phone": "447911123456", "attributes": {"vip": null}}]).to_string())
        .await;
    assert_eq!(counts(&report), [0, 1, 0, 0]);
    assert_eq!(tp.find(&t, "ann").await[0]["attributes"], json!({"age": 30}));
}

#[tokio::test]
async fn the_contact_limit_stops_new_rows_exactly() {
    let tp = start().await;
    let t = tp.tenant(Some(5)).await;
    let r = tp
        .http
        .post(tp.url("/contacts"))
        .bearer_auth(&t.token)
        .json(&json!({"phone": "+14155550100"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut csv = String::from("phone,name\n");
    for i in 1..=8 {
        csv.push_str(&format!("+1415555{:04},New {i}\n", 200 + i));
    }
    // Row 9 updates the existing contact: allowed past the limit.
    csv.push_str("1 415 555 0100,Existing\n");
    let report = tp.import_ok(&t, "text/csv", csv).await;
    assert_eq!(counts(&report), [4, 1, 0, 4], "{report}");
    let over: Vec<(u64, String)> = (5..=8).map(|r| (r, "contact_limit_reached".to_string())).collect();
    assert_eq!(invalid(&report), over);
    assert_eq!(tp.count(&t).await, 5);
    assert_eq!(tp.find(&t, "new").await.len(), 4);
}

/// A large file in one request. 20,000 rows here (the debug build of the suite); the 100,000-row
/// figure comes from the benchmark (`infra/bench.sh import`), which runs the same code in release.
#[tokio::test]
async fn a_large_csv_imports_in_one_request() {
    const ROWS: usize = 20_000;
    let tp = start().await;
    let t = tp.tenant(None).await;
    let csv = miping::testkit::contacts::generated_csv(ROWS, 0);
    let started = Instant::now();
    let report = tp.import_ok(&t, "text/csv", csv).await;
    eprintln!("imported {ROWS} rows in {:.2?}", started.elapsed());
    assert_eq!(counts(&report), [ROWS as u64, 0, 0, 0]);
    assert_eq!(tp.count(&t).await, ROWS as u64);
    let r = tp.http.get(tp.url("/contacts?limit=500&tag=imported")).bearer_auth(&t.token).send().await.unwrap();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 500);
    assert!(page["next_cursor"].is_string());
}
