//! `/contacts` over HTTP against the local platform: CRUD, uniqueness by E.164, validation,
//! tenant isolation, pagination, tag filter and search, the plan's contact limit.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

impl TestPlatform {
    async fn post_contact(&self, t: &TestTenant, body: Value) -> reqwest::Response {
        self.http.post(self.url("/contacts")).bearer_auth(&t.token).json(&body).send().await.unwrap()
    }
    async fn create_contact(&self, t: &TestTenant, body: Value) -> Value {
        let r = self.post_contact(t, body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }
    async fn get_json(&self, t: &TestTenant, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(self.url(path)).bearer_auth(&t.token).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    async fn patch_contact(&self, t: &TestTenant, id: &str, body: Value) -> reqwest::Response {
        self.http.patch(self.url(&format!("/contacts/{id}"))).bearer_auth(&t.token).json(&body).send().await.unwrap()
    }
    async fn delete_contact(&self, t: &TestTenant, id: &str) -> reqwest::Response {
        self.http.delete(self.url(&format!("/contacts/{id}"))).bearer_auth(&t.token).send().await.unwrap()
    }
    /// Every page of a list, with the page sizes.
    async fn all_pages(&self, t: &TestTenant, query: &str) -> (Vec<Value>, Vec<usize>) {
        let (mut items, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
        loop {
            let mut url = self.url(&format!("/contacts?{query}"));
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let r = self.http.get(url).bearer_auth(&t.token).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let page: Value = r.json().await.unwrap();
            let got = page["items"].as_array().unwrap().clone();
            sizes.push(got.len());
            items.extend(got);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return (items, sizes),
            }
            assert!(sizes.len() < 100);
        }
    }
}

fn details_fields(body: &Value) -> Vec<String> {
    let mut f: Vec<String> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap().to_string()).collect();
    f.sort();
    f
}

#[tokio::test]
async fn create_get_patch_delete() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let c = tp
        .create_contact(&t, json!({"phone": "+91 98765-43210", "name": " Ravi ", "attributes": {"city": "Pune", "age": 31}, "tags": ["VIP", " vip ", "B2B"]}))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("con_"));
    assert_eq!(c["phone"], "+919876543210");
    assert_eq!(c["name"], "Ravi");
    assert_eq!(c["attributes"], json!({"city": "Pune", "age": 31}));
    assert_eq!(c["tags"], json!(["vip", "b2b"]));
    assert_eq!((c["opted_out"].clone(), c["opted_out_at"].clone()), (json!(false), Value::Null));
    assert_eq!((c["wa_user_id"].clone(), c["username"].clone()), (Value::Null, Value::Null));
    for field in ["created_at", "updated_at"] {
        assert!(c[field].as_str().is_some(), "{field}");
    }
    assert!(c.get("tenant_id").is_none() && c.get("version").is_none() && c.get("search").is_none());

    let (status, got) = tp.get_json(&t, &format!("/contacts/{id}")).await;
    assert_eq!((status, &got), (StatusCode::OK, &c));

    // Attributes merge (null removes), tags replace, name changes.
    let r = tp
        .patch_contact(&t, &id, json!({"name": "Ravi K", "attributes": {"age": null, "plan": "gold"}, "tags": ["new"]}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["name"], "Ravi K");
    assert_eq!(p["attributes"], json!({"city": "Pune", "plan": "gold"}));
    assert_eq!(p["tags"], json!(["new"]));
    assert_eq!(p["created_at"], c["created_at"]);

    // Opting out stamps the time; opting back in clears it; null clears the name.
    let p: Value = tp.patch_contact(&t, &id, json!({"opted_out": true})).await.json().await.unwrap();
    assert_eq!(p["opted_out"], true);
    let at = p["opted_out_at"].as_str().unwrap().to_string();
    let again: Value = tp.patch_contact(&t, &id, json!({"opted_out": true})).await.json().await.unwrap();
    assert_eq!(again["opted_out_at"], at.as_str(), "opting out twice keeps the first time");
    let p: Value = tp.patch_contact(&t, &id, json!({"opted_out": false, "name": null})).await.json().await.unwrap();
    assert_eq!(
        (p["opted_out"].clone(), p["opted_out_at"].clone(), p["name"].clone()),
        (json!(false), Value::Null, Value::Null)
    );

    assert_eq!(tp.delete_contact(&t, &id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(tp.get_json(&t, &format!("/contacts/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(error_code(tp.delete_contact(&t, &id).await, StatusCode::NOT_FOUND).await, "not_found");
    assert_eq!(
        error_code(tp.patch_contact(&t, &id, json!({"name": "x"})).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    // The phone was freed with the contact.
    let again = tp.create_contact(&t, json!({"phone": "919876543210"})).await;
    assert_ne!(again["id"], c["id"]);
}

#[tokio::test]
async fn the_same_phone_written_differently_is_a_409_naming_the_contact() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let first = tp.create_contact(&t, json!({"phone": "+91 98765-43210"})).await;
    let id = first["id"].as_str().unwrap();
    for dup in ["919876543210", "0091 (98765) 43210", "+91.98765.43210"] {
        let r = tp.post_contact(&t, json!({"phone": dup, "name": "Other"})).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "contact_exists");
        assert!(body["error"]["message"].as_str().unwrap().contains(id), "{body}");
        assert_eq!(body["error"]["details"][0]["field"], "phone");
    }
    let (_, list) = tp.get_json(&t, "/contacts").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn validation_names_each_field() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let r = tp
        .post_contact(
            &t,
            json!({"phone": "12345", "name": "x".repeat(201), "attributes": {"nested": {"a": 1}, "ok": "fine"}, "tags": ["fine", "bad;tag"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(details_fields(&body), ["attributes.nested", "name", "phone", "tags[1]"]);

    let r = tp.post_contact(&t, json!({"name": "No phone"})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["error"]["details"][0]["field"].clone(), body["error"]["details"][0]["code"].clone()),
        (json!("phone"), json!("required"))
    );
    let r = tp.post_contact(&t, json!({"phone": "call me maybe"})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["code"], "not_a_phone_number");
    // Wrong JSON types are 400, per the SPEC.
    assert_eq!(
        error_code(tp.post_contact(&t, json!({"phone": "+14155552671", "tags": "vip"})).await, StatusCode::BAD_REQUEST)
            .await,
        "invalid_body"
    );

    let c = tp.create_contact(&t, json!({"phone": "+14155552671"})).await;
    let id = c["id"].as_str().unwrap();
    let r = tp.patch_contact(&t, id, json!({"phone": "+14155550000", "attributes": {"list": [1]}})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(details_fields(&r.json().await.unwrap()), ["attributes.list", "phone"]);
    let (_, list) = tp.get_json(&t, "/contacts?limit=0").await;
    assert_eq!(list["error"]["details"][0]["field"], "limit");
    // A bad cursor is the one answer every list gives (hostile_input tests the rest).
    let (status, body) = tp.get_json(&t, "/contacts?cursor=garbage").await;
    assert_eq!((status, body["error"]["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_cursor")));
    let (status, body) = tp.get_json(&t, "/contacts?tag=a;b").await;
    assert_eq!(
        (status, body["error"]["details"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("tag"))
    );
}

#[tokio::test]
async fn another_tenant_sees_nothing() {
    let tp = start().await;
    let a = tp.tenant(None).await;
    let b = tp.tenant(None).await;
    let c = tp.create_contact(&a, json!({"phone": "+447911123456", "name": "Ann"})).await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/contacts/{id}");
    assert_eq!(tp.get_json(&b, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        error_code(tp.patch_contact(&b, id, json!({"name": "Mallory"})).await, StatusCode::NOT_FOUND).await,
        "not_found"
    );
    assert_eq!(error_code(tp.delete_contact(&b, id).await, StatusCode::NOT_FOUND).await, "not_found");
    let (_, list) = tp.get_json(&b, "/contacts?q=ann").await;
    assert_eq!(list["items"], json!([]));
    // Uniqueness is per tenant: B may have the same number.
    tp.create_contact(&b, json!({"phone": "447911123456"})).await;
    // A's contact is untouched.
    let (status, got) = tp.get_json(&a, &path).await;
    assert_eq!((status, got["name"].clone()), (StatusCode::OK, json!("Ann")));
}

#[tokio::test]
async fn pages_tag_filter_and_search() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let people = [
        ("+14155552671", "Ada Lovelace", vec!["vip"]),
        ("+442079460958", "Alan Turing", vec!["b2b"]),
        ("+919876543210", "Ravi Kumar", vec!["vip", "b2b"]),
        ("+4930901820", "Grace Hopper", vec![]),
        ("+33612345678", "Édith Piaf", vec!["vip"]),
        ("+5511961234567", "Ayrton", vec!["vip"]),
        ("+2348031234567", "Chinua", vec!["b2b"]),
    ];
    let mut ids = Vec::new();
    for (phone, name, tags) in &people {
        ids.push(
            tp.create_contact(&t, json!({"phone": phone, "name": name, "tags": tags})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (items, sizes) = tp.all_pages(&t, "limit=3").await;
    assert_eq!(sizes, [3, 3, 1]);
    let listed: Vec<&str> = items.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first, "newest first, each once");

    let (vip, sizes) = tp.all_pages(&t, "tag=VIP&limit=2").await;
    assert_eq!(sizes, [2, 2]);
    let names: Vec<&str> = vip.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ayrton", "Édith Piaf", "Ravi Kumar", "Ada Lovelace"]);

    let names_for =
        |items: Vec<Value>| items.iter().map(|c| c["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names_for(tp.all_pages(&t, "q=LOVE").await.0), ["Ada Lovelace"]);
    assert_eq!(names_for(tp.all_pages(&t, "q=%C3%A9dith").await.0), ["Édith Piaf"], "case-insensitive beyond ASCII");
    assert_eq!(names_for(tp.all_pages(&t, "q=98765%2043210").await.0), ["Ravi Kumar"], "phone digits with a space");
    assert_eq!(names_for(tp.all_pages(&t, "q=%2B44").await.0), ["Alan Turing"]);
    assert_eq!(names_for(tp.all_pages(&t, "q=a&tag=b2b").await.0), ["Chinua", "Ravi Kumar", "Alan Turing"]);
    assert_eq!(names_for(tp.all_pages(&t, "q=nobody").await.0), Vec::<String>::new());
}

#[tokio::test]
async fn the_plan_contact_limit_is_a_429() {
    let tp = start().await;
    let t = tp.tenant(Some(2)).await;
    let first = tp.create_contact(&t, json!({"phone": "+14155552671"})).await;
    tp.create_contact(&t, json!({"phone": "+14155552672"})).await;
    let r = tp.post_contact(&t, json!({"phone": "+14155552673"})).await;
    assert!(r.headers().get("retry-after").is_none(), "waiting does not help");
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "contact_limit_reached");
    // An existing phone is still a 409, not a 429.
    assert_eq!(
        error_code(tp.post_contact(&t, json!({"phone": "14155552671"})).await, StatusCode::CONFLICT).await,
        "contact_exists"
    );
    assert_eq!(tp.delete_contact(&t, first["id"].as_str().unwrap()).await.status(), StatusCode::NO_CONTENT);
    tp.create_contact(&t, json!({"phone": "+14155552673"})).await;
}

#[tokio::test]
async fn idempotent_create_replays() {
    let tp = start().await;
    let t = tp.tenant(None).await;
    let send = || {
        tp.http
            .post(tp.url("/contacts"))
            .bearer_auth(&t.token)
            .header("idempotency-key", "k-1")
            .json(&json!({"phone": "+14155552671"}))
            .send()
    };
    let a = send().await.unwrap();
    assert_eq!(a.status(), StatusCode::CREATED);
    let a: Value = a.json().await.unwrap();
    let b = send().await.unwrap();
    assert_eq!(b.status(), StatusCode::CREATED);
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    assert_eq!(b.json::<Value>().await.unwrap()["id"], a["id"]);
}

#[tokio::test]
async fn contacts_need_a_tenant_user() {
    let tp = start().await;
    for (method, path) in [
        ("GET", "/contacts"),
        ("POST", "/contacts"),
        ("GET", "/contacts/con_x"),
        ("PATCH", "/contacts/con_x"),
        ("DELETE", "/contacts/con_x"),
        ("POST", "/contacts/import"),
    ] {
        let r = tp.http.request(method.parse().unwrap(), tp.url(path)).json(&json!({})).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized", "{method} {path}");
    }
    // The super admin has no tenant: contacts are not theirs to see.
    let admin = tp.admin_token().await;
    let r = tp.http.get(tp.url("/contacts")).bearer_auth(admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
}
