//! Console: templates with a media header (SPEC → Media and rich messages, Console) — the builder
//! uploads a sample through Meta's Resumable Upload API, the campaign wizard's header picker (a
//! stored file or a link per recipient) and the inbox's template reply with its header file. Each
//! as a browser without JavaScript sends it (multipart), the domain's refusals next to the field,
//! and what the simulator received.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Console, Page};
use crate::common::{self, ActiveTenant, TestPlatform};
use crate::media::{ELF, PDF, PNG};

async fn owner(tp: &TestPlatform, t: &ActiveTenant) -> Console {
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    c
}

/// A form post with no file chosen, as a browser sends it: an empty file part.
async fn without_file(c: &mut Console, path: &str, fields: &[(&str, &str)]) -> Page {
    c.post_file_as(path, true, fields, ("file", "", b""), "application/octet-stream").await
}

/// An approved template named `name` with a `format` header (its sample a made-up handle) and
/// `body`, `{{1}}`… with one example each.
pub(super) async fn media_template(tp: &TestPlatform, t: &ActiveTenant, name: &str, format: &str, body: &str) {
    let examples: Vec<&str> = ["Ana", "INV-1", "x"].into_iter().take(body.matches("{{").count()).collect();
    let template = json!({"name": name, "language": "en_US", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": format, "example": {"header_handle": ["4::c2FtcGxl"]}},
        {"type": "BODY", "text": body, "example": {"body_text": [examples]}}
    ]});
    common::reviewed_template(tp, t, &template, "APPROVED").await;
}

/// The conversation of a customer at `from` (digits) who wrote 25 hours ago: its 24 h window is
/// closed, so the inbox offers templates only.
pub(super) async fn closed_conversation(tp: &TestPlatform, t: &ActiveTenant, connection: &Value, from: &str) -> String {
    let sent = common::customer_writes(tp, connection, from, "Can I have my invoice?").await;
    let inbound = crate::media::inbound_message(tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let conversation = inbound["conversation_id"].as_str().unwrap().to_owned();
    let ago = chrono::Utc::now() - chrono::Duration::hours(25);
    let aged = miping::ports::table::Update::new()
        .set("last_inbound_at", ago.to_rfc3339())
        .set("last_inbound_ms", ago.timestamp_millis());
    tp.ports().table.update(&miping::domain::inbox::conversation_key(&t.id, &conversation), aged, None).await.unwrap();
    conversation
}

/// The message Meta received with `wamid`: its header's kind and the bytes Meta holds for it.
async fn header_meta_got(tp: &TestPlatform, wamid: &str) -> (String, Option<String>, Vec<u8>) {
    let sim = common::simulator(tp);
    let sent = sim.sent_message(wamid).expect("Meta got the message");
    assert_eq!(sent.body["type"], "template");
    let media = sent.media.first().expect("a media header");
    assert_eq!(media.slot, "header");
    let id = media.id.clone().expect("sent by Meta's id");
    (media.kind.clone(), media.filename.clone(), sim.media_bytes(&id).await.unwrap())
}

#[tokio::test]
async fn the_builder_submits_an_image_header_template_with_its_sample() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    common::connect_new(&tp, &t).await;
    let mut c = owner(&tp, &t).await;
    let new = c.get("/app/templates/new").await;
    assert!(new.body.contains("enctype=\"multipart/form-data\""), "the builder carries a file");
    assert!(new.body.contains("<select id=\"f-header_format\" name=\"header_format\""), "{}", new.body);
    assert!(new.body.contains("<option value=\"IMAGE\">Image</option>"));

    // console.js's live preview when the header type becomes Image: the preview's media box, and
    // the header's fields again (out of band) with the sample's file input.
    let fields = [
        ("name", "menu_photo"),
        ("language", "en"),
        ("category", "MARKETING"),
        ("header_format", "IMAGE"),
        ("body", "Hi {{1}}, our new menu is here."),
        ("example_1", "Asha"),
        ("shown_vars", "h0b1"),
        ("shown_header", ""),
    ];
    c.hx = true;
    let live = without_file(&mut c, "/app/templates/preview", &fields).await;
    c.hx = false;
    assert_eq!(live.status, StatusCode::OK);
    assert!(live.body.contains("id=\"preview-media\"><span>Image header</span>"), "{}", live.body);
    assert!(live.body.contains("id=\"header-fields\" class=\"stack\" data-hx-oob"), "{}", live.body);
    assert!(live.body.contains("id=\"f-sample\" name=\"file\" type=\"file\" accept=\"image/jpeg,image/png\""));
    assert!(!live.body.contains("Sample file:"), "the sample is not a live issue: it goes with the submit");

    // Refused next to the file input: no sample, a document for an image header, an executable.
    let r = without_file(&mut c, "/app/templates", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.field_error("sample").as_deref(), Some("choose a sample file: Meta reviews the template with it"));
    r.assert_shows("Hi {{1}}, our new menu is here.");
    let r = c.post_file_as("/app/templates", true, &fields, ("file", "menu.pdf", PDF), "application/pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.field_error("sample").as_deref(), Some("is a document file: this header takes an image"));
    let r = c.post_file_as("/app/templates", true, &fields, ("file", "menu.png", ELF), "image/png").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(r.field_error("sample").is_some(), "{}", r.body);

    // A refusal elsewhere keeps the uploaded sample: the form carries its handle.
    let bad_name = super::with(&fields, "name", "Menu Photo");
    let r = c.post_file_as("/app/templates", true, &bad_name, ("file", "menu.png", PNG), "image/png").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("name").is_some());
    let handle = r.input_value("header_handle").expect("the sample's handle is kept");
    assert!(handle.starts_with("4::"), "{handle}");
    r.assert_shows("“menu.png” is uploaded as the sample");
    let mut kept = fields.to_vec();
    kept.extend([("header_handle", handle.as_str()), ("sample_name", "menu.png")]);
    let r = without_file(&mut c, "/app/templates", &kept).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // What the API holds: Meta's handle of the sample, whose bytes the simulator received.
    let (_, list) = common::get_json(&tp, &t.token, "/templates").await;
    let tpl = list["items"].as_array().unwrap().iter().find(|t| t["name"] == "menu_photo").expect("created");
    assert_eq!(tpl["components"][0]["format"], "IMAGE");
    assert_eq!(tpl["components"][0]["example"]["header_handle"][0], handle.as_str());
    let sim = common::simulator(&tp);
    assert_eq!(sim.media_bytes(handle.rsplit(':').next().unwrap()).await.unwrap(), PNG, "the sample Meta got");

    // Its edit form: the sample kept, replaceable.
    let id = tpl["id"].as_str().unwrap();
    common::poll_field(&tp, &t.token, &format!("/templates/{id}"), "status", "APPROVED").await;
    let edit = c.get(&format!("/app/templates/{id}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert_eq!(edit.input_value("header_handle").as_deref(), Some(handle.as_str()));
    assert!(edit.body.contains("The template's sample is kept"), "{}", edit.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_sends_an_image_header_from_an_uploaded_file() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    media_template(&tp, &t, "menu_photo", "IMAGE", "Hi {{1}}, our new menu is here.").await;
    let contact = json!({"name": "Ana Silva", "phone": "+14155500021", "tags": ["menu"],
        "attributes": {"photo": "https://cdn.example/ana.png"}});
    assert_eq!(common::post(&tp, &t.token, "/contacts", &contact).await.status(), StatusCode::CREATED);
    let mut c = owner(&tp, &t).await;
    c.get("/app/campaigns/new").await;
    let wizard = [
        ("name", "Menu launch"),
        ("template", "menu_photo|en_US"),
        ("audience", "tags"),
        ("tags", "menu"),
        ("var_kind_1", "name"),
        ("var_value_1", ""),
        ("header_source", "file"),
        ("header_link", ""),
        ("when", "now"),
        ("schedule_at", ""),
        ("shown_header", ""),
    ];

    // console.js, the template chosen: the picker arrives out of band; one variable (the body's),
    // the header being the picker's.
    c.hx = true;
    let live = without_file(&mut c, "/app/campaigns/new/estimate", &wizard).await;
    assert_eq!(live.status, StatusCode::OK);
    assert!(live.body.contains("<div id=\"header-picker\" data-hx-oob>"), "{}", live.body);
    assert!(live.body.contains("id=\"f-header-file\" name=\"file\" type=\"file\" accept=\"image/jpeg,image/png\""));
    assert!(live.body.contains("id=\"var-kind-1\"") && !live.body.contains("id=\"var-kind-2\""), "{}", live.body);
    live.assert_shows("Image: not chosen yet");
    // A link per recipient: the first recipient's own in the preview.
    let by_link = super::with(&wizard, "header_source", "link");
    let by_link = super::with(&by_link, "header_link", "{{contact.attributes.photo}}");
    let live = without_file(&mut c, "/app/campaigns/new/estimate", &by_link).await;
    live.assert_shows("Image from https://cdn.example/ana.png");
    c.hx = false;

    // Refusals next to the picker: nothing chosen, a document, an executable, a plain http link.
    let r = without_file(&mut c, "/app/campaigns/new", &wizard).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.field_error("header").as_deref(), Some("upload a file or give a link for the header"));
    let r = c.post_file_as("/app/campaigns/new", true, &wizard, ("file", "menu.pdf", PDF), "application/pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("header").unwrap().contains("is a document file"), "{}", r.body);
    let r = c.post_file_as("/app/campaigns/new", true, &wizard, ("file", "menu.png", ELF), "image/png").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(r.field_error("header").is_some(), "{}", r.body);
    let http = super::with(&by_link, "header_link", "http://cdn.example/a.png");
    let r = without_file(&mut c, "/app/campaigns/new", &http).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("header").unwrap().contains("https://"), "{}", r.body);

    // "Update count and preview" with the file: stored, named in the preview, kept by the form.
    let mut update = wizard.to_vec();
    update.push(("step", "preview"));
    let r = c.post_file_as("/app/campaigns/new", true, &update, ("file", "menu.png", PNG), "image/png").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.assert_shows("Image: menu.png");
    let media_id = r.input_value("header_media_id").expect("the stored file's id is kept");
    let mut create = wizard.to_vec();
    create.extend([("header_media_id", media_id.as_str()), ("header_filename", "menu.png")]);

    // "Send a test" from the form: the first recipient's message, with the image, to one number.
    let mut test = create.clone();
    test.extend([("test_to", "12"), ("step", "test")]);
    let r = without_file(&mut c, "/app/campaigns/new", &test).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("test_to").is_some(), "{}", r.body);
    let test = super::with(&test, "test_to", "+14155500099");
    let r = without_file(&mut c, "/app/campaigns/new", &test).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.assert_shows("Test sent to +14155500099");
    let wamid = common::eventually(30, "the test reaches Meta", || async {
        let sent = common::simulator(&tp).sent_messages();
        sent.into_iter().find(|m| m.wa_id.ends_with("14155500099")).map(|m| m.wamid)
    })
    .await;
    let (kind, _, bytes) = header_meta_got(&tp, &wamid).await;
    assert_eq!((kind.as_str(), bytes.as_slice()), ("image", PNG), "the test carries the image");

    let done = without_file(&mut c, "/app/campaigns/new", &create).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let id = done.location().unwrap().strip_prefix("/app/campaigns/").unwrap().to_owned();

    let (_, campaign) = common::get_json(&tp, &t.token, &format!("/campaigns/{id}")).await;
    assert_eq!(campaign["header"], json!({"kind": "image", "media_id": media_id}), "{campaign}");
    let message = common::eventually(30, "the campaign's message is sent", || async {
        let (_, m) = common::get_json(&tp, &t.token, &format!("/messages?campaign_id={id}")).await;
        m["items"].as_array().and_then(|i| i.first()).filter(|m| m["wamid"].is_string()).cloned()
    })
    .await;
    let (kind, _, bytes) = header_meta_got(&tp, message["wamid"].as_str().unwrap()).await;
    assert_eq!((kind.as_str(), bytes.as_slice()), ("image", PNG), "the uploaded image, by Meta's id");
}

#[tokio::test]
async fn an_agent_replies_with_a_document_header_template_and_its_file() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    media_template(&tp, &t, "invoice_pdf", "DOCUMENT", "Hi {{1}}, your invoice {{2}} is attached.").await;
    let conversation = closed_conversation(&tp, &t, &connection, "14155550831").await;
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&agent.email, &agent.password).await;
    let thread = format!("/app/inbox/{conversation}");
    let page = c.get(&format!("{thread}?template=invoice_pdf%7Cen_US")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<label for=\"template-file\">Document for the header</label>"), "{}", page.body);
    assert!(
        page.body.contains("id=\"template-file\" name=\"file\" type=\"file\" accept=\"text/plain,application/pdf,")
    );
    assert!(!page.body.contains("Header variable"), "the header is the file, not a variable");
    assert!(page.body.contains("<label for=\"var-2\">Variable {{2}}</label>") && !page.body.contains("id=\"var-3\""));

    let reply = format!("{thread}/reply");
    let fields = [("next", thread.as_str()), ("template", "invoice_pdf|en_US"), ("var_1", "Ana"), ("var_2", "INV-42")];
    let r = without_file(&mut c, &reply, &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.field_error("header").as_deref(), Some("choose the file this template's header sends"));
    assert_eq!(r.input_value("var_2").as_deref(), Some("INV-42"), "the variables are kept");
    let r = c.post_file_as(&reply, true, &fields, ("file", "photo.png", PNG), "image/png").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("header").unwrap().contains("not image"), "{}", r.body);

    let r = c.post_file_as(&reply, true, &fields, ("file", "invoice-42.pdf", PDF), "application/pdf").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, messages) = common::get_json(&tp, &t.token, &format!("/conversations/{conversation}/messages")).await;
    let sent = messages["items"].as_array().unwrap().iter().find(|m| m["kind"] == "template").expect("the reply");
    assert_eq!(sent["media"]["kind"], "document", "{sent}");
    let id = sent["id"].as_str().unwrap().to_owned();
    let wamid = common::eventually(30, "the template is sent", || async {
        let (_, m) = common::get_json(&tp, &t.token, &format!("/messages/{id}")).await;
        m["wamid"].as_str().map(str::to_owned)
    })
    .await;
    let (kind, filename, bytes) = header_meta_got(&tp, &wamid).await;
    assert_eq!((kind.as_str(), filename.as_deref(), bytes.as_slice()), ("document", Some("invoice-42.pdf"), PDF));
    let sim = common::simulator(&tp);
    let body: Value = sim.sent_message(&wamid).unwrap().body;
    assert_eq!(body["template"]["components"][1]["parameters"][1]["text"], "INV-42");
}
