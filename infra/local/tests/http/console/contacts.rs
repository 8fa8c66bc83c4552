//! Console: the contacts pages (handler tests; browser scenarios in scenarios.rs).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A signed-in tenant admin's browser (a new tenant each time) and the tenant's API token.
async fn owner(tp: &common::TestPlatform) -> (Console, common::ActiveTenant) {
    let t = common::provision_and_activate(tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    (c, t)
}

pub const MESSY_CSV: &str = "phone,name,city,tags\n\
+91 98765 43210,Asha Rao,Pune,parents;batch-2026\n\
919876543210,Asha again,Pune,parents\n\
not a phone,Bad Bob,Delhi,vip\n\
,Nobody,Delhi,\n\
+1 415 555 0123,Lee Chen,San Francisco,vip\n";

#[tokio::test]
async fn an_empty_list_says_what_to_do_and_other_roles_are_refused() {
    let tp = common::start().await;
    let (mut c, _) = owner(&tp).await;
    let page = c.get("/app/contacts").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No contacts yet");
    assert!(page.body.contains("class=\"btn btn--primary\" href=\"/app/contacts/import\">Import contacts"));
    assert!(page.body.contains("href=\"/app/contacts/new\">Add contact"));

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for path in ["/app/contacts", "/app/contacts/new", "/app/contacts/import"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        r.assert_shows("Not available");
    }
    let signed_out = Console::new(&tp.base).get("/app/contacts").await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn adding_a_contact_shows_the_domains_error_next_to_the_phone_and_keeps_the_form() {
    let tp = common::start().await;
    let (mut c, t) = owner(&tp).await;
    c.get("/app/contacts/new").await;
    let form = [("phone", "12345"), ("name", "Asha Rao"), ("tags", "parents; batch-2026"), ("attributes", "city=Pune")];
    let r = c.post("/app/contacts", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("phone").is_some_and(|e| !e.is_empty()), "{}", r.body);
    assert!(r.body.contains("aria-invalid=\"true\" aria-describedby=\"f-phone-error"));
    assert_eq!(r.input_value("name").as_deref(), Some("Asha Rao"));
    assert_eq!(r.input_value("tags").as_deref(), Some("parents; batch-2026"));
    r.assert_shows("city=Pune");

    // A bad tag and a line that is not name=value: each next to its own field.
    let r = c.post("/app/contacts", &[("phone", "+919876543210"), ("tags", "ok, no!way")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("tags").unwrap().contains("tags are 1 to 64"), "{}", r.body);
    let r = c.post("/app/contacts", &[("phone", "+919876543210"), ("attributes", "city Pune")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("attributes").as_deref(), Some("line 1: write each attribute as name=value"));

    // With JavaScript: the form fragment, 422.
    c.hx = true;
    let r = c.post("/app/contacts", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.trim_start().starts_with("<form id=\"contact-form\""), "{}", r.body);
    c.hx = false;

    let fixed = [
        ("phone", "+91 98765 43210"),
        ("name", "Asha Rao"),
        ("tags", "parents; batch-2026"),
        ("attributes", "city=Pune"),
        ("opted_out", "1"),
    ];
    let r = c.post("/app/contacts", &fixed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/app/contacts"));
    let list = c.get("/app/contacts").await;
    list.assert_shows("Contact Asha Rao (+919876543210) added");
    list.assert_shows("+919876543210");
    list.assert_shows("opted out");
    // The API sees what the form said.
    let (_, contacts) = common::get_json(&tp, &t.token, "/contacts").await;
    let saved = &contacts["items"][0];
    assert_eq!(saved["tags"], json!(["parents", "batch-2026"]));
    assert_eq!(saved["attributes"], json!({"city": "Pune"}));
    assert_eq!(saved["opted_out"], json!(true));

    // The same phone again: the domain's conflict, next to the phone.
    let r = c.post("/app/contacts", &[("phone", "919876543210")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.field_error("phone").unwrap().starts_with("belongs to contact"), "{}", r.body);
}

#[tokio::test]
async fn search_and_tag_chips_filter_the_list_in_the_url() {
    let tp = common::start().await;
    let (mut c, t) = owner(&tp).await;
    for (phone, name, tags) in [
        ("+919876543210", "Asha Rao", vec!["parents"]),
        ("+14155550123", "Lee Chen", vec!["vip", "parents"]),
        ("+919812345678", "Sam Hill", vec![]),
    ] {
        let r = common::post(&tp, &t.token, "/contacts", &json!({"phone": phone, "name": name, "tags": tags})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let all = c.get("/app/contacts").await;
    for name in ["Asha Rao", "Lee Chen", "Sam Hill"] {
        all.assert_shows(name);
    }
    // Chips for the tags in use.
    assert!(all.body.contains("<a class=\"chip\" href=\"/app/contacts?tag=vip\">vip</a>"), "{}", all.body);
    assert!(all.body.contains("<a class=\"chip\" href=\"/app/contacts?tag=parents\">parents</a>"));

    let vip = c.get("/app/contacts?tag=vip").await;
    vip.assert_shows("Lee Chen");
    assert!(!vip.shows("Asha Rao") && !vip.shows("Sam Hill"));
    assert!(vip.body.contains("href=\"/app/contacts?tag=vip\" aria-current=\"true\""));

    let found = c.get("/app/contacts?q=asha").await;
    found.assert_shows("Asha Rao");
    assert!(!found.shows("Lee Chen"));
    assert_eq!(found.input_value("q").as_deref(), Some("asha"));
    let both = c.get("/app/contacts?q=lee&tag=parents").await;
    both.assert_shows("Lee Chen");
    assert!(!both.shows("Asha Rao"));

    let none = c.get("/app/contacts?q=nobody").await;
    none.assert_shows("No contacts match");
    none.assert_shows("Nobody matches “nobody”");
    let bad = c.get("/app/contacts?tag=no!way").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.field_error("tag").is_some(), "{}", bad.body);
}

#[tokio::test]
async fn load_more_pages_through_the_list_newest_first() {
    let tp = common::start().await;
    let (mut c, t) = owner(&tp).await;
    let csv: String = std::iter::once("phone,name".to_string())
        .chain((0..55).map(|i| format!("+1415555{:04},Person {i:02}", 1000 + i)))
        .collect::<Vec<_>>()
        .join("\n");
    let r = tp
        .http
        .post(tp.url("/contacts/import"))
        .bearer_auth(&t.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let first = c.get("/app/contacts").await;
    assert_eq!(first.body.matches("href=\"/app/contacts/con").count(), 50);
    let at = first.body.find("class=\"load-more\"").expect("a Load more row");
    let href_at = first.body[at..].find("href=\"").unwrap() + at + 6;
    let href = first.body[href_at..first.body[href_at..].find('"').unwrap() + href_at].replace("&#38;", "&");
    let plain = c.get(&href).await;
    assert_eq!(plain.body.matches("href=\"/app/contacts/con").count(), 5, "{href}: {}", plain.body);
    c.hx = true;
    let more = c.get(&href).await;
    assert_eq!(more.status, StatusCode::OK);
    assert!(more.body.trim_start().starts_with("<tr>"), "a fragment of rows: {}", more.body);
    assert_eq!(more.body.matches("href=\"/app/contacts/con").count(), 5);
    assert!(!more.body.contains("load-more"), "the last page has no Load more");
    c.hx = false;
    let tampered = c.get("/app/contacts?cursor=abc").await;
    assert_eq!(tampered.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn editing_changes_the_contact_and_deleting_asks_first_naming_it() {
    let tp = common::start().await;
    let (mut c, t) = owner(&tp).await;
    let r = common::post(&tp, &t.token, "/contacts", &json!({"phone": "+919876543210", "name": "Asha Rao", "attributes": {"city": "Pune", "roll": "7"}, "tags": ["parents"]})).await;
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let edit = c.get(&format!("/app/contacts/{id}")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert_eq!(edit.input_value("name").as_deref(), Some("Asha Rao"));
    assert_eq!(edit.input_value("tags").as_deref(), Some("parents"));
    edit.assert_shows("city=Pune\nroll=7");
    edit.assert_shows("Delete the contact “Asha Rao (+919876543210)”?");

    let r = c
        .post(
            &format!("/app/contacts/{id}"),
            &[("name", "Asha R."), ("tags", "parents, vip"), ("attributes", "city=Mumbai"), ("opted_out", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, saved) = common::get_json(&tp, &t.token, &format!("/contacts/{id}")).await;
    assert_eq!(saved["name"], "Asha R.");
    assert_eq!(saved["tags"], json!(["parents", "vip"]));
    assert_eq!(saved["attributes"], json!({"city": "Mumbai"}), "a removed line removes the attribute");
    assert_eq!(saved["opted_out"], json!(true));
    assert_eq!(saved["phone"], "+919876543210");
    let r = c.post(&format!("/app/contacts/{id}"), &[("name", "x".repeat(201).as_str())]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("name").unwrap().contains("at most 200"), "{}", r.body);

    // Without JavaScript, delete answers the confirmation page naming the contact.
    let r = c.post(&format!("/app/contacts/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("Delete the contact “Asha R. (+919876543210)”?");
    assert!(r.body.contains("name=\"confirmed\" value=\"1\""));
    let (status, _) = common::get_json(&tp, &t.token, &format!("/contacts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "not deleted before confirming");
    // Without the token: refused.
    let r = c.post_raw(&format!("/app/contacts/{id}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = c.post(&format!("/app/contacts/{id}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let list = c.get("/app/contacts").await;
    list.assert_shows("Contact Asha R. (+919876543210) deleted");
    let (status, _) = common::get_json(&tp, &t.token, &format!("/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // With JavaScript the dialog confirmed it: 204 and where to go.
    let r = common::post(&tp, &t.token, "/contacts", &json!({"phone": "+14155550123"})).await;
    let other = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    c.hx = true;
    let r = c.post(&format!("/app/contacts/{other}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "no confirmation header: the confirmation page");
    let confirmed = c.post(&format!("/app/contacts/{other}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(confirmed.status, StatusCode::NO_CONTENT);
    assert_eq!(confirmed.header("hx-location"), Some("/app/contacts"));
}

#[tokio::test]
async fn another_tenants_contact_is_not_found() {
    let tp = common::start().await;
    let (mut c, _) = owner(&tp).await;
    let other = common::provision_and_activate(&tp).await;
    let r = common::post(&tp, &other.token, "/contacts", &json!({"phone": "+919876543210", "name": "Theirs"})).await;
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = c.get(&format!("/app/contacts/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    r.assert_shows("Page not found");
    assert!(!r.shows("Theirs"));
    c.get("/app/contacts").await;
    let r = c.post(&format!("/app/contacts/{id}"), &[("name", "Mine now")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.post(&format!("/app/contacts/{id}/delete"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (_, still) = common::get_json(&tp, &other.token, &format!("/contacts/{id}")).await;
    assert_eq!(still["name"], "Theirs");
}

#[tokio::test]
async fn a_messy_csv_upload_shows_a_report_a_person_understands() {
    let tp = common::start().await;
    let (mut c, t) = owner(&tp).await;
    let form = c.get("/app/contacts/import").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    assert!(form.body.contains("<label for=\"f-file\">CSV file</label>"));

    // Without the CSRF field (nor the header): refused, nothing imported.
    let r = c.post_file("/app/contacts/import", false, &[], ("file", "contacts.csv", MESSY_CSV.as_bytes())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (_, none) = common::get_json(&tp, &t.token, "/contacts").await;
    assert_eq!(none["items"], json!([]));

    let r = c.post_file("/app/contacts/import", true, &[], ("file", "contacts.csv", MESSY_CSV.as_bytes())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.assert_shows("Import report");
    let stat = |label: &str| {
        let at = r
            .body
            .find(&format!("<span class=\"stat__label\">{label}</span><span class=\"stat__value\">"))
            .unwrap_or_else(|| panic!("{label}: {}", r.body));
        let start = r.body[at..].find("stat__value\">").unwrap() + at + "stat__value\">".len();
        r.body[start..start + r.body[start..].find('<').unwrap()].to_string()
    };
    assert_eq!(stat("Added"), "2");
    assert_eq!(stat("Updated"), "0");
    assert_eq!(stat("Duplicates skipped"), "1");
    assert_eq!(stat("Not imported"), "2");
    // Each bad row: its number in the file, the phone as written, the problem.
    assert!(r.body.contains("<td class=\"num\">3</td><td>not a phone</td>"), "{}", r.body);
    assert!(r.body.contains("<td class=\"num\">4</td><td><span class=\"muted\">empty</span></td>"), "{}", r.body);
    let (_, saved) = common::get_json(&tp, &t.token, "/contacts?tag=batch-2026").await;
    assert_eq!(saved["items"][0]["phone"], "+919876543210");
    assert_eq!(saved["items"][0]["tags"], json!(["parents", "batch-2026"]));

    // The same file again: everything known, so updated, nothing added.
    let again = c.post_file("/app/contacts/import", true, &[], ("file", "contacts.csv", MESSY_CSV.as_bytes())).await;
    assert!(again.body.contains("Updated</span><span class=\"stat__value\">2<"), "{}", again.body);

    // A file the domain cannot read: its words next to the file field.
    let r = c.post_file("/app/contacts/import", true, &[], ("file", "x.csv", b"name,city\nAsha,Pune\n")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.field_error("file").is_some_and(|e| e.to_lowercase().contains("phone")), "{}", r.body);
    let r = c.post_file("/app/contacts/import", true, &[], ("file", "", b"")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("file").as_deref(), Some("Choose a CSV file to import."));
}
