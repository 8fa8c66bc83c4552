//! Media over HTTP with Meta's shapes: upload (checked like Meta), metadata and the
//! short-lived bearer download URL, delete; media, interactive and media-header template
//! messages, and the record of what Meta "received".

use meta_sim::{Endpoint, Faults, ScriptedFault, business_for_code};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not really a picture, but it starts like one";
const PDF: &[u8] = b"%PDF-1.4\n% an invoice\n%%EOF\n";

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

struct Account {
    g: Graph,
    token: String,
    phone: String,
    waba: String,
}

async fn account(sim: &meta_sim::SimHandle, tag: &str) -> Account {
    let g = Graph::new(sim);
    let c = code(tag);
    let token = g.token(&c).await;
    let b = business_for_code(&c);
    Account { g, token, phone: b.phone_numbers[0].id.clone(), waba: b.waba_id }
}

impl Account {
    async fn upload(&self, mime: &str, name: &str, bytes: &[u8]) -> String {
        let (status, body) = self.g.upload(&self.phone, &self.token, mime, name, bytes).await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    async fn download(&self, url: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.g.http.get(url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    async fn send(&self, body: Value) -> (u16, Value) {
        self.g.post(&format!("{}/messages", self.phone), &self.token, body).await
    }
}

fn message(to: &str, kind: &str, payload: Value) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: payload})
}

#[tokio::test]
async fn upload_get_download_and_delete_with_meta_shapes() {
    let sim = sim(fast_config()).await;
    let a = account(&sim, "media").await;
    let other = account(&sim, "media-other").await;
    let id = a.upload("image/png", "logo.png", PNG).await;
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));

    let (status, info) = a.g.get(&id, &a.token).await;
    assert_eq!(status, 200, "{info}");
    let keys: Vec<&str> = info.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["url", "mime_type", "sha256", "file_size", "id", "messaging_product"] {
        assert!(keys.contains(&k), "{k} in {info}");
    }
    assert_eq!(info["mime_type"], "image/png");
    assert_eq!(info["sha256"], hex(PNG).as_str());
    assert_eq!(info["file_size"], PNG.len());
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["messaging_product"], "whatsapp");
    let url = info["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/whatsapp_business/attachments/?mid={id}&ext=", sim.base_url())), "{url}");

    let r = a.download(&url, Some(&a.token)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);

    // Without a token, with a bad one, with another business's, with an edited URL.
    let r = a.download(&url, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], 104);
    let r = a.download(&url, Some("EAASnot-a-token")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], 190);
    let r = a.download(&url, Some(&other.token)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], 200);
    let forged = url.replace("&ext=", "&ext=9");
    let r = a.download(&forged, Some(&a.token)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["message"], "URL signature mismatch");
    let (status, body) = other.g.get(&id, &other.token).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (403, Some(200)));

    // The handle and the inspection endpoint see the same object and bytes.
    assert_eq!(sim.media(&id).unwrap().sha256, hex(PNG));
    assert_eq!(sim.media_bytes(&id).await.unwrap(), PNG);
    let raw = a.g.http.get(format!("{}/_sim/media/{id}/bytes", sim.base_url())).send().await.unwrap();
    assert_eq!(raw.bytes().await.unwrap().as_ref(), PNG);

    let (status, body) = a.g.delete(&id, &a.token).await;
    assert_eq!((status, body), (200, json!({"success": true})));
    let (status, body) = a.g.get(&id, &a.token).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()),
        (400, Some(100), Some(33))
    );
    let (status, body) = a.g.delete(&id, &a.token).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "(#100) Invalid post_id parameter");
    assert_eq!(a.download(&url, Some(&a.token)).await.status(), 400);
    assert!(sim.media_bytes(&id).await.is_none());
}

#[tokio::test]
async fn uploads_are_checked_before_anything_is_stored() {
    let sim = sim(fast_config()).await;
    let a = account(&sim, "upload-checks").await;
    let other = account(&sim, "upload-other").await;

    let (status, body) = a.g.upload(&a.phone, &a.token, "image/gif", "a.gif", b"GIF89a....").await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(100)));
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("(#100) Param file must be a file with one of the following types: audio/aac"), "{msg}");
    assert!(msg.ends_with("Received file of type 'image/gif'."), "{msg}");

    // A ".png" that is an executable.
    let (status, body) = a.g.upload(&a.phone, &a.token, "image/png", "a.png", b"MZ\x90\x00\x03\x00 PE").await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131053)));
    assert_eq!(body["error"]["message"], "(#131053) Media upload error");

    // A sticker over 500 KB.
    let mut webp = b"RIFF\0\0\0\0WEBPVP8L".to_vec();
    webp.resize(600 * 1024, 0);
    let (status, body) = a.g.upload(&a.phone, &a.token, "image/webp", "s.webp", &webp).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131053)));
    assert!(body["error"]["error_data"]["details"].as_str().unwrap().contains("500KB"), "{body}");

    // Missing fields, and another business's number.
    let no_product: [Part; 2] = [("file", Some(("a.pdf", "application/pdf")), PDF), ("type", None, b"application/pdf")];
    let (_, body) = a.g.upload_form(&a.phone, &a.token, &no_product).await;
    assert_eq!(body["error"]["message"], "(#100) The parameter messaging_product is required.");
    let no_file: [Part; 2] = [("messaging_product", None, b"whatsapp"), ("type", None, b"application/pdf")];
    let (_, body) = a.g.upload_form(&a.phone, &a.token, &no_file).await;
    assert_eq!(body["error"]["message"], "(#100) The parameter file is required.");
    let (status, body) = a.g.upload(&other.phone, &a.token, "application/pdf", "a.pdf", PDF).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (403, Some(200)));

    // Nothing of the refused uploads is kept.
    let base = sim.base_url();
    let r = a.g.http.get(format!("{base}/_sim/messages")).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(r["data"], json!([]));
    let ok = a.upload("application/pdf", "invoice.pdf", PDF).await;
    assert_eq!(sim.media(&ok).unwrap().filename.as_deref(), Some("invoice.pdf"));
}

#[tokio::test]
async fn expired_urls_and_transient_faults_on_download() {
    let sim = sim(fast_config()).await;
    let a = account(&sim, "download-faults").await;
    let id = a.upload("application/pdf", "a.pdf", PDF).await;
    let fresh_url = || async { a.g.get(&id, &a.token).await.1["url"].as_str().unwrap().to_owned() };

    // A URL past its expiry (configurable; Meta's is 5 minutes).
    sim.configure(|c| c.media_url_ttl = std::time::Duration::ZERO);
    let r = a.download(&fresh_url().await, Some(&a.token)).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["message"], "URL signature expired");
    sim.configure(|c| c.media_url_ttl = std::time::Duration::from_secs(300));
    let url = fresh_url().await;

    // Scripted: once a transient 500, once an expired URL, then the download works.
    sim.fail_next(Endpoint::DownloadMedia, ScriptedFault::ServerError);
    sim.fail_next(Endpoint::DownloadMedia, ScriptedFault::ExpiredUrl);
    let r = a.download(&url, Some(&a.token)).await;
    assert_eq!(r.status(), 500);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["is_transient"], true);
    assert_eq!(a.download(&url, Some(&a.token)).await.status(), 404);
    assert_eq!(a.download(&url, Some(&a.token)).await.bytes().await.unwrap().as_ref(), PDF);

    // Random shares: expired URLs, 500s and expired tokens on downloads too.
    for (faults, status) in [
        (Faults { media_url_expired_ratio: 1.0, ..Faults::default() }, 404),
        (Faults { server_error_ratio: 1.0, ..Faults::default() }, 500),
        (Faults { expired_token_ratio: 1.0, ..Faults::default() }, 401),
    ] {
        sim.set_faults(faults);
        assert_eq!(a.download(&url, Some(&a.token)).await.status(), status, "{faults:?}");
    }
    sim.set_faults(Faults::default());

    // Scripted faults on the Graph media endpoints.
    sim.fail_next(Endpoint::GetMedia, ScriptedFault::ServerError);
    assert_eq!(a.g.get(&id, &a.token).await.0, 500);
    sim.fail_next(Endpoint::UploadMedia, ScriptedFault::ExpiredToken);
    assert_eq!(a.g.upload(&a.phone, &a.token, "application/pdf", "b.pdf", PDF).await.0, 401);
    sim.fail_next(Endpoint::DeleteMedia, ScriptedFault::ServerError);
    assert_eq!(a.g.delete(&id, &a.token).await.0, 500);
    assert_eq!(a.g.get(&id, &a.token).await.0, 200, "each scripted fault happens once");
}

#[tokio::test]
async fn media_messages_record_the_bytes_meta_received() {
    let (url, mut rx) = receiver(meta_sim::DEFAULT_APP_SECRET, 0).await;
    let sim = sim(meta_sim::SimConfig { webhook_url: Some(url), ..fast_config() }).await;
    let a = account(&sim, "media-send").await;
    let pdf = a.upload("application/pdf", "invoice-42.pdf", PDF).await;

    let (status, body) = a
        .send(message(
            "15550001234",
            "document",
            json!({"id": pdf, "caption": "Your invoice", "filename": "INV-42.pdf"}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_owned();
    let sent = sim.sent_message(&wamid).unwrap();
    assert_eq!(sent.media.len(), 1);
    let m = &sent.media[0];
    assert_eq!((m.kind.as_str(), m.slot.as_str()), ("document", "message"));
    assert_eq!(m.id.as_deref(), Some(pdf.as_str()));
    assert_eq!(m.sha256.as_deref(), Some(hex(PDF).as_str()));
    assert_eq!((m.caption.as_deref(), m.filename.as_deref()), (Some("Your invoice"), Some("INV-42.pdf")));
    assert_eq!(sim.media_bytes(&pdf).await.unwrap(), PDF, "the bytes Meta received");
    assert_eq!(sent.body["document"]["caption"], "Your invoice", "the whole payload is kept");
    let over_http: Value =
        a.g.http.get(format!("{}/_sim/messages/{wamid}", sim.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(over_http["media"][0]["sha256"], hex(PDF).as_str());
    assert_eq!(over_http["body"]["to"], "15550001234");

    // By link: recorded, never fetched.
    let (status, body) = a.send(message("15550001235", "image", json!({"link": "https://cdn.example/cat.jpg"}))).await;
    assert_eq!(status, 200, "{body}");
    let sent = sim.sent_message(body["messages"][0]["id"].as_str().unwrap()).unwrap();
    assert_eq!(sent.media[0].link.as_deref(), Some("https://cdn.example/cat.jpg"));
    assert_eq!(sent.media[0].sha256, None);

    // Meta's parameter errors.
    for (payload, code) in [
        (json!({}), 131008),
        (json!({"id": pdf, "link": "https://cdn.example/a.pdf"}), 131009),
        (json!({"id": "9000000000000000"}), 131009),
        (json!({"link": "ftp://cdn.example/a.pdf"}), 131009),
    ] {
        let (status, body) = a.send(message("15550001236", "document", payload.clone())).await;
        assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(code)), "{payload}: {body}");
        assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");
    }
    let (status, body) = a.send(json!({"messaging_product": "whatsapp", "to": "15550001236", "type": "audio"})).await;
    assert_eq!((status, body["error"]["message"].as_str()), (400, Some("(#100) The parameter audio is required.")));

    // Another business's media id is not usable.
    let other = account(&sim, "media-send-other").await;
    let foreign = other.upload("application/pdf", "x.pdf", PDF).await;
    let (status, body) = a.send(message("15550001237", "document", json!({"id": foreign}))).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131009)));

    // A PDF sent as an image: accepted, then failed by webhook with 131053.
    let (status, body) = a.send(message("15550001238", "image", json!({"id": pdf}))).await;
    assert_eq!(status, 200);
    let wamid = body["messages"][0]["id"].as_str().unwrap().to_owned();
    loop {
        let got = next(&mut rx).await;
        let st = status_of(&got.body);
        if st["id"] == wamid.as_str() {
            assert_eq!(st["status"], "failed");
            assert_eq!(st["errors"][0]["code"], 131053);
            break;
        }
    }
}

fn buttons(n: usize, title_len: usize) -> Value {
    let buttons: Vec<Value> = (0..n)
        .map(|i| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": format!("{i}{}", "x".repeat(title_len - 1))}}))
        .collect();
    json!({"type": "button", "body": {"text": "Pick one"}, "action": {"buttons": buttons}})
}

fn list(rows: usize) -> Value {
    let rows: Vec<Value> =
        (0..rows).map(|i| json!({"id": format!("r{i}"), "title": format!("Row {i}"), "description": "d"})).collect();
    json!({"type": "list", "body": {"text": "Choose"}, "action": {"button": "Options", "sections": [{"title": "All", "rows": rows}]}})
}

#[tokio::test]
async fn interactive_buttons_and_lists_follow_meta_limits() {
    let sim = sim(fast_config()).await;
    let a = account(&sim, "interactive").await;
    let mut i = 0;
    let mut send = |payload: Value| {
        i += 1;
        let to = format!("1555100{i:04}");
        let a = &a;
        async move { a.send(message(&to, "interactive", payload)).await }
    };
    assert_eq!(send(buttons(3, 20)).await.0, 200);
    assert_eq!(send(list(10)).await.0, 200);
    let (status, body) = send(buttons(4, 5)).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(131009)));
    let (_, body) = send(buttons(2, 21)).await;
    assert_eq!(body["error"]["error_data"]["details"], "Button title length invalid. Min length: 1, Max length: 20");
    let (_, body) = send(list(11)).await;
    assert_eq!(body["error"]["code"], 131009);
    let (_, body) = send(json!({"type": "button", "action": {"buttons": []}})).await;
    assert_eq!(body["error"]["code"], 131008);

    // A button message with an image header by id records the image.
    let img = a.upload("image/png", "p.png", PNG).await;
    let mut with_header = buttons(1, 3);
    with_header["header"] = json!({"type": "image", "image": {"id": img}});
    let (status, body) = send(with_header).await;
    assert_eq!(status, 200, "{body}");
    let sent = sim.sent_message(body["messages"][0]["id"].as_str().unwrap()).unwrap();
    assert_eq!((sent.media[0].slot.as_str(), sent.media[0].id.as_deref()), ("header", Some(img.as_str())));
}

#[tokio::test]
async fn a_media_header_template_needs_its_header_like_meta() {
    let sim = sim(fast_config()).await;
    let a = account(&sim, "header-template").await;
    let created = a
        .g
        .http
        .post(format!("{}/_sim/templates", sim.base_url()))
        .json(&json!({"waba_id": a.waba, "name": "invoice_pdf", "language": "en_US", "category": "UTILITY", "components": [
            {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aW52b2ljZQ=="]}},
            {"type": "BODY", "text": "Hi {{1}}, your invoice is attached.", "example": {"body_text": [["Ana"]]}}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let send = |components: Value| {
        let a = &a;
        async move {
            a.send(json!({"messaging_product": "whatsapp", "to": "15552220001", "type": "template",
                "template": {"name": "invoice_pdf", "language": {"code": "en_US"}, "components": components}}))
                .await
        }
    };
    let body_params = json!({"type": "body", "parameters": [{"type": "text", "text": "Ana"}]});

    let (status, body) = send(json!([body_params])).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 132012);
    assert_eq!(body["error"]["message"], "(#132012) Parameter format does not match format in the created template");
    assert_eq!(body["error"]["error_data"]["details"], "header: Format mismatch, expected DOCUMENT, received UNKNOWN");
    let (_, body) =
        send(json!([{"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x.test/a.jpg"}}]}, body_params]))
            .await;
    assert_eq!(body["error"]["error_data"]["details"], "header: Format mismatch, expected DOCUMENT, received IMAGE");

    let pdf = a.upload("application/pdf", "invoice.pdf", PDF).await;
    let header = json!({"type": "header", "parameters": [{"type": "document", "document": {"id": pdf, "filename": "INV-1.pdf"}}]});
    let (status, body) = send(json!([header, body_params])).await;
    assert_eq!(status, 200, "{body}");
    let sent = sim.sent_message(body["messages"][0]["id"].as_str().unwrap()).unwrap();
    assert_eq!(sent.media.len(), 1);
    assert_eq!((sent.media[0].kind.as_str(), sent.media[0].slot.as_str()), ("document", "header"));
    assert_eq!(sent.media[0].sha256.as_deref(), Some(hex(PDF).as_str()));
    assert_eq!(sent.media[0].filename.as_deref(), Some("INV-1.pdf"));
}

/// Meta's Resumable Upload API (what a template's sample goes through): `POST /{app_id}/uploads`
/// opens a session for one file of a type and size Meta takes, `POST /upload:…` with
/// `file_offset: 0` and the bytes answers the handle `example.header_handle` takes; the bytes
/// are what the simulator keeps.
#[tokio::test]
async fn a_template_sample_goes_through_the_resumable_upload_api() {
    let sim = sim(fast_config()).await;
    let a = account(&sim, "sample-upload").await;
    let app = meta_sim::DEFAULT_APP_ID;
    let start = |query: &str| {
        let a = &a;
        let path = format!("{app}/uploads?{query}");
        async move { a.g.post(&path, &a.token, json!({})).await }
    };
    let (status, body) = start("file_name=invoice.pdf&file_length=28&file_type=application/pdf").await;
    assert_eq!(status, 200, "{body}");
    let session = body["id"].as_str().unwrap().to_owned();
    assert!(session.starts_with("upload:"), "{body}");
    for (query, what) in [
        ("file_name=a.exe&file_length=30&file_type=application/x-msdownload", "a type Meta does not take"),
        ("file_name=a.png&file_length=6000000&file_type=image/png", "over the image limit"),
        ("file_length=30&file_type=application/pdf", "no file name"),
    ] {
        let (status, body) = start(query).await;
        assert_eq!(status, 400, "{what}: {body}");
    }
    let (status, _) =
        a.g.post("999/uploads?file_name=a.pdf&file_length=30&file_type=application/pdf", &a.token, json!({})).await;
    assert_eq!(status, 400, "another app's uploads");

    let put = |offset: &'static str, bytes: &'static [u8], token: String| {
        let (a, url) = (&a, format!("{}/{session}", a.g.base));
        async move {
            let r = a.g.http.post(url).header("authorization", format!("OAuth {token}")).header("file_offset", offset);
            let r = r.body(bytes).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(put("0", PDF, "not-a-token".into()).await.0, 401, "Meta's token is needed");
    assert_eq!(put("5", PDF, a.token.clone()).await.0, 400, "a new upload starts at offset 0");
    assert_eq!(put("0", PNG, a.token.clone()).await.0, 400, "other bytes than declared");
    let (status, body) = put("0", PDF, a.token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let handle = body["h"].as_str().unwrap();
    assert!(handle.starts_with("4::"), "{handle}");
    let media_id = handle.rsplit(':').next().unwrap();
    let kept = a.g.http.get(format!("{}/_sim/media/{media_id}/bytes", sim.base_url())).send().await.unwrap();
    assert_eq!(kept.bytes().await.unwrap().as_ref(), PDF, "the bytes Meta received");

    // The handle is a media header's sample.
    let (status, body) =
        a.g.post(
            &format!("{}/message_templates", a.waba),
            &a.token,
            json!({"name": "invoice_sample", "language": "en_US", "category": "UTILITY", "components": [
                {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": [handle]}},
                {"type": "BODY", "text": "Your invoice is attached."}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
