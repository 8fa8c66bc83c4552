//! Console: media in the inbox — the thread's previews and document links, what a file that is
//! not ready says, the console's file route (the API's tenant and agent scope), and files sent
//! from the reply box (multipart, without JavaScript). The browser scenario is in scenarios.rs.

use miping::ports::table::Update;
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, TestPlatform};
use crate::media::{ELF, PDF, inbound_message, sent_bytes, settled_media};

async fn browser(tp: &TestPlatform, email: &str, password: &str) -> Console {
    let mut c = Console::new(&tp.base);
    c.sign_in(email, password).await;
    c
}

/// A customer at `from` sends a generated file of `kind` (the simulator's `/_sim/inbound`).
async fn customer_sends(tp: &TestPlatform, connection: &Value, from: &str, kind: &str) -> Value {
    let body = json!({"phone_number_id": connection["phone_number_id"], "from": from, "type": kind});
    let r =
        tp.http.post(format!("{}/_sim/inbound", common::simulator(tp).base_url())).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "the simulator took the inbound {kind}");
    r.json().await.unwrap()
}

/// Sets a media item's status (and error) as the fetch or the retention sweep would.
async fn set_status(tp: &TestPlatform, tenant_id: &str, media_id: &str, status: &str, error: Option<&str>) {
    let mut update = Update::new().set("status", status);
    if let Some(e) = error {
        update = update.set("error", e);
    }
    tp.ports().table.update(&keys::media(tenant_id, media_id), update, None).await.unwrap();
}

#[tokio::test]
async fn a_customers_photo_shows_in_the_thread_and_its_file_is_the_teams_only() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let sent = customer_sends(&tp, &connection, "14155550801", "image").await;
    let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let media = settled_media(&tp, &t.token, message["id"].as_str().unwrap(), 30).await;
    assert_eq!(media["status"], "ready", "{media}");
    let (conversation, media_id) = (message["conversation_id"].as_str().unwrap(), media["id"].as_str().unwrap());
    let file = format!("/app/media/{media_id}");

    let mut c = browser(&tp, &t.email, &t.password).await;
    let page = c.get(&format!("/app/inbox/{conversation}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let img = format!("<img src=\"{file}\" alt=\"Photo from ");
    assert!(page.body.contains(&img), "an image preview with its text alternative:\n{}", page.body);
    let thread =
        &page.body[page.body.find("id=\"thread-items\"").unwrap()..page.body.find("id=\"window-note\"").unwrap()];
    assert!(!thread.contains("[image]"), "no placeholder for a ready photo in the thread");

    // A voice note: a player with its label; a video likewise.
    for (kind, from, tag) in [("audio", "14155550811", "<audio"), ("video", "14155550812", "<video")] {
        let sent = customer_sends(&tp, &connection, from, kind).await;
        let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
        let media = settled_media(&tp, &t.token, message["id"].as_str().unwrap(), 30).await;
        let page = c.get(&format!("/app/inbox/{}", message["conversation_id"].as_str().unwrap())).await;
        let player = format!("{tag} id=\"file-{0}\" src=\"/app/media/{0}\" controls", media["id"].as_str().unwrap());
        assert!(page.body.contains(&player), "{kind}: {}", page.body);
        let label = if kind == "audio" { "aria-label=\"Audio message from " } else { "aria-label=\"Video from " };
        assert!(page.body.contains(label), "{kind}: labelled");
    }

    // The file itself, as the customer sent it, through the console's own route.
    let r = c.get(&file).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), sent["mime_type"].as_str());
    assert!(r.header("content-security-policy").is_some_and(|p| p.contains("sandbox")));
    let expected = sent_bytes(&tp, sent["media_id"].as_str().unwrap()).await;
    let bytes = reqwest::Client::new()
        .get(format!("{}{file}", tp.base))
        .header("cookie", c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.to_vec(), expected, "the bytes the customer sent");

    // Another tenant's team: the 404 page, never the file. The super admin: not a team page.
    let other = common::provision_and_activate(&tp).await;
    let mut theirs = browser(&tp, &other.email, &other.password).await;
    let r = theirs.get(&file).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    r.assert_shows("Page not found");
    let r = c.get("/app/media/med_nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let mut platform = browser(&tp, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(platform.get(&file).await.status, StatusCode::FORBIDDEN);
    assert_eq!(Console::new(&tp.base).get(&file).await.status, StatusCode::SEE_OTHER, "signed out");

    // An agent sees it while the conversation is unassigned, not once it is someone else's.
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let mut a = browser(&tp, &agent.email, &agent.password).await;
    assert_eq!(a.get(&file).await.status, StatusCode::OK, "unassigned: the agent's to see");
    let me = common::get_ok(&tp, &t.token, "/auth/me").await;
    let r =
        common::post(&tp, &t.token, &format!("/conversations/{conversation}/assign"), &json!({"member_id": me["id"]}))
            .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = a.get(&file).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another's conversation's file");
}

#[tokio::test]
async fn a_file_that_is_not_ready_says_why_never_silently() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let sent = customer_sends(&tp, &connection, "14155550802", "document").await;
    let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let media = settled_media(&tp, &t.token, message["id"].as_str().unwrap(), 30).await;
    let (conversation, media_id) = (message["conversation_id"].as_str().unwrap(), media["id"].as_str().unwrap());
    let (file, thread) = (format!("/app/media/{media_id}"), format!("/app/inbox/{conversation}"));
    let mut c = browser(&tp, &t.email, &t.password).await;

    // Ready: a download link with its name and size.
    let page = c.get(&thread).await;
    let link = format!("<a class=\"attachment\" href=\"{file}\" download=\"");
    assert!(page.body.contains(&link), "a download link:\n{}", page.body);
    assert!(page.body.contains("class=\"attachment__size\">"), "its size");
    let r = c.get(&file).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-disposition").is_some_and(|d| d.starts_with("attachment")), "a download");

    for (status, error, shows, code) in [
        ("pending", None, "Downloading the document from WhatsApp…", StatusCode::CONFLICT),
        (
            "failed",
            Some("Meta answered 100: Unsupported get request"),
            "The document could not be downloaded from WhatsApp: Meta answered 100: Unsupported get request",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("expired", None, "The document was deleted after the plan's retention period", StatusCode::GONE),
    ] {
        set_status(&tp, &t.id, media_id, status, error).await;
        let page = c.get(&thread).await;
        page.assert_shows(shows);
        assert!(page.body.contains(&format!("attachment--{status}")), "{status}");
        assert!(!page.body.contains(&link), "{status}: no link to a file that is not there");
        // The live poll carries the same thread.
        c.hx = true;
        let live = c.get(&format!("/app/inbox/live?c={conversation}")).await;
        c.hx = false;
        live.assert_shows(shows);
        assert_eq!(c.get(&file).await.status, code, "{status}");
    }
}

/// The reply form of the conversation page, without JavaScript: multipart with the file input.
#[tokio::test]
async fn an_agent_sends_a_pdf_from_the_reply_box_and_refusals_show_next_to_the_file() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let sent = common::customer_writes(&tp, &connection, "14155550803", "Please send the invoice").await;
    let inbound = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let conversation = inbound["conversation_id"].as_str().unwrap().to_owned();
    let thread = format!("/app/inbox/{conversation}");
    let reply = format!("{thread}/reply");
    let agent = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let mut c = browser(&tp, &agent.email, &agent.password).await;
    let page = c.get(&thread).await;
    assert!(page.body.contains("enctype=\"multipart/form-data\""), "the reply form carries files");
    assert!(page.body.contains("<label class=\"small\" for=\"reply-file\">"), "a labelled file input");
    assert!(page.body.contains("id=\"reply-file\" name=\"file\" type=\"file\" accept=\"image/jpeg,"));
    assert!(page.body.contains("data-drop=\"#reply-file\""), "drag and drop onto the conversation");

    // Refused before anything is stored: an executable named .png (415), an image over 5 MB
    // (413) — next to the file input, the caption kept.
    let fields = [("next", thread.as_str()), ("text", "Your invoice")];
    let r = c.post_file_as(&reply, true, &fields, ("file", "invoice.png", ELF), "image/png").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(r.field_error("file").is_some(), "{}", r.body);
    assert!(r.body.contains(">Your invoice</textarea>"), "the caption is kept");
    let mut big = crate::media::PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let r = c.post_file_as(&reply, true, &fields, ("file", "big.png", &big), "image/png").await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.field_error("file").is_some_and(|e| e.contains("5 MB") || e.contains("larger")), "{}", r.body);
    // Without the form's CSRF token: refused.
    let r = c.post_file_as(&reply, false, &fields, ("file", "invoice-42.pdf", PDF), "application/pdf").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The PDF with its caption: sent, and the thread shows the document.
    let r = c.post_file_as(&reply, true, &fields, ("file", "invoice-42.pdf", PDF), "application/pdf").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(thread.as_str()));
    let page = c.get(&thread).await;
    page.assert_shows("invoice-42.pdf");
    page.assert_shows("Your invoice");
    let (_, messages) = common::get_json(&tp, &t.token, &format!("/conversations/{conversation}/messages")).await;
    let doc = messages["items"].as_array().unwrap().iter().find(|m| m["kind"] == "document").expect("the reply");
    let (doc_id, media_id) = (doc["id"].as_str().unwrap().to_owned(), doc["media"]["id"].as_str().unwrap().to_owned());
    assert!(page.body.contains(&format!("href=\"/app/media/{media_id}\"")), "linked");
    let wamid = common::eventually(30, "the document is sent", || async {
        let (_, m) = common::get_json(&tp, &t.token, &format!("/messages/{doc_id}")).await;
        m["wamid"].as_str().map(str::to_owned)
    })
    .await;
    let sim = common::simulator(&tp);
    let meta = sim.sent_message(&wamid).expect("Meta got the reply");
    assert_eq!(meta.media[0].filename.as_deref(), Some("invoice-42.pdf"));
    assert_eq!(meta.media[0].caption.as_deref(), Some("Your invoice"));
    assert_eq!(sim.media_bytes(meta.media[0].id.as_deref().unwrap()).await.unwrap(), PDF, "the bytes Meta received");

    // With JavaScript (the same form through fetch): the pane again and a toast.
    c.hx = true;
    let r = c
        .post_file_as(&reply, true, &[("next", thread.as_str())], ("file", "menu.png", crate::media::PNG), "image/png")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.header("hx-trigger").is_some_and(|h| h.contains("Message sent")));
    c.hx = false;

    // The window closed: the file is refused, and the page says so.
    let aged = Update::new()
        .set("last_inbound_at", (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339())
        .set("last_inbound_ms", (chrono::Utc::now() - chrono::Duration::hours(25)).timestamp_millis());
    tp.ports().table.update(&miping::domain::inbox::conversation_key(&t.id, &conversation), aged, None).await.unwrap();
    let r = c.post_file_as(&reply, true, &fields, ("file", "invoice-43.pdf", PDF), "application/pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("The file was not sent:"), "{}", r.body);
}
