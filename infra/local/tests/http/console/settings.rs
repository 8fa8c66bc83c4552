//! Console: the settings pages (handler tests; browser scenarios in scenarios.rs): API keys,
//! the callback, billing.

use reqwest::StatusCode;
use serde_json::json;

use super::{Console, with};
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD, ActiveTenant, TestPlatform};

async fn owner(tp: &TestPlatform) -> (ActiveTenant, Console) {
    let t = common::provision_and_activate(tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    (t, c)
}

/// An external API read that the key may make (an unknown message: 404, not 401).
const NO_MESSAGE: &str = "/api/v1/messages/msg_01jd5xa1b2c3d4e5f6g7h8j9k0";

/// The text of `<code id="{id}">…</code>`.
fn code_text(body: &str, id: &str) -> Option<String> {
    let marker = format!("<code id=\"{id}\">");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..start + body[start..].find('<')?].to_owned())
}

#[tokio::test]
async fn empty_settings_say_what_to_do() {
    let tp = common::start().await;
    let (_, mut c) = owner(&tp).await;
    let page = c.get("/app/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("No API keys yet");
    page.assert_shows("Set a callback URL above");
    assert!(page.body.contains("<label for=\"f-url\">Callback URL</label>"));
}

#[tokio::test]
async fn an_api_key_is_shown_once_works_and_is_revoked_after_confirming() {
    let tp = common::start().await;
    let (_, mut c) = owner(&tp).await;
    c.get("/app/settings").await;
    let r = c.post("/app/settings/api-keys", &[("name", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("name").unwrap().starts_with("a name of 1 to 100 characters"), "{:?}", r.field_error("name"));

    let r = c.post("/app/settings/api-keys", &[("name", "ERP <production>")]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("you will not see it again");
    let key = code_text(&r.body, "new-api-key").expect("the key is shown");
    assert!(key.starts_with("mip_live_"), "{key}");
    assert!(r.body.contains("data-copy=\"#new-api-key\""), "with a copy button");
    // The key works on the external API.
    let api = tp.http.get(tp.url(NO_MESSAGE)).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);

    // Never again: the list has its name and prefix only.
    let page = c.get("/app/settings").await;
    page.assert_shows("ERP <production>");
    assert!(!page.body.contains(&key));
    let at = page.body.find("/app/settings/api-keys/key_").unwrap() + "/app/settings/api-keys/".len();
    let id = page.body[at..at + page.body[at..].find('/').unwrap()].to_owned();

    let path = format!("/app/settings/api-keys/{id}/revoke");
    let r = c.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("Revoke the API key “ERP <production>”?");
    let api = tp.http.get(tp.url(NO_MESSAGE)).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND, "not revoked before confirming");
    c.hx = true;
    let r = c.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "console.js's request without HX-Confirmed asks too");
    c.hx = false;
    let r = c.post(&path, &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get("/app/settings").await;
    page.assert_shows("API key “ERP <production>” revoked");
    page.assert_shows("No API keys yet");
    let api = tp.http.get(tp.url(NO_MESSAGE)).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_tenants_key_is_not_found_and_forms_need_their_token() {
    let tp = common::start().await;
    let (other, _) = owner(&tp).await;
    let r = common::post(&tp, &other.token, "/api-keys", &json!({"name": "theirs"})).await;
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let (_, mut c) = owner(&tp).await;
    c.get("/app/settings").await;
    let r = c.post(&format!("/app/settings/api-keys/{id}/revoke"), &[("confirmed", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (_, list) = common::get_json(&tp, &other.token, "/api-keys").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "their key is untouched");

    let r = c.post_raw("/app/settings/api-keys", &[("name", "no token")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(admin.get("/app/settings").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/app/billing").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_callback_keeps_what_was_typed_on_errors_and_shows_its_secret_once() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    c.get("/app/settings").await;
    let r = c.post("/app/settings/callback", &[("url", "ftp://erp.example/hook"), ("secret", "short")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("url").is_some(), "{}", r.body);
    assert!(r.field_error("secret").unwrap().contains("16 to 256 characters"));
    assert_eq!(r.input_value("url").as_deref(), Some("ftp://erp.example/hook"));

    // An empty secret is generated, and shown this once.
    c.hx = true;
    let r = c.post("/app/settings/callback", &[("url", "http://127.0.0.1:9/hooks/miping"), ("secret", "")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<html"), "the callback section only");
    assert!(r.header("hx-trigger").unwrap().contains("Callback saved"));
    let secret = code_text(&r.body, "new-callback-secret").expect("the secret is shown");
    assert_eq!(secret.len(), 64);
    r.assert_shows("you will not see it again");
    c.hx = false;
    let (_, view) = common::get_json(&tp, &t.token, "/settings/callback").await;
    assert_eq!(view["url"], "http://127.0.0.1:9/hooks/miping");
    let page = c.get("/app/settings").await;
    assert_eq!(page.input_value("url").as_deref(), Some("http://127.0.0.1:9/hooks/miping"));
    assert!(!page.body.contains(&secret));
}

#[tokio::test]
async fn billing_shows_the_balance_and_the_ledger_newest_first_with_load_more() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let page = c.get("/app/billing").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_shows("0.00 INR");
    page.assert_shows("No entries yet");

    let admin = tp.admin_token().await;
    for i in 1..=27 {
        let r = common::post(
            &tp,
            &admin,
            &format!("/admin/tenants/{}/credits", t.id),
            &json!({"amount": "1.25", "description": format!("Top-up #{i}")}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let page = c.get("/app/billing").await;
    page.assert_shows("33.75 INR");
    let newest = page.body.find("Top-up #27").unwrap();
    assert!(newest < page.body.find("Top-up #26").unwrap(), "newest first");
    page.assert_shows("+1.25 INR");
    assert!(!page.body.contains("Top-up #2</td>"), "25 a page");
    let at = page.body.find("/app/billing?cursor=").expect("Load more") + "/app/billing?cursor=".len();
    let cursor = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let full = c.get(&format!("/app/billing?cursor={cursor}")).await;
    assert!(full.body.contains("Top-up #1</td>"), "without JavaScript, the next page:\n{}", full.body);
    c.hx = true;
    let more = c.get(&format!("/app/billing?cursor={cursor}")).await;
    assert!(!more.body.contains("<html"), "rows only");
    assert!(
        more.body.contains("Top-up #2</td>") && more.body.contains("Top-up #1</td>"),
        "{} {cursor}:\n{}",
        more.status,
        more.body
    );
    more.assert_shows("2.50 INR");
    assert!(!more.body.contains("Load more"), "the last page");
}

#[tokio::test]
async fn callback_deliveries_show_each_attempt_with_its_answer() {
    let tp = common::start().await;
    let (t, _) = common::ready_to_send(&tp).await;
    let mut c = Console::new(&tp.base);
    c.sign_in(&t.email, &t.password).await;
    c.get("/app/settings").await;
    // Nothing listens on port 9: every attempt fails, and is retried.
    let r = c.post("/app/settings/callback", &[("url", "http://127.0.0.1:9/hooks/miping"), ("secret", "")]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = common::post(
        &tp,
        &t.token,
        "/messages",
        &json!({"to": "+14155550501",
        "template": {"name": "order_update", "language": "en_US", "variables": ["Ana", "A-1"]}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let page = common::eventually(20, "a failed delivery on the page", || {
        let base = tp.base.clone();
        let cookies = c.cookies.clone();
        async move {
            let mut c = Console::new(&base);
            c.cookies = cookies;
            let page = c.get("/app/settings").await;
            page.body.contains("badge badge--danger").then_some(page)
        }
    })
    .await;
    page.assert_shows("message.status");
    assert!(page.body.contains("<td class=\"num\">1</td>"), "the first attempt:\n{}", page.body);
    assert!(!page.shows("No deliveries yet"));
}

/// The text of the first `<time datetime="…">…</time>` in `body`: (datetime, text).
fn first_time(body: &str) -> Option<(String, String)> {
    let at = body.find("<time datetime=\"")? + "<time datetime=\"".len();
    let iso = body[at..at + body[at..].find('"')?].to_owned();
    let text_at = body[at..].find('>')? + at + 1;
    let text = body[text_at..text_at + body[text_at..].find('<')?].to_owned();
    Some((iso, text))
}

const BUSINESS: &[(&str, &str)] = &[
    ("default_country", "in"),
    ("time_zone", "Asia/Kolkata"),
    ("opt_out_keywords", "band karo, RUKO"),
    ("opt_in_keywords", "shuru"),
    ("brand.name", "Sunrise College"),
    ("brand.color", "#0B5FFF"),
];

#[tokio::test]
async fn business_settings_show_the_domains_errors_next_to_the_fields_and_need_their_token() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let page = c.get("/app/settings").await;
    assert_eq!(page.input_value("time_zone").as_deref(), Some("UTC"), "the default");
    assert_eq!(page.input_value("default_country").as_deref(), Some(""));
    assert!(page.body.contains("<label for=\"f-brand.color\">Brand colour</label>"));

    let r = c.post_raw("/app/settings/business", BUSINESS).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");

    let mut bad = with(BUSINESS, "default_country", "XX");
    bad = with(&bad, "time_zone", "Mars/Olympus");
    bad = with(&bad, "brand.color", "blue");
    let r = c.post("/app/settings/business", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.field_error("default_country").as_deref(),
        Some("must be an ISO 3166 alpha-2 code of a country with a phone numbering plan, e.g. IN")
    );
    assert_eq!(r.field_error("time_zone").as_deref(), Some("must be an IANA time zone name, e.g. Asia/Kolkata"));
    assert_eq!(r.field_error("brand.color").as_deref(), Some("must be a #rrggbb hex color"));
    assert_eq!(r.field_error("brand.name"), None);
    assert!(r.body.contains("id=\"f-time_zone\" name=\"time_zone\" type=\"text\" value=\"Mars/Olympus\""), "kept");
    assert_eq!(r.input_value("brand.name").as_deref(), Some("Sunrise College"));

    // A keyword that is also an opt-in word: said with the word, on the list that has it.
    c.hx = true;
    let r = c.post("/app/settings/business", &with(BUSINESS, "opt_out_keywords", "band karo, Start")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.trim_start().starts_with("<section id=\"business\""), "the section only:\n{}", r.body);
    assert_eq!(r.field_error("opt_out_keywords").as_deref(), Some("“Start” is also an opt-in keyword"));
    // A colour without a name: the domain says the name is required.
    let r = c.post("/app/settings/business", &with(BUSINESS, "brand.name", " ")).await;
    assert_eq!(r.field_error("brand.name").as_deref(), Some("is required"));
    c.hx = false;

    let (_, saved) = common::get_json(&tp, &t.token, "/tenant/settings").await;
    assert_eq!(saved["time_zone"], "UTC", "nothing was saved: {saved}");

    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = admin.post("/app/settings/business", BUSINESS).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the super admin has no tenant settings");
}

#[tokio::test]
async fn saved_business_settings_brand_the_console_and_date_its_pages_in_the_tenants_zone() {
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let page = c.get("/app/settings").await;
    assert!(page.body.contains("href=\"/brand/3b5bdb.css\""), "the default look");
    assert!(page.body.contains("<span class=\"brand__name\">Tenant "), "the tenant's name until it has a brand");
    let r = common::post(&tp, &t.token, "/api-keys", &json!({"name": "ERP"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // A zone where today is another day than in UTC: +14 h late in the UTC day, -11 h early in it.
    let hour = chrono::Timelike::hour(&chrono::Utc::now());
    let (zone, offset_hours) = if hour >= 10 { ("Pacific/Kiritimati", 14) } else { ("Pacific/Pago_Pago", -11) };
    let r = c.post("/app/settings/business", &with(BUSINESS, "time_zone", zone)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/app/settings"));
    let page = c.get("/app/settings").await;
    page.assert_shows("Business settings saved");
    assert_eq!(page.input_value("time_zone").as_deref(), Some(zone));
    assert_eq!(page.input_value("default_country").as_deref(), Some("IN"));
    assert_eq!(page.input_value("opt_out_keywords").as_deref(), Some("band karo, RUKO"));
    assert_eq!(page.input_value("brand.color").as_deref(), Some("#0b5fff"));
    let (_, saved) = common::get_json(&tp, &t.token, "/tenant/settings").await;
    assert_eq!(
        (&saved["time_zone"], &saved["default_country"], &saved["opt_in_keywords"], &saved["brand"]["name"]),
        (&json!(zone), &json!("IN"), &json!(["shuru"]), &json!("Sunrise College"))
    );

    // The brand: its stylesheet on every page, its name in the top bar.
    for path in ["/", "/app/settings", "/app/billing", "/app/messages"] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("<link rel=\"stylesheet\" href=\"/brand/0b5fff.css\">"), "{path}");
        assert!(page.body.contains("<span class=\"brand__name\">Sunrise College</span>"), "{path}");
    }
    let css = tp.http.get(tp.url("/brand/0b5fff.css")).send().await.unwrap().text().await.unwrap();
    assert_eq!(css.trim(), ":root{--brand:#0b5fff;--brand-contrast:#ffffff}");

    // The key's creation date, in the tenant's zone: another day than in UTC.
    let (iso, text) = first_time(&c.get("/app/settings").await.body).expect("the key's date");
    let at = chrono::DateTime::parse_from_rfc3339(&iso).unwrap();
    let local = at.with_timezone(&chrono::FixedOffset::east_opt(offset_hours * 3600).unwrap());
    assert!(text.starts_with(&local.format("%-d %b %Y, %H:%M").to_string()), "{iso} in {zone}: {text}");
    assert!(!text.starts_with(&at.format("%-d %b %Y").to_string()), "not the UTC day: {text}");

    // The super admin keeps the default look, in UTC.
    let mut admin = Console::new(&tp.base);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = admin.get(&format!("/app/tenants/{}", t.id)).await;
    assert!(page.body.contains("href=\"/brand/3b5bdb.css\""));
}

/// The brand logo (SPEC → Console: "brand name/color/logo"): uploaded through the settings page
/// with the media upload use case, shown in every page's top bar, served to the tenant's own
/// sessions only; anything but an image is refused next to the field, and nothing is stored.
#[tokio::test]
async fn an_uploaded_logo_brands_the_top_bar_for_the_tenant_only() {
    use crate::media::PNG;
    let tp = common::start().await;
    let (t, mut c) = owner(&tp).await;
    let page = c.get("/app/settings").await;
    assert!(page.body.contains("<label for=\"f-file\">Brand logo</label>"), "a labelled file field");
    assert!(page.body.contains("action=\"/app/settings/logo\" enctype=\"multipart/form-data\""));
    assert!(!page.body.contains("class=\"brand__logo\""), "no logo yet");

    // Not an image: refused next to the field, nothing stored, no logo set.
    let pdf: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    let r = c.post_file_as("/app/settings/logo", true, &[], ("file", "logo.pdf", pdf), "application/pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.field_error("file").as_deref(), Some("Must be an image (jpeg or png)."));
    let elf: &[u8] = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    let r = c.post_file_as("/app/settings/logo", true, &[], ("file", "logo.png", elf), "image/png").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(r.field_error("file").is_some_and(|e| e.contains("not image/png")), "{:?}", r.field_error("file"));
    assert!(!tp.data_dir.join("media/tenants").join(&t.id).exists(), "a refused file was stored");
    // The form needs its token.
    let r = c.post_file_as("/app/settings/logo", false, &[], ("file", "logo.png", PNG), "image/png").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = c.post_file_as("/app/settings/logo", true, &[], ("file", "logo.png", PNG), "image/png").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/app/settings"));
    let page = c.get("/app/settings").await;
    page.assert_shows("Logo saved");
    let (_, saved) = common::get_json(&tp, &t.token, "/tenant/settings").await;
    let id = saved["brand"]["logo_media_id"].as_str().expect("the logo is set").to_owned();
    assert_eq!(saved["brand"]["color"], "#3b5bdb", "a brand made for the logo keeps the default colour");
    let logo = format!("/brand/logo/{id}");
    for path in ["/", "/app/settings", "/app/messages"] {
        let page = c.get(path).await;
        let img = format!("<img class=\"brand__logo\" src=\"{logo}\" alt=\"\" width=\"28\" height=\"28\">");
        assert!(page.body.contains(&img), "{path}: the top bar shows the logo");
    }
    let served = c.get(&logo).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    // The same file as the API's.
    assert_eq!(crate::media::download(&tp, &t.token, &id).await, PNG);

    // Another tenant's session does not get it; nor does nobody.
    let (_, mut other) = owner(&tp).await;
    assert_eq!(other.get(&logo).await.status, StatusCode::NOT_FOUND);
    let anonymous = Console::new(&tp.base).get(&logo).await;
    assert_eq!((anonymous.status, anonymous.location()), (StatusCode::SEE_OTHER, Some("/")), "to the sign-in page");
}
