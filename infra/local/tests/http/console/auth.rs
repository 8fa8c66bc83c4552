//! Signing in and out, the forced password change, forgotten passwords, CSRF and the headers
//! every page carries.

use reqwest::StatusCode;

use super::Console;
use crate::common::{self, ADMIN_EMAIL, ADMIN_PASSWORD};

#[tokio::test]
async fn the_start_page_signed_out_is_the_sign_in_form_under_a_strict_policy() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    let page = c.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    page.assert_shows("Sign in");
    assert!(page.body.contains("<label for=\"f-email\">Email</label>"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(c.cookies.contains_key("miping_anon"), "the sign-in form's CSRF nonce cookie is set");
    assert!(c.csrf.is_some());
    // As the OpenAPI document describes it (the console's route, documented in shared/src/http/openapi.rs).
    let doc = miping::http::openapi::document();
    let documented = &doc["paths"]["/"]["get"]["responses"]["200"]["content"];
    assert!(documented["text/html"].is_object(), "GET / is documented as HTML: {documented}");
}

#[tokio::test]
async fn a_form_without_its_csrf_token_or_from_another_origin_is_refused() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    c.get("/").await;
    let r = c.post_raw("/sign-in", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_shows("This form has expired");
    assert!(!c.cookies.contains_key("miping_session"));
    // Someone else's token (another browser's nonce) does not fit this browser's cookie.
    let mut other = Console::new(&tp.base);
    other.get("/").await;
    c.csrf = other.csrf.clone();
    let r = c.post("/sign-in", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The right token from a foreign origin.
    let mut c = Console::new(&tp.base);
    c.get("/").await;
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/sign-in", tp.base))
        .header("cookie", format!("miping_anon={}", c.cookies["miping_anon"]))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={}&email=a%40b.c&password=x", c.csrf.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_wrong_password_is_shown_on_the_form_which_keeps_the_email() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    c.get("/").await;
    let r = c.post("/sign-in", &[("email", ADMIN_EMAIL), ("password", "not the password")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    r.assert_shows("Wrong email or password.");
    assert_eq!(r.input_value("email").as_deref(), Some(ADMIN_EMAIL));
    assert!(!c.cookies.contains_key("miping_session"));
    let r = c.post("/sign-in", &[("email", ""), ("password", "x")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("email").as_deref(), Some("Enter your email."));
    assert!(r.body.contains("aria-invalid=\"true\" aria-describedby=\"f-email-error\""));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_lax_and_sign_out_ends_the_session() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    c.get("/").await;
    let r = c.post("/sign-in", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/"));
    let set = r.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    let session = set.iter().find(|v| v.starts_with("miping_session=")).expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain-HTTP local process: no Secure flag");

    // The super admin's start page: the tenants.
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/app/tenants"));
    let home = c.get("/app/tenants").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_shows("Tenants");
    let token = c.cookies["miping_session"].clone();

    // The cookie is the API's session: its token works as a bearer token too, until sign-out.
    let me = tp.http.get(tp.url("/auth/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let r = c.post("/sign-out", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!c.cookies.contains_key("miping_session"), "the cookie is cleared");
    let me = tp.http.get(tp.url("/auth/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "the session itself has ended");

    // The old cookie replayed: the sign-in page, saying the session ended.
    c.cookies.insert("miping_session".into(), token);
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    r.assert_shows("Your session has ended");
    // A console page with it: sent to sign in.
    let r = c.get("/app/templates").await;
    assert!(r.status == StatusCode::SEE_OTHER || r.status == StatusCode::NOT_FOUND, "{}", r.status);
}

#[tokio::test]
async fn console_js_gets_204_with_hx_location_not_a_redirect() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    c.get("/").await;
    c.hx = true;
    let r = c.post("/sign-in", &[("email", ADMIN_EMAIL), ("password", "wrong")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.trim_start().starts_with("<form"), "a fragment, not a page: {}", r.body);
    let r = c.post("/sign-in", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("hx-location"), Some("/"));
    assert!(c.cookies.contains_key("miping_session"));
}

#[tokio::test]
async fn a_one_time_password_must_be_changed_before_anything_else() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    let plan_id = common::create_plan(&tp, &admin).await;
    let r = common::post(
        &tp,
        &admin,
        "/admin/tenants",
        &serde_json::json!({"name": "Acme Dental", "slug": "acme",
        "admin_email": "asha@acme.test", "admin_name": "Asha Rao", "plan_id": plan_id}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, one_time) = common::welcome_password(&tp, "asha@acme.test", 0).await;

    let mut c = Console::new(&tp.base);
    let r = c.sign_in("asha@acme.test", &one_time).await;
    assert_eq!(r.location(), Some("/change-password"));
    // Any page sends there until it is changed.
    let r = c.get("/").await;
    assert_eq!(r.location(), Some("/change-password"));
    let form = c.get("/change-password").await;
    form.assert_shows("You signed in with a one-time password");

    let r = c
        .post(
            "/change-password",
            &[
                ("current_password", &one_time),
                ("new_password", "a long new passphrase"),
                ("confirm_password", "a different passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("confirm_password").as_deref(), Some("does not match the new password"));
    let r = c
        .post(
            "/change-password",
            &[
                ("current_password", "wrong"),
                ("new_password", "a long new passphrase"),
                ("confirm_password", "a long new passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_error("current_password").as_deref(), Some("is not your current password"));
    let r = c
        .post(
            "/change-password",
            &[("current_password", &one_time), ("new_password", "short"), ("confirm_password", "short")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("new_password").is_some(), "the API's own policy message: {}", r.body);

    let r = c
        .post(
            "/change-password",
            &[
                ("current_password", &one_time),
                ("new_password", "a long new passphrase"),
                ("confirm_password", "a long new passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/"));
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_shows("Dashboard");
    home.assert_shows("Acme Dental");
    home.assert_shows("Password changed");
    // The toast was shown once.
    let again = c.get("/").await;
    assert!(!again.shows("Password changed"));
}

#[tokio::test]
async fn forgot_and_reset_work_without_javascript_and_say_the_same_for_unknown_emails() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    c.get("/forgot-password").await;
    let known = c.post("/forgot-password", &[("email", ADMIN_EMAIL)]).await;
    assert_eq!(known.status, StatusCode::OK);
    let mut c2 = Console::new(&tp.base);
    c2.get("/forgot-password").await;
    let unknown = c2.post("/forgot-password", &[("email", "nobody@nowhere.test")]).await;
    assert_eq!(unknown.status, StatusCode::OK);
    known.assert_shows("If an account exists for");
    assert_eq!(
        known.body.replace(ADMIN_EMAIL, "X").replace(c.csrf.as_deref().unwrap(), "T"),
        unknown.body.replace("nobody@nowhere.test", "X").replace(c2.csrf.as_deref().unwrap(), "T"),
        "no enumeration by the page"
    );
    let dir = miping::platform::embedded::outbox_dir(&tp.data_dir);
    let token = common::eventually(10, "the reset email", || {
        let dir = dir.clone();
        async move {
            miping::adapters::embedded::outbox::read_outbox(&dir)
                .into_iter()
                .find(|m| m.to == ADMIN_EMAIL)
                .and_then(|m| m.text.split("#token=").nth(1).map(|t| t.split_whitespace().next().unwrap().to_owned()))
        }
    })
    .await;

    let page = c.get("/reset-password").await;
    page.assert_shows("Choose a new password");
    let r = c
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("new_password", "the platform's new passphrase"),
                ("confirm_password", "the platform's new passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Used once.
    c.get("/reset-password").await;
    let r = c
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("new_password", "yet another passphrase"),
                ("confirm_password", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    r.assert_shows("This reset link has expired or was already used");
    Console::new(&tp.base).sign_in(ADMIN_EMAIL, "the platform's new passphrase").await;
}

#[tokio::test]
async fn assets_have_content_addressed_urls_and_pages_outside_the_console_are_404_pages() {
    let tp = common::start().await;
    let mut c = Console::new(&tp.base);
    let page = c.get("/").await;
    let css = page.body.split("href=\"/assets/console.").nth(1).unwrap().split('"').next().unwrap();
    let r = c.get(&format!("/assets/console.{css}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert!(r.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(c.get("/assets/console.000000000000.css").await.status, StatusCode::NOT_FOUND);

    let brand = c.get("/brand/0a7d5a.css").await;
    assert_eq!(brand.body.trim(), ":root{--brand:#0a7d5a;--brand-contrast:#ffffff}");
    assert_eq!(c.get("/brand/red;}body{x.css").await.status, StatusCode::NOT_FOUND);

    c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = c.get("/app/no-such-page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").unwrap().starts_with("text/html"), "a page, not the API's JSON");
    r.assert_shows("Page not found");
}
