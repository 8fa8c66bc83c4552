//! SPEC → Media and rich messages: templates with a media header (`header: {kind, media_id | link,
//! filename?}` next to `variables`) through `POST /messages`, a campaign and the trigger API. The
//! file is uploaded to Meta and sent by Meta's id (the simulator received the upload's bytes), the
//! send reaches `read`; every header problem is a 422 at acceptance (so Meta's 132012 never
//! happens), and a template without a media header works as before.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, ActiveTenant, TestPlatform, get_ok, post, provision_and_activate};
use crate::media::{PNG, uploaded};

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// The ISV seed's "Invoice PDF": a DOCUMENT header and two body variables.
fn invoice_pdf() -> Value {
    json!({"name": "invoice_pdf", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aW52b2ljZQ=="]}},
        {"type": "BODY", "text": "Hi {{1}}, your invoice {{2}} is attached.", "example": {"body_text": [["Ana", "INV-1"]]}}
    ]})
}

/// A connected tenant with an approved `invoice_pdf` and `order_update` (no header), and an
/// uploaded PDF's media item.
async fn ready(tp: &TestPlatform) -> (ActiveTenant, Value) {
    let t = provision_and_activate(tp).await;
    common::connect_new(tp, &t).await;
    common::reviewed_template(tp, &t, &invoice_pdf(), "APPROVED").await;
    common::reviewed_template(tp, &t, &common::order_update("order_update", "en_US"), "APPROVED").await;
    let pdf = uploaded(tp, &t.token, "invoice-42.pdf", "application/pdf", PDF).await;
    (t, pdf)
}

/// Waits for the message to be `read`; returns it.
async fn read(tp: &TestPlatform, token: &str, message_id: &str) -> Value {
    common::eventually(30, "the message is read", || async {
        let (_, m) = common::get_json(tp, token, &format!("/messages/{message_id}")).await;
        (m["status"] == "read").then_some(m)
    })
    .await
}

/// What Meta received for the message: its header file, by Meta's id, with the upload's bytes.
async fn assert_meta_got_the_pdf(tp: &TestPlatform, message: &Value, filename: Option<&str>) {
    let sim = common::simulator(tp);
    let sent = sim.sent_message(message["wamid"].as_str().unwrap()).expect("Meta got the message");
    assert_eq!(sent.body["type"], "template");
    assert_eq!(sent.media.len(), 1, "{:?}", sent.body);
    let media = &sent.media[0];
    assert_eq!((media.kind.as_str(), media.slot.as_str()), ("document", "header"));
    assert_eq!(media.link, None, "sent by id, never by link");
    assert_eq!(media.filename.as_deref(), filename);
    let meta_id = media.id.clone().expect("by Meta's id");
    assert!(!meta_id.starts_with("med_"), "Meta's id, not ours: {meta_id}");
    assert_eq!(sim.media_bytes(&meta_id).await.unwrap(), PDF, "the bytes Meta received");
}

#[tokio::test]
async fn a_document_header_template_through_post_messages() {
    let tp = common::start().await;
    let (t, pdf) = ready(&tp).await;
    let body = json!({"to": "+919876500010", "template": {"name": "invoice_pdf", "language": "en_US",
        "variables": ["Ana", "INV-42"], "header": {"kind": "document", "media_id": pdf["id"], "filename": "INV-42.pdf"}}});
    let r = post(&tp, &t.token, "/messages", &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let m = read(&tp, &t.token, &id).await;
    assert_eq!(m["kind"], "template");
    assert_eq!(m["media"]["id"], pdf["id"]);
    assert_eq!(m["media"]["kind"], "document");
    assert_meta_got_the_pdf(&tp, &m, Some("INV-42.pdf")).await;
    let sent = common::simulator(&tp).sent_message(m["wamid"].as_str().unwrap()).unwrap();
    assert_eq!(sent.body["template"]["components"][1]["parameters"][1]["text"], "INV-42");

    // A header-less template still works without one.
    let plain = json!({"to": "+919876500010", "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}});
    let r = post(&tp, &t.token, "/messages", &plain).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let m = read(&tp, &t.token, &id).await;
    assert!(m.get("media").is_none_or(Value::is_null), "{m}");
}

#[tokio::test]
async fn every_header_problem_is_a_422_at_acceptance() {
    let tp = common::start().await;
    let (t, pdf) = ready(&tp).await;
    let image = uploaded(&tp, &t.token, "photo.png", "image/png", PNG).await;
    let other = provision_and_activate(&tp).await;
    let other_pdf = uploaded(&tp, &other.token, "theirs.pdf", "application/pdf", PDF).await;
    let invoice = |header: Value| {
        let mut template = json!({"name": "invoice_pdf", "language": "en_US", "variables": ["Ana", "INV-42"]});
        if !header.is_null() {
            template["header"] = header;
        }
        json!({"to": "+919876500011", "template": template})
    };
    let cases = [
        (invoice(Value::Null), "template.header", "required"),
        (invoice(json!({"kind": "image", "media_id": image["id"]})), "template.header.kind", "kind_mismatch"),
        (invoice(json!({"kind": "document", "media_id": image["id"]})), "template.header.media_id", "kind_mismatch"),
        (invoice(json!({"kind": "document", "media_id": "med_nope"})), "template.header.media_id", "invalid_media_id"),
        (
            invoice(json!({"kind": "document", "media_id": other_pdf["id"]})),
            "template.header.media_id",
            "invalid_media_id",
        ),
        (invoice(json!({"kind": "document", "link": "http://cdn.example/a.pdf"})), "template.header.link", "invalid"),
        (invoice(json!({"kind": "document"})), "template.header.media_id", "required"),
        (
            json!({"to": "+919876500011", "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"],
                "header": {"kind": "document", "media_id": pdf["id"]}}}),
            "template.header",
            "no_media_header",
        ),
    ];
    for (body, field, code) in cases {
        let r = post(&tp, &t.token, "/messages", &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["error"]["details"][0]["field"], field, "{body}: {answer}");
        assert_eq!(answer["error"]["details"][0]["code"], code, "{body}: {answer}");
    }
    // The header in `variables` (the schema's old first position) is a count mismatch now.
    let old = json!({"to": "+919876500011", "template": {"name": "invoice_pdf", "language": "en_US",
        "variables": [{"id": pdf["id"]}, "Ana", "INV-42"]}});
    let r = post(&tp, &t.token, "/messages", &old).await;
    assert_eq!(common::error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "invalid_variables");
    // Nothing reached Meta.
    assert!(common::simulator(&tp).sent_messages().iter().all(|m| m.to != "919876500011"));

    // Campaigns and the trigger API refuse the same way, naming `header`.
    let campaign = json!({"name": "Invoices", "template": {"name": "invoice_pdf", "language": "en_US"},
        "audience": {"all": true}, "variables": ["{{contact.name}}", "INV"]});
    post(&tp, &t.token, "/contacts", &json!({"phone": "+919876500012", "name": "Ana"})).await;
    let r = post(&tp, &t.token, "/campaigns", &campaign).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        (&answer["error"]["details"][0]["field"], &answer["error"]["details"][0]["code"]),
        (&json!("header"), &json!("required"))
    );
    let mut wrong = campaign.clone();
    wrong["header"] = json!({"kind": "image", "link": "{{contact.name}}"});
    let r = post(&tp, &t.token, "/campaigns", &wrong).await;
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["error"]["details"][0]["field"], "header.link", "{answer}");
    let key = api_key(&tp, &t).await;
    let r = trigger(
        &tp,
        &key,
        &json!({"phone": "+919876500013", "template_name": "invoice_pdf", "variables": ["Ana", "INV"]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["error"]["details"][0]["field"], "header", "{answer}");
}

async fn api_key(tp: &TestPlatform, t: &ActiveTenant) -> String {
    let r = post(tp, &t.token, "/api-keys", &json!({"name": "erp"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned()
}

async fn trigger(tp: &TestPlatform, key: &str, body: &Value) -> reqwest::Response {
    tp.http.post(tp.url("/api/v1/trigger-message")).header("x-api-key", key).json(body).send().await.unwrap()
}

#[tokio::test]
async fn a_document_header_template_through_the_trigger_api() {
    let tp = common::start().await;
    let (t, pdf) = ready(&tp).await;
    let key = api_key(&tp, &t).await;
    let body = json!({"phone": "+919876500020", "template_name": "invoice_pdf", "variables": ["Ana", "INV-7"],
        "header": {"kind": "document", "media_id": pdf["id"]}});
    let r = trigger(&tp, &key, &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_owned();
    let m = read(&tp, &t.token, &id).await;
    // The upload's own file name when none is given.
    assert_meta_got_the_pdf(&tp, &m, Some("invoice-42.pdf")).await;
}

/// One file for all recipients (uploaded to Meta once per number, reused), and a link per
/// recipient from a contact attribute (a contact without one is skipped as missing data).
#[tokio::test]
async fn a_document_header_template_through_campaigns() {
    let tp = common::start().await;
    let (t, pdf) = ready(&tp).await;
    for (phone, name, url) in [
        ("+919876500030", "Ana", Some("https://files.example/inv-30.pdf")),
        ("+919876500031", "Ben", Some("https://files.example/inv-31.pdf")),
        ("+919876500032", "Cy", None),
    ] {
        let mut contact = json!({"phone": phone, "name": name, "tags": ["inv"]});
        if let Some(url) = url {
            contact["attributes"] = json!({"invoice_url": url});
        }
        assert_eq!(post(&tp, &t.token, "/contacts", &contact).await.status(), StatusCode::CREATED);
    }
    let campaign = |header: Value| {
        json!({"name": "Invoices", "template": {"name": "invoice_pdf", "language": "en_US"}, "audience": {"tags": ["inv"]},
            "variables": ["{{contact.name}}", "INV-NOV"], "header": header})
    };
    let r = post(
        &tp,
        &t.token,
        "/campaigns",
        &campaign(json!({"kind": "document", "media_id": pdf["id"], "filename": "November.pdf"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["header"], json!({"kind": "document", "media_id": pdf["id"], "filename": "November.pdf"}));
    let id = created["id"].as_str().unwrap().to_owned();
    let messages = common::eventually(60, "all three are read", || async {
        let page = get_ok(&tp, &t.token, &format!("/messages?campaign_id={id}")).await;
        let items = page["items"].as_array().unwrap().clone();
        (items.len() == 3 && items.iter().all(|m| m["status"] == "read")).then_some(items)
    })
    .await;
    let mut meta_ids = std::collections::HashSet::new();
    for listed in &messages {
        let m = get_ok(&tp, &t.token, &format!("/messages/{}", listed["id"].as_str().unwrap())).await;
        assert_meta_got_the_pdf(&tp, &m, Some("November.pdf")).await;
        let sent = common::simulator(&tp).sent_message(m["wamid"].as_str().unwrap()).unwrap();
        meta_ids.insert(sent.media[0].id.clone().unwrap());
    }
    assert!(!meta_ids.is_empty() && meta_ids.len() <= 3);

    let r = post(
        &tp,
        &t.token,
        "/campaigns",
        &campaign(json!({"kind": "document", "link": "{{contact.attributes.invoice_url}}"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let counts = common::eventually(60, "the linked campaign is read", || async {
        let c = get_ok(&tp, &t.token, &format!("/campaigns/{id}")).await["counts"].clone();
        (c["read"] == 2 && c["skipped_missing_data"] == 1).then_some(c)
    })
    .await;
    assert_eq!(counts["failed"], 0);
    let page = get_ok(&tp, &t.token, &format!("/messages?campaign_id={id}")).await;
    let mut links: Vec<String> = Vec::new();
    for listed in page["items"].as_array().unwrap() {
        let m = get_ok(&tp, &t.token, &format!("/messages/{}", listed["id"].as_str().unwrap())).await;
        let sent = common::simulator(&tp).sent_message(m["wamid"].as_str().unwrap()).unwrap();
        assert_eq!(sent.media[0].id, None);
        links.push(sent.media[0].link.clone().unwrap());
    }
    links.sort();
    assert_eq!(links, ["https://files.example/inv-30.pdf", "https://files.example/inv-31.pdf"]);
}
