//! SPEC → Media and rich messages: `POST /media` (multipart), `POST /media/uploads` (a direct
//! upload to storage) and `GET /media/{id}` on the local process, whose storage is the data
//! directory served through signed `/media-files/` URLs. Types and sizes are refused before
//! anything is stored; a file is the tenant's and its team's only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, ActiveTenant, TestPlatform, error_code, invite_and_activate, provision_and_activate};

pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";
pub const ELF: &[u8] = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00\x01\x00\x00\x00";
pub const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// A `multipart/form-data` body with one `file` part: (content type, body).
pub fn form(filename: &str, content_type: Option<&str>, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----miping-test-boundary-7d93";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n")
            .as_bytes(),
    );
    if let Some(ct) = content_type {
        body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST /media` with one file.
pub async fn upload(
    tp: &TestPlatform,
    token: &str,
    filename: &str,
    ct: Option<&str>,
    bytes: &[u8],
) -> reqwest::Response {
    let (content_type, body) = form(filename, ct, bytes);
    tp.http
        .post(tp.url("/media"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Uploads `bytes` and returns the media item.
pub async fn uploaded(tp: &TestPlatform, token: &str, filename: &str, ct: &str, bytes: &[u8]) -> Value {
    let r = upload(tp, token, filename, Some(ct), bytes).await;
    assert_eq!(r.status(), StatusCode::CREATED, "upload {filename}");
    r.json().await.unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// `GET /media/{id}` without following the redirect.
pub async fn media_answer(tp: &TestPlatform, token: &str, id: &str) -> reqwest::Response {
    no_redirects().get(tp.url(&format!("/media/{id}"))).bearer_auth(token).send().await.unwrap()
}

/// `GET /media/{id}`: on the local process the file itself (a redirect only on AWS).
pub async fn download(tp: &TestPlatform, token: &str, id: &str) -> Vec<u8> {
    let r = media_answer(tp, token, id).await;
    assert_eq!(r.status(), StatusCode::OK, "GET /media/{id}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    r.bytes().await.unwrap().to_vec()
}

/// Every file stored for `tenant_id` in the data directory.
pub fn stored_files(tp: &TestPlatform, tenant_id: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() { walk(&entry.path(), out) } else { out.push(entry.path()) }
        }
    }
    let mut out = Vec::new();
    walk(&tp.data_dir.join("media/tenants").join(tenant_id), &mut out);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn setup() -> (TestPlatform, ActiveTenant) {
    let tp = common::start().await;
    let tenant = provision_and_activate(&tp).await;
    (tp, tenant)
}

#[tokio::test]
async fn an_uploaded_image_is_the_tenants_and_its_agents_and_nobody_elses() {
    let (tp, t) = setup().await;
    let media = uploaded(&tp, &t.token, "logo.png", "image/png", PNG).await;
    assert_eq!(media["kind"], "image");
    assert_eq!(media["mime_type"], "image/png");
    assert_eq!(media["size"], PNG.len());
    assert_eq!(media["sha256"], sha256_hex(PNG));
    assert_eq!(media["filename"], "logo.png");
    assert_eq!(media["status"], "ready");
    let id = media["id"].as_str().unwrap();
    assert!(id.starts_with("med_"), "{id}");
    let files = stored_files(&tp, &t.id);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(format!("outbound/{id}.png")), "{files:?}");

    assert_eq!(download(&tp, &t.token, id).await, PNG);
    let r = media_answer(&tp, &t.token, id).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["content-disposition"], "inline; filename=\"logo.png\"; filename*=UTF-8''logo.png");
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    assert_eq!(download(&tp, &agent.token, id).await, PNG, "the tenant's agent");

    // Another tenant: its id is not found.
    let other = provision_and_activate(&tp).await;
    assert_eq!(error_code(media_answer(&tp, &other.token, id).await, StatusCode::NOT_FOUND).await, "not_found");
    // No credentials at all.
    let r = no_redirects().get(tp.url(&format!("/media/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// SPEC: the type is checked by content before anything is stored: a `.png` that is an executable
/// is 415 whatever it declares, and so is a type WhatsApp does not take.
#[tokio::test]
async fn an_executable_named_png_is_refused_and_nothing_is_stored() {
    let (tp, t) = setup().await;
    for (name, ct) in
        [("photo.png", Some("image/png")), ("photo.png", None), ("photo.bin", Some("application/octet-stream"))]
    {
        let r = upload(&tp, &t.token, name, ct, ELF).await;
        assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type", "{name} {ct:?}");
    }
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00";
    let r = upload(&tp, &t.token, "anim.gif", Some("image/gif"), gif).await;
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type");
    // A JSON body is not a form.
    let r = common::post(&tp, &t.token, "/media", &json!({"file": "x"})).await;
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type");
    // A form without a file.
    let boundary = "b0undary";
    let body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--{boundary}--\r\n");
    let r = tp
        .http
        .post(tp.url("/media"))
        .bearer_auth(&t.token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    assert!(stored_files(&tp, &t.id).is_empty(), "{:?}", stored_files(&tp, &t.id));
}

/// Each kind's limit is checked as the file arrives: one byte over is 413, and nothing is stored.
#[tokio::test]
async fn a_file_over_its_kinds_limit_is_refused_before_it_is_stored() {
    let (tp, t) = setup().await;
    let mut image = PNG.to_vec();
    image.resize(5 * 1024 * 1024 + 1, 0);
    let r = upload(&tp, &t.token, "big.png", Some("image/png"), &image).await;
    assert_eq!(error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await, "media_too_large");
    let mut sticker = b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec();
    sticker.resize(500 * 1024 + 1, 0);
    let r = upload(&tp, &t.token, "s.webp", Some("image/webp"), &sticker).await;
    assert_eq!(error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await, "media_too_large");
    assert!(stored_files(&tp, &t.id).is_empty());
    // Exactly at the limit is fine.
    image.truncate(5 * 1024 * 1024);
    let media = uploaded(&tp, &t.token, "big.png", "image/png", &image).await;
    assert_eq!(media["size"], 5 * 1024 * 1024);
}

async fn grant(tp: &TestPlatform, token: &str, body: Value) -> reqwest::Response {
    common::post(tp, token, "/media/uploads", &body).await
}

async fn put(upload: &Value, bytes: &[u8]) -> reqwest::Response {
    let mut request = reqwest::Client::new().put(upload["upload_url"].as_str().unwrap());
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    request.body(bytes.to_vec()).send().await.unwrap()
}

/// `POST /media/uploads`: a signed PUT of the declared type and size; the bytes are checked on
/// first use, and a file that is not what it declared is deleted and refused.
#[tokio::test]
async fn a_direct_upload_is_checked_on_first_use() {
    let (tp, t) = setup().await;
    let r =
        grant(&tp, &t.token, json!({"filename": "catalogue.pdf", "mime_type": "application/pdf", "size": PDF.len()}))
            .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let upload: Value = r.json().await.unwrap();
    assert_eq!(upload["method"], "PUT");
    assert_eq!(upload["headers"]["content-type"], "application/pdf");
    assert!(upload["expires_at"].is_string());
    let id = upload["id"].as_str().unwrap();
    // Not uploaded yet.
    assert_eq!(error_code(media_answer(&tp, &t.token, id).await, StatusCode::CONFLICT).await, "media_not_ready");
    // Another size than granted: refused by the signature; so is the URL aimed at another
    // tenant's prefix, or with its signature changed.
    assert_eq!(put(&upload, b"%PDF-1.7 and more").await.status(), StatusCode::FORBIDDEN);
    let url = upload["upload_url"].as_str().unwrap();
    assert!(
        url.contains(&format!("/media-files/tenants/{}/outbound/{}.pdf?", t.id, upload["id"].as_str().unwrap())),
        "{url}"
    );
    let swapped = json!({"upload_url": url.replace(&t.id, "ten_someone_else"), "headers": upload["headers"]});
    assert_eq!(put(&swapped, PDF).await.status(), StatusCode::FORBIDDEN);
    let forged =
        json!({"upload_url": format!("{}&sig=AAAA", url.split_once("&sig=").unwrap().0), "headers": upload["headers"]});
    assert_eq!(put(&forged, PDF).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(put(&upload, PDF).await.status(), StatusCode::OK);
    assert_eq!(download(&tp, &t.token, id).await, PDF);

    // Declared a PDF, uploaded an executable of that size: deleted on first use, 415.
    let r = grant(&tp, &t.token, json!({"filename": "x.pdf", "mime_type": "application/pdf", "size": ELF.len()})).await;
    let sneaky: Value = r.json().await.unwrap();
    assert_eq!(put(&sneaky, ELF).await.status(), StatusCode::OK);
    let id = sneaky["id"].as_str().unwrap();
    let r = media_answer(&tp, &t.token, id).await;
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type");
    assert_eq!(stored_files(&tp, &t.id).len(), 1, "the executable was deleted: {:?}", stored_files(&tp, &t.id));
    let r = media_answer(&tp, &t.token, id).await;
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type", "stays refused");

    // The grant itself: type and size first.
    let r = grant(&tp, &t.token, json!({"mime_type": "application/pdf", "size": 100 * 1024 * 1024 + 1})).await;
    assert_eq!(error_code(r, StatusCode::PAYLOAD_TOO_LARGE).await, "media_too_large");
    let r = grant(&tp, &t.token, json!({"mime_type": "application/x-msdownload", "size": 10})).await;
    assert_eq!(error_code(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await, "unsupported_media_type");
    let r = grant(&tp, &t.token, json!({"filename": "x"})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    // Another tenant cannot use the grant's id.
    let other = provision_and_activate(&tp).await;
    let r = media_answer(&tp, &other.token, upload["id"].as_str().unwrap()).await;
    assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
}

/// SPEC → Tenant settings: `brand.logo_media_id` is an uploaded image of the tenant (422 otherwise).
#[tokio::test]
async fn a_brand_logo_is_an_uploaded_image_of_the_tenant() {
    let (tp, t) = setup().await;
    let image = uploaded(&tp, &t.token, "logo.png", "image/png", PNG).await;
    let pdf = uploaded(&tp, &t.token, "terms.pdf", "application/pdf", PDF).await;
    let other = provision_and_activate(&tp).await;
    let theirs = uploaded(&tp, &other.token, "logo.png", "image/png", PNG).await;
    let patch = |id: &Value| json!({"brand": {"name": "Sunrise", "color": "#0b5fff", "logo_media_id": id}});
    let send = |body: Value| {
        let tp = &tp;
        let token = t.token.clone();
        async move { tp.http.patch(tp.url("/tenant/settings")).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    for (id, code) in
        [(&pdf["id"], "not_an_image"), (&theirs["id"], "invalid_media_id"), (&json!("med_nope"), "invalid_media_id")]
    {
        let r = send(patch(id)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "brand.logo_media_id", "{body}");
        assert_eq!(body["error"]["details"][0]["code"], code, "{body}");
    }
    let r = send(patch(&image["id"])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["brand"]["logo_media_id"], image["id"]);
}

// ---- inbound: customers' files ------------------------------------------------------------

/// A customer at `from` sends a generated file of `kind` (`POST /_sim/inbound`); the simulator's
/// answer (`media_id`, `sha256` hex, `mime_type`, `wamid`).
pub async fn customer_sends(tp: &TestPlatform, connection: &Value, from: &str, kind: &str) -> Value {
    let r = tp
        .http
        .post(format!("{}/_sim/inbound", common::simulator(tp).base_url()))
        .json(&json!({"phone_number_id": connection["phone_number_id"], "from": from, "type": kind, "filename": "receipt.pdf"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "the simulator took the inbound {kind}");
    r.json().await.unwrap()
}

/// The bytes the simulator holds for its media id (what the customer sent).
pub async fn sent_bytes(tp: &TestPlatform, meta_media_id: &str) -> Vec<u8> {
    let url = format!("{}/_sim/media/{meta_media_id}/bytes", common::simulator(tp).base_url());
    let r = tp.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

/// The inbound message with `wamid` in the tenant's inbox, once recorded.
pub async fn inbound_message(tp: &TestPlatform, token: &str, wamid: &str) -> Value {
    common::eventually(20, "the inbound message is in a conversation", || async {
        let (_, list) = common::get_json(tp, token, "/conversations").await;
        for conversation in list["items"].as_array()? {
            let path = format!("/conversations/{}/messages", conversation["id"].as_str()?);
            let (_, thread) = common::get_json(tp, token, &path).await;
            if let Some(m) = thread["items"].as_array()?.iter().find(|m| m["wamid"] == wamid) {
                return Some(m.clone());
            }
        }
        None
    })
    .await
}

/// Waits until the message's media leaves `pending`; returns its `media`.
pub async fn settled_media(tp: &TestPlatform, token: &str, message_id: &str, secs: u64) -> Value {
    common::eventually(secs, "the media is fetched", || async {
        let (_, m) = common::get_json(tp, token, &format!("/messages/{message_id}")).await;
        (m["media"]["status"] != "pending").then(|| m["media"].clone())
    })
    .await
}

/// SPEC: inbound media is recorded at once as `pending`, fetched through Graph, checked and
/// stored, then `ready`: downloadable by the tenant and its agents, 404 for another tenant.
#[tokio::test]
async fn inbound_media_is_stored_and_downloadable_by_the_tenant_only() {
    let (tp, t) = setup().await;
    let connection = common::connect_new(&tp, &t).await;
    // The first fetch fails at once (a transient Graph error): recorded pending, retried to ready.
    common::simulator(&tp).fail_next(meta_sim::Endpoint::DownloadMedia, meta_sim::ScriptedFault::ServerError);
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    for (i, kind) in ["image", "audio", "document"].into_iter().enumerate() {
        let sent = customer_sends(&tp, &connection, &format!("9198765432{i:02}"), kind).await;
        let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
        assert_eq!(message["kind"], kind);
        let media = settled_media(&tp, &t.token, message["id"].as_str().unwrap(), 30).await;
        assert_eq!(media["status"], "ready", "{kind}: {media}");
        assert_eq!(media["kind"], kind);
        assert_eq!(media["mime_type"], sent["mime_type"]);
        let id = media["id"].as_str().unwrap();
        let expected = sent_bytes(&tp, sent["media_id"].as_str().unwrap()).await;
        assert_eq!(download(&tp, &t.token, id).await, expected, "{kind}: the bytes the customer sent");
        assert_eq!(sha256_hex(&expected), sent["sha256"].as_str().unwrap());
        assert_eq!(download(&tp, &agent.token, id).await, expected, "{kind}: the tenant's agent (unassigned)");
        let files = stored_files(&tp, &t.id);
        assert!(files.iter().any(|f| f.to_string_lossy().contains(&format!("/inbound/{id}."))), "{files:?}");
    }
    let other = provision_and_activate(&tp).await;
    let (_, list) = common::get_json(&tp, &t.token, "/conversations").await;
    let conversation = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, thread) = common::get_json(&tp, &t.token, &format!("/conversations/{conversation}/messages")).await;
    let id = thread["items"].as_array().unwrap().iter().find_map(|m| m["media"]["id"].as_str()).unwrap().to_owned();
    assert_eq!(error_code(media_answer(&tp, &other.token, &id).await, StatusCode::NOT_FOUND).await, "not_found");

    // Assigned to the admin: another agent no longer sees the conversation, nor its file.
    let me = common::get_ok(&tp, &t.token, "/auth/me").await;
    let r =
        common::post(&tp, &t.token, &format!("/conversations/{conversation}/assign"), &json!({"member_id": me["id"]}))
            .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(error_code(media_answer(&tp, &agent.token, &id).await, StatusCode::NOT_FOUND).await, "not_found");
}

/// An expired download URL (Meta's 404 "URL signature expired") is asked for again at once.
#[tokio::test]
async fn an_expired_media_url_is_fetched_again() {
    let (tp, t) = setup().await;
    let connection = common::connect_new(&tp, &t).await;
    let sim = common::simulator(&tp);
    sim.fail_next(meta_sim::Endpoint::DownloadMedia, meta_sim::ScriptedFault::ExpiredUrl);
    let sent = customer_sends(&tp, &connection, "919876500001", "image").await;
    let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let media = settled_media(&tp, &t.token, message["id"].as_str().unwrap(), 10).await;
    assert_eq!(media["status"], "ready", "{media}");
    let expected = sent_bytes(&tp, sent["media_id"].as_str().unwrap()).await;
    assert_eq!(download(&tp, &t.token, media["id"].as_str().unwrap()).await, expected);
}

/// A media id Meta does not know fails for good: `failed` with the reason, visible on the
/// message, and the file answers 422 `media_failed`.
#[tokio::test]
async fn media_meta_refuses_is_failed_with_the_reason() {
    let (tp, t) = setup().await;
    let connection = common::connect_new(&tp, &t).await;
    let sim = common::simulator(&tp);
    sim.fail_next(
        meta_sim::Endpoint::GetMedia,
        meta_sim::ScriptedFault::Rejected { code: 100, message: "Unsupported get request".into() },
    );
    let sent = customer_sends(&tp, &connection, "919876500002", "image").await;
    let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let media = settled_media(&tp, &t.token, message["id"].as_str().unwrap(), 10).await;
    assert_eq!(media["status"], "failed", "{media}");
    assert!(media["error"].as_str().is_some_and(|e| e.contains("Unsupported get request")), "{media}");
    let r = media_answer(&tp, &t.token, media["id"].as_str().unwrap()).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "media_failed");
}

// ---- outbound: files sent to customers -------------------------------------------------------

/// SPEC: upload → send an image (free-form, inside the window) → Meta received the same bytes,
/// uploaded once per file and number and sent by id → `read`. Outside the window, by link, or as
/// another kind than the file's: refused at acceptance.
#[tokio::test]
async fn an_uploaded_image_is_sent_by_id_and_meta_receives_its_bytes() {
    let (tp, t) = setup().await;
    let connection = common::connect_new(&tp, &t).await;
    let image = uploaded(&tp, &t.token, "menu.png", "image/png", PNG).await;
    let id = image["id"].as_str().unwrap();
    let send = |media: Value| {
        let tp = &tp;
        let token = t.token.clone();
        async move { common::post(tp, &token, "/messages", &json!({"to": "+919876500003", "media": media})).await }
    };
    // No conversation yet: outside the window.
    let r = send(json!({"kind": "image", "media_id": id})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "outside_service_window");

    common::customer_writes(&tp, &connection, "919876500003", "Can I see the menu?").await;
    let accepted = common::eventually(20, "the window opens", || async {
        let r = send(json!({"kind": "image", "media_id": id, "caption": "Today's menu"})).await;
        (r.status() == StatusCode::ACCEPTED).then_some(r)
    })
    .await;
    let message: Value = accepted.json().await.unwrap();
    let message_id = message["id"].as_str().unwrap().to_owned();
    let read = common::eventually(30, "the image is read", || async {
        let (_, m) = common::get_json(&tp, &t.token, &format!("/messages/{message_id}")).await;
        (m["status"] == "read").then_some(m)
    })
    .await;
    assert_eq!(read["kind"], "image");
    assert_eq!(read["media"]["id"], id);
    let sim = common::simulator(&tp);
    let sent = sim.sent_message(read["wamid"].as_str().unwrap()).expect("Meta got the message");
    assert_eq!(sent.media.len(), 1);
    let meta_id = sent.media[0].id.clone().expect("sent by id, not by link");
    assert_eq!(sent.media[0].link, None);
    assert_eq!(sent.media[0].sha256.as_deref(), Some(sha256_hex(PNG).as_str()));
    assert_eq!(sent.media[0].caption.as_deref(), Some("Today's menu"));
    assert_eq!(sim.media_bytes(&meta_id).await.unwrap(), PNG, "the bytes Meta received");

    // The same file again: Meta's id is reused, not uploaded twice.
    let r = send(json!({"kind": "image", "media_id": id})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let again: Value = r.json().await.unwrap();
    let again_id = again["id"].as_str().unwrap().to_owned();
    let wamid = common::eventually(30, "the second image is sent", || async {
        let (_, m) = common::get_json(&tp, &t.token, &format!("/messages/{again_id}")).await;
        m["wamid"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(sim.sent_message(&wamid).unwrap().media[0].id.as_deref(), Some(meta_id.as_str()));

    // Refused at acceptance.
    for (media, field, code) in [
        (json!({"kind": "document", "media_id": id}), "media.media_id", "kind_mismatch"),
        (json!({"kind": "image", "link": "https://cdn.example/menu.png"}), "media.link", "link_not_supported"),
        (json!({"kind": "image", "media_id": "med_nope"}), "media.media_id", "invalid_media_id"),
        (json!({"kind": "gif", "media_id": id}), "media.kind", "invalid"),
    ] {
        let r = send(media.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{media}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], field, "{media}: {body}");
        assert_eq!(body["error"]["details"][0]["code"], code, "{media}: {body}");
    }
}

/// The inbox reply takes `{media}` too (the `POST /messages` path): a PDF to the customer who
/// wrote, sent by Meta's id with its file name; the bytes Meta received are the upload's.
#[tokio::test]
async fn a_conversation_reply_sends_a_document() {
    let (tp, t) = setup().await;
    let connection = common::connect_new(&tp, &t).await;
    let pdf = uploaded(&tp, &t.token, "invoice-42.pdf", "application/pdf", PDF).await;
    let sent = common::customer_writes(&tp, &connection, "919876500004", "Please send the invoice").await;
    let inbound = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let conversation = inbound["conversation_id"].as_str().unwrap().to_owned();
    let body = json!({"media": {"kind": "document", "media_id": pdf["id"], "caption": "Your invoice"}});
    let r = common::post(&tp, &t.token, &format!("/conversations/{conversation}/messages"), &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let reply: Value = r.json().await.unwrap();
    assert_eq!((&reply["kind"], &reply["media"]["id"]), (&json!("document"), &pdf["id"]));
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    let wamid = common::eventually(30, "the document is sent", || async {
        let (_, m) = common::get_json(&tp, &t.token, &format!("/messages/{reply_id}")).await;
        m["wamid"].as_str().map(str::to_owned)
    })
    .await;
    let sim = common::simulator(&tp);
    let meta = sim.sent_message(&wamid).expect("Meta got the reply");
    assert_eq!(meta.media[0].filename.as_deref(), Some("invoice-42.pdf"));
    assert_eq!(meta.media[0].caption.as_deref(), Some("Your invoice"));
    assert_eq!(sim.media_bytes(meta.media[0].id.as_deref().unwrap()).await.unwrap(), PDF);
}

/// A media-header template's sample: an uploaded file goes to Meta through its Resumable Upload
/// API (the simulator keeps the bytes) and the handle is what the template's header example
/// takes; a file of another tenant or kind is refused on the field.
#[tokio::test]
async fn an_uploaded_file_becomes_a_template_samples_handle() {
    let (tp, t) = setup().await;
    common::connect_new(&tp, &t).await;
    let pdf = uploaded(&tp, &t.token, "invoice-sample.pdf", "application/pdf", PDF).await;
    let handle = miping::domain::templates::sample::upload(tp.ports(), &t.id, pdf["id"].as_str().unwrap(), "header")
        .await
        .expect("a handle");
    assert!(handle.starts_with("4::"), "{handle}");
    let sim = common::simulator(&tp);
    assert_eq!(sim.media_bytes(handle.rsplit(':').next().unwrap()).await.unwrap(), PDF, "the bytes Meta received");
    let body = json!({"name": "invoice_pdf", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": [handle]}},
        {"type": "BODY", "text": "Your invoice is attached."}
    ]});
    common::reviewed_template(&tp, &t, &body, "APPROVED").await;

    let other = provision_and_activate(&tp).await;
    let e = miping::domain::templates::sample::upload(tp.ports(), &other.id, pdf["id"].as_str().unwrap(), "header")
        .await
        .unwrap_err();
    assert_eq!((e.details[0].field.as_str(), e.details[0].code.as_str()), ("header", "invalid_media_id"));
}
