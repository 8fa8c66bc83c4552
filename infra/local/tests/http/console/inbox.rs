//! Console: the inbox (handler tests; the browser scenario is in scenarios.rs).

use std::time::Duration;

use chrono::Utc;
use miping::domain::inbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A signed-in browser.
async fn browser(tp: &common::TestPlatform, email: &str, password: &str) -> Console {
    let mut c = Console::new(&tp.base);
    c.sign_in(email, password).await;
    c
}

/// The first conversation the admin's API lists, once a customer's message made one.
async fn first_conversation(tp: &common::TestPlatform, token: &str) -> String {
    common::eventually(20, "the customer's conversation", || async {
        let list = common::get_ok(tp, token, "/conversations").await;
        list["items"][0]["id"].as_str().map(str::to_string)
    })
    .await
}

/// GETs `path` every 100 ms until `pred` holds (20 s at most).
async fn poll(c: &mut Console, path: &str, pred: impl Fn(&super::Page) -> bool) -> super::Page {
    for _ in 0..200 {
        let p = c.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        if pred(&p) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never showed what was expected");
}

/// A contact with `phone` and a conversation whose customer last wrote `ago_secs` ago.
async fn conversation_with(
    tp: &common::TestPlatform,
    t: &common::ActiveTenant,
    phone: &str,
    text: &str,
    ago_secs: i64,
) -> String {
    let r =
        common::post(tp, &t.token, "/contacts", &json!({"phone": phone, "name": format!("Customer {phone}")})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let contact = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let at = Utc::now().timestamp() - ago_secs;
    let wamid = format!("wamid.{phone}.{at}");
    let msg = common::inbound_message(phone.trim_start_matches('+'), &wamid, text, at);
    inbox::record_inbound(tp.ports(), &t.id, &contact, &msg).await.unwrap();
    inbox::conversation_id(&contact)
}

#[tokio::test]
async fn an_empty_inbox_says_what_to_do_and_other_roles_are_refused() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let mut c = browser(&tp, &t.email, &t.password).await;
    let page = c.get("/app/inbox").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No conversations yet");
    page.assert_shows("Pick a conversation");
    assert!(page.body.contains("<title>Inbox ·"), "no unread count in the title");
    assert!(page.body.contains("data-hx-trigger=\"every 2s\""), "the list polls");
    assert!(page.body.contains("href=\"/app/inbox\" aria-current=\"page\""), "the nav marks the inbox");

    let mut platform = browser(&tp, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for path in ["/app/inbox", "/app/inbox/cnv_nothing", "/app/inbox/live"] {
        let r = platform.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        r.assert_shows("Not available");
    }
    let signed_out = Console::new(&tp.base).get("/app/inbox").await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    // Another tenant's conversation, and one that does not exist: the 404 page.
    let other = common::provision_and_activate(&tp).await;
    let theirs = conversation_with(&tp, &other, "+14155550111", "Hello?", 60).await;
    for id in [theirs.as_str(), "cnv_nothing"] {
        let r = c.get(&format!("/app/inbox/{id}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}");
        r.assert_shows("Page not found");
    }
}

#[tokio::test]
async fn a_customer_message_shows_live_and_the_reply_reaches_the_phone() {
    let tp = common::start().await;
    let (t, connection) = common::ready_to_send(&tp).await;
    let r = common::post(
        &tp,
        &t.token,
        "/canned-replies",
        &json!({"shortcut": "pay", "text": "Hi {{contact.name}}, yes you can."}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let canned_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let mut c = browser(&tp, &t.email, &t.password).await;
    let page = c.get("/app/inbox").await;
    page.assert_shows("No conversations yet");

    // The page's poll: the new message, and the unread count in the tab title.
    common::customer_writes(&tp, &connection, "14155550701", "Can I pay tomorrow?").await;
    c.hx = true;
    let live = poll(&mut c, "/app/inbox/live", |p| p.shows("Can I pay tomorrow?")).await;
    assert!(live.body.trim_start().starts_with("<title>(1) Inbox ·"), "{}", live.body);
    assert!(live.body.contains("convo--unread"));
    c.hx = false;
    let id = first_conversation(&tp, &t.token).await;

    // Opening it shows the thread and the window, and marks it read.
    let page = c.get(&format!("/app/inbox/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("Can I pay tomorrow?");
    page.assert_shows("Reply window closes in 23 h");
    page.assert_shows("Insert canned reply");
    let conv = common::get_ok(&tp, &t.token, &format!("/conversations/{id}")).await;
    assert_eq!(conv["unread_count"], 0, "opening it marked it read");

    // Canned replies: `/pa` offers `/pay`; inserting renders it for this contact.
    let r = c.post(&format!("/app/inbox/{id}/suggest"), &[("text", "Sure /pa")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("/pay") && r.body.contains(&format!("value=\"{canned_id}\"")), "{}", r.body);
    let r = c.post(&format!("/app/inbox/{id}/suggest"), &[("text", "no shortcut here")]).await;
    assert!(!r.body.contains("/pay"));
    let r = c.post(&format!("/app/inbox/{id}/canned"), &[("text", "/pa"), ("canned_id", &canned_id)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let name = conv["contact"]["name"].as_str().unwrap_or_default().to_string();
    assert!(r.body.contains(&format!(" autofocus>Hi {name}, yes you can.</textarea>")), "{}", r.body);

    // A reply: back to the conversation with a toast, in the thread, on the customer's phone.
    let next = format!("/app/inbox/{id}?view=mine");
    let r = c.post(&format!("/app/inbox/{id}/reply"), &[("text", "Yes, of course"), ("next", &next)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(next.as_str()));
    let page = c.get(&format!("/app/inbox/{id}")).await;
    page.assert_shows("Yes, of course");
    page.assert_shows("Message sent");
    let sim = common::simulator(&tp);
    common::until(20, "the reply reaches the phone", || async {
        sim.sent_messages().iter().any(|m| m.body["text"]["body"] == "Yes, of course")
    })
    .await;
    // The open page's poll carries the thread and the window too.
    c.hx = true;
    let live = c.get(&format!("/app/inbox/live?c={id}")).await;
    c.hx = false;
    assert!(live.body.contains("id=\"thread-items\" data-hx-oob") && live.shows("Yes, of course"), "{}", live.body);
    assert!(live.body.contains("id=\"window-note\" data-hx-oob"));
    // Its ticks follow the status (the simulator delivers it).
    poll(&mut c, &format!("/app/inbox/{id}"), |p| {
        p.body.contains("aria-label=\"delivered\"") || p.body.contains("aria-label=\"read\"")
    })
    .await;

    // An empty reply: 422, the error next to the box.
    let r = c.post(&format!("/app/inbox/{id}/reply"), &[("text", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("aria-describedby=\"reply-error\""), "{}", r.body);
    r.assert_shows("must be 1 to 4096 characters");

    // A note: in the thread, labelled internal, never sent.
    let r = c.post(&format!("/app/inbox/{id}/note"), &[("text", "Ask accounts about the fee")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/app/inbox/{id}")).await;
    assert!(page.body.contains("msg msg--note"));
    page.assert_shows("Internal note ·");
    page.assert_shows("Ask accounts about the fee");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        sim.sent_messages().iter().all(|m| !serde_json::to_string(&m.body).unwrap().contains("Ask accounts")),
        "the note never reaches WhatsApp"
    );
    let r = c.post(&format!("/app/inbox/{id}/note"), &[("text", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("aria-describedby=\"note-error\""));

    // Assign to me, resolve, reopen.
    let r = c.post(&format!("/app/inbox/{id}/assign"), &[("member_id", "me")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/app/inbox/{id}")).await;
    page.assert_shows("Assigned to you");
    page.assert_shows("assigned to you");
    let conv = common::get_ok(&tp, &t.token, &format!("/conversations/{id}")).await;
    assert!(conv["assignee"]["id"].is_string());
    let r = c.post(&format!("/app/inbox/{id}/resolve"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/app/inbox/{id}")).await;
    page.assert_shows("Conversation resolved");
    assert!(page.body.contains(">Reopen</button>"));
    assert_eq!(common::get_ok(&tp, &t.token, &format!("/conversations/{id}")).await["status"], "resolved");
    let r = c.post(&format!("/app/inbox/{id}/reopen"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(common::get_ok(&tp, &t.token, &format!("/conversations/{id}")).await["status"], "open");

    // With console.js: the pane comes back with a toast.
    c.hx = true;
    let r = c.post(&format!("/app/inbox/{id}/reply"), &[("text", "One more thing")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.starts_with("\n  <section class=\"inbox__thread\" id=\"conversation\"")
            || r.body.contains("id=\"conversation\"")
    );
    assert!(r.header("hx-trigger").is_some_and(|h| h.contains("Message sent")));
    c.hx = false;

    // Without the CSRF token: refused, nothing sent.
    let before = sim.sent_messages().len();
    let r = c.post_raw(&format!("/app/inbox/{id}/reply"), &[("text", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_shows("This form has expired");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sim.sent_messages().iter().skip(before).all(|m| m.body["text"]["body"] != "forged"));
}

#[tokio::test]
async fn the_list_filters_live_in_the_url() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let asha = conversation_with(&tp, &t, "+14155550201", "Fees?", 120).await;
    let ravi = conversation_with(&tp, &t, "+14155550202", "Sunday?", 60).await;
    let r = common::post(&tp, &t.token, &format!("/conversations/{asha}/assign"), &json!({"member_id": null})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut c = browser(&tp, &t.email, &t.password).await;
    // Ravi's conversation becomes the admin's own and read; Asha's stays unassigned and unread.
    c.post(&format!("/app/inbox/{ravi}/assign"), &[("member_id", "me")]).await;
    c.get(&format!("/app/inbox/{ravi}")).await;
    let contact = common::get_ok(&tp, &t.token, &format!("/conversations/{asha}")).await["contact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{contact}")))
        .bearer_auth(&t.token)
        .json(&json!({"tags": ["parents"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let shows = |body: &str, phone: &str| body.contains(&format!("Customer {phone}"));
    let all = c.get("/app/inbox").await;
    assert!(shows(&all.body, "+14155550201") && shows(&all.body, "+14155550202"));
    assert!(all.body.contains("<title>(1) Inbox"), "one conversation is unread");
    let cases = [
        ("/app/inbox?view=mine", false, true),
        ("/app/inbox?view=unassigned", true, false),
        ("/app/inbox?unread=true", true, false),
        ("/app/inbox?tag=parents", true, false),
        ("/app/inbox?q=0202", false, true),
        ("/app/inbox?status=resolved", false, false),
    ];
    for (path, asha_shown, ravi_shown) in cases {
        let p = c.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert_eq!(
            (shows(&p.body, "+14155550201"), shows(&p.body, "+14155550202")),
            (asha_shown, ravi_shown),
            "{path}"
        );
    }
    // A system entry (an opt-out) shows in the thread on its own; a reply that fails shows
    // Meta's reason (this tenant never connected WhatsApp, so the send fails).
    let at = Utc::now();
    inbox::record_system(tp.ports(), &t.id, &contact, "msg_system_1", "Opted out (STOP)", at).await.unwrap();
    let page = c.get(&format!("/app/inbox/{asha}")).await;
    assert!(
        page.body.contains("<div class=\"msg msg--system\"><p class=\"msg__body\">Opted out (STOP)</p>"),
        "{}",
        page.body
    );
    let r = c.post(&format!("/app/inbox/{ravi}/reply"), &[("text", "Sunday, 10 to 1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let failed = poll(&mut c, &format!("/app/inbox/{ravi}"), |p| p.body.contains("msg--failed")).await;
    assert!(failed.body.contains("aria-label=\"failed\""));
    assert!(failed.body.contains("<span class=\"reason\">"), "Meta's reason under the message: {}", failed.body);

    let none = c.get("/app/inbox?status=resolved").await;
    none.assert_shows("No conversations match");
    // A conversation's links keep the filters.
    let p = c.get("/app/inbox?view=unassigned&tag=parents").await;
    assert!(p.body.contains(&format!("href=\"/app/inbox/{asha}?view=unassigned&#38;tag=parents\"")), "{}", p.body);
    assert!(p.body.contains("data-hx-get=\"/app/inbox/live?view=unassigned&#38;tag=parents\""));
}

#[tokio::test]
async fn an_agent_sees_only_their_own_and_the_unassigned_and_another_agents_is_404() {
    let tp = common::start().await;
    let t = common::provision_and_activate(&tp).await;
    let ann = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let bob = common::invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let hers = conversation_with(&tp, &t, "+14155550301", "For Ann", 180).await;
    let his = conversation_with(&tp, &t, "+14155550302", "For Bob", 120).await;
    let open = conversation_with(&tp, &t, "+14155550303", "For anyone", 60).await;
    for (conv, member) in [(&hers, &ann.id), (&his, &bob.id)] {
        let r =
            common::post(&tp, &t.token, &format!("/conversations/{conv}/assign"), &json!({"member_id": member})).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut c = browser(&tp, &ann.email, &ann.password).await;
    // The start page is the inbox; the navigation is Inbox and Contacts.
    let home = c.get("/").await;
    assert_eq!(home.location(), Some("/app/inbox"));
    let page = c.get("/app/inbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/app/inbox\" aria-current=\"page\""));
    assert!(page.body.contains("href=\"/app/contacts\""));
    assert!(!page.body.contains("href=\"/app/campaigns\""));
    assert!(page.body.contains(">All</a>"), "an agent has the All view too (SPEC → Console)");
    page.assert_shows("For Ann");
    assert!(!page.shows("For Bob") && !page.shows("For anyone"), "Mine is the agent's default");
    let page = c.get("/app/inbox?view=unassigned").await;
    page.assert_shows("For anyone");
    assert!(!page.shows("For Bob"));
    // An agent's All is everything they may see: theirs and the unassigned, never another's.
    let page = c.get("/app/inbox?view=all").await;
    page.assert_shows("For Ann");
    page.assert_shows("For anyone");
    assert!(!page.shows("For Bob"));

    // Bob's conversation does not exist for Ann, whatever she tries.
    let r = c.get(&format!("/app/inbox/{his}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    r.assert_shows("Page not found");
    for (action, fields) in [
        ("reply", vec![("text", "hello")]),
        ("note", vec![("text", "mine")]),
        ("resolve", vec![]),
        ("assign", vec![("member_id", "me")]),
        ("canned", vec![("canned_id", "cnr_x")]),
    ] {
        let r = c.post(&format!("/app/inbox/{his}/{action}"), &fields).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}");
    }
    // She takes the open one; it is hers now.
    let r = c.post(&format!("/app/inbox/{open}/assign"), &[("member_id", "me")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/app/inbox").await;
    page.assert_shows("For anyone");
    // Admin pages stay closed to her; contacts are hers to read, add and edit, not to import or
    // delete (the API's route table: SPEC → Roles).
    for path in ["/app/campaigns", "/app/templates", "/app/members", "/app/settings", "/app/contacts/import"] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        r.assert_shows("Not available");
    }
    let contacts = c.get("/app/contacts").await;
    assert_eq!(contacts.status, StatusCode::OK);
    contacts.assert_shows("Customer +14155550301");
    assert!(!contacts.body.contains("href=\"/app/contacts/import\""), "no import for agents");
    let r = c.post("/app/contacts", &[("phone", "+14155550399"), ("name", "Walk-in"), ("tags", "new")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let walk_in =
        common::get_ok(&tp, &t.token, "/contacts?q=Walk-in").await["items"][0]["id"].as_str().unwrap().to_string();
    let form = c.get(&format!("/app/contacts/{walk_in}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(!form.body.contains("Delete contact"), "no delete for agents");
    let r = c.post(&format!("/app/contacts/{walk_in}"), &[("name", "Walk-in Customer"), ("tags", "new, vip")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = c.post(&format!("/app/contacts/{walk_in}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(common::get_ok(&tp, &t.token, &format!("/contacts/{walk_in}")).await["name"], "Walk-in Customer");
}

#[tokio::test]
async fn outside_the_window_the_reply_box_is_a_template_picker() {
    let tp = common::start().await;
    let (t, _connection) = common::ready_to_send(&tp).await;
    let id = conversation_with(&tp, &t, "+14155550401", "Hi", 25 * 3600).await;
    let mut c = browser(&tp, &t.email, &t.password).await;
    let page = c.get(&format!("/app/inbox/{id}")).await;
    page.assert_shows("The 24-hour reply window is closed");
    assert!(!page.body.contains("id=\"reply\""), "no free-text box");
    // The only approved template is chosen, its variables labelled.
    assert!(page.body.contains("value=\"order_update|en_US\" selected"), "{}", page.body);
    page.assert_shows("Variable {{1}}");
    page.assert_shows("Variable {{2}}");

    // Free text is refused in the API's words; the picker stays.
    let r = c.post(&format!("/app/inbox/{id}/reply"), &[("text", "Hello again")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_shows("The customer has not written in the last 24 hours");
    // A template with its variables reaches the phone.
    let r = c
        .post(
            &format!("/app/inbox/{id}/reply"),
            &[("template", "order_update|en_US"), ("var_1", "Ana"), ("var_2", "A-7")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sim = common::simulator(&tp);
    common::until(20, "the template reaches the phone", || async {
        sim.sent_messages().iter().any(|m| m.to == "14155550401" && m.body["template"]["name"] == "order_update")
    })
    .await;
    let page = c.get(&format!("/app/inbox/{id}")).await;
    page.assert_shows("Template “order_update”");
    // A wrong variable count: the domain's error next to the picker.
    let r = c.post(&format!("/app/inbox/{id}/reply"), &[("template", "order_update|en_US"), ("var_1", "Ana")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"variables-error\">this template takes 2 variable(s), got 1"), "{}", r.body);
    assert_eq!(r.input_value("var_1").as_deref(), Some("Ana"), "the values are kept");
}
