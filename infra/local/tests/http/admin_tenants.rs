//! `/admin/tenants*` and `GET /tenant` over HTTP: provisioning, the welcome email in the outbox,
//! the one-time password gate, suspension, roles and conflicts.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn tenant_body(plan_id: &str, slug: &str, email: &str) -> Value {
    json!({"name": "Acme Ltd", "slug": slug, "admin_email": email, "admin_name": "Ana Admin", "plan_id": plan_id,
        "ends_at": "2099-01-01T00:00:00Z"})
}

#[tokio::test]
async fn provisioning_emails_a_password_that_logs_in() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;
    let r = tp
        .http
        .post(tp.url("/admin/tenants"))
        .bearer_auth(&admin)
        .json(&tenant_body(&plan_id, "acme", "Ana@Acme.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let tenant = &body["tenant"];
    assert!(tenant["id"].as_str().unwrap().starts_with("ten_"));
    assert_eq!(
        (tenant["slug"].as_str(), tenant["status"].as_str(), tenant["plan_id"].as_str()),
        (Some("acme"), Some("active"), Some(plan_id.as_str()))
    );
    let sub = &tenant["subscription"];
    assert_eq!((sub["plan_id"].as_str(), sub["active"].as_bool()), (Some(plan_id.as_str()), Some(true)));
    assert!(sub["starts_at"].is_string());
    assert_eq!(sub["ends_at"], "2099-01-01T00:00:00Z");
    assert_eq!(body["admin_user"]["email"], "Ana@acme.test");
    assert!(!body.to_string().to_lowercase().contains("password"), "the password is never returned: {body}");

    let (mail, password) = welcome_password(&tp, "Ana@acme.test", 0).await;
    let public_url = tp.platform.as_ref().unwrap().state.config.public_url.clone();
    assert!(
        mail.text.contains(&format!("Log in at: {public_url}/")),
        "login URL from MIPING_PUBLIC_URL: {}",
        mail.text
    );
    assert!(mail.text.contains("Ana@acme.test"));
    assert!(mail.text.contains("choose a new password"));
    assert!(mail.subject.contains("Acme Ltd"));

    // The one-time password logs in, but only change-password and /auth/me are open until changed.
    let r = tp.login("ana@ACME.test", &password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.unwrap();
    assert_eq!(login["user"]["must_change_password"], true);
    assert_eq!(login["user"]["role"], "TENANT_ADMIN");
    let token = login["token"].as_str().unwrap();
    let r = tp.http.get(tp.url("/tenant")).bearer_auth(token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "password_change_required");
    let r = tp.http.get(tp.url("/billing/ledger")).bearer_auth(token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "password_change_required");
    assert_eq!(tp.http.get(tp.url("/auth/me")).bearer_auth(token).send().await.unwrap().status(), StatusCode::OK);
    let r = tp
        .http
        .post(tp.url("/auth/change-password"))
        .bearer_auth(token)
        .json(&json!({"current_password": password, "new_password": "ana's own passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let r = tp.http.get(tp.url("/tenant")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["id"], tenant["id"]);
    assert_eq!(me["name"], "Acme Ltd");
    assert_eq!(me["status"], "active");
    assert_eq!(me["plan"]["id"], plan_id.as_str());
    assert_eq!(me["plan"]["price"], "99.00");
    assert_eq!(me["subscription"]["active"], true);
    assert_eq!(me["usage"]["messages_sent"], 0);
    assert_eq!(me["usage"]["contacts"], 0);
    assert_eq!(me["usage"]["period_start"], sub["starts_at"]);
    assert_eq!(me["balance"], "0.00");
    // The old one-time password no longer works.
    assert_eq!(tp.login("ana@acme.test", &password).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn provisioning_validates_and_refuses_duplicates() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;
    let post = |body: Value| tp.http.post(tp.url("/admin/tenants")).bearer_auth(&admin).json(&body).send();

    let r = post(json!({"slug": "Bad Slug", "admin_email": "nope", "plan_id": "plan_missing", "ends_at": "2000-01-01T00:00:00Z"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = r.json().await.unwrap();
    let mut got: Vec<String> = err["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{}:{}", d["field"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "admin_email:invalid_email",
            "admin_name:required",
            "ends_at:before_start",
            "name:required",
            "plan_id:unknown_plan",
            "slug:invalid_slug"
        ]
    );

    assert_eq!(post(tenant_body(&plan_id, "acme", "a@acme.test")).await.unwrap().status(), StatusCode::CREATED);
    let r = post(tenant_body(&plan_id, "acme", "b@acme.test")).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "slug_taken");
    let r = post(tenant_body(&plan_id, "acme-2", "A@acme.test")).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "email_taken");
    // The super admin's email is taken too (unique across the platform).
    let r = post(tenant_body(&plan_id, "acme-3", ADMIN_EMAIL)).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "email_taken");
    // Nothing half-created: acme-2 is free, b@ has no account.
    assert_eq!(post(tenant_body(&plan_id, "acme-2", "b@acme.test")).await.unwrap().status(), StatusCode::CREATED);
    let list: Value =
        tp.http.get(tp.url("/admin/tenants")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn provisioning_is_idempotent() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;
    let post = |body: Value| {
        tp.http.post(tp.url("/admin/tenants")).bearer_auth(&admin).header("idempotency-key", "t-1").json(&body).send()
    };
    let first = post(tenant_body(&plan_id, "acme", "a@acme.test")).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = post(tenant_body(&plan_id, "acme", "a@acme.test")).await.unwrap();
    assert_eq!(
        (again.status(), again.headers()["idempotent-replayed"].to_str().unwrap()),
        (StatusCode::CREATED, "true")
    );
    assert_eq!(again.json::<Value>().await.unwrap(), first, "a replay, not a slug_taken");
    let r = post(tenant_body(&plan_id, "other", "o@acme.test")).await.unwrap();
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "idempotency_key_reused");
    welcome_password(&tp, "a@acme.test", 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let dir = miping::platform::embedded::outbox_dir(&tp.data_dir);
    assert_eq!(miping::adapters::embedded::outbox::read_outbox(&dir).len(), 1, "one email for one tenant");
}

#[tokio::test]
async fn list_get_and_patch_tenants() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let plan_id = create_plan(&tp, &admin).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = tp
            .http
            .post(tp.url("/admin/tenants"))
            .bearer_auth(&admin)
            .json(&tenant_body(&plan_id, &format!("t{i}-co"), &format!("o{i}@t.test")))
            .send()
            .await
            .unwrap();
        ids.push(r.json::<Value>().await.unwrap()["tenant"]["id"].as_str().unwrap().to_string());
    }
    let page: Value =
        tp.http.get(tp.url("/admin/tenants?limit=2")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [&ids[0], &ids[1]]
    );
    let next = page["next_cursor"].as_str().unwrap();
    let page: Value = get_ok(&tp, &admin, &format!("/admin/tenants?limit=2&cursor={next}")).await;
    assert_eq!((page["items"][0]["id"].as_str().unwrap(), &page["next_cursor"]), (ids[2].as_str(), &Value::Null));

    let url = tp.url(&format!("/admin/tenants/{}", ids[0]));
    let got: Value = tp.http.get(&url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["slug"], "t0-co");
    // End date in the past: the subscription is inactive (sending is refused), reading is not.
    let r =
        tp.http.patch(&url).bearer_auth(&admin).json(&json!({"ends_at": "2000-01-01T00:00:00Z"})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r = tp.http.patch(&url).bearer_auth(&admin).json(&json!({"ends_at": null})).send().await.unwrap();
    let patched: Value = r.json().await.unwrap();
    assert_eq!((&patched["subscription"]["ends_at"], &patched["subscription"]["active"]), (&Value::Null, &json!(true)));
    let r = tp.http.patch(&url).bearer_auth(&admin).json(&json!({"status": "closed"})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_body");
    let r = tp.http.patch(&url).bearer_auth(&admin).json(&json!({"plan_id": "plan_nope"})).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let other = create_plan(&tp, &admin).await;
    let r = tp.http.patch(&url).bearer_auth(&admin).json(&json!({"plan_id": other})).send().await.unwrap();
    let patched: Value = r.json().await.unwrap();
    assert_eq!(
        (patched["plan_id"].as_str(), patched["subscription"]["plan_id"].as_str()),
        (Some(other.as_str()), Some(other.as_str()))
    );

    for r in [
        tp.http.get(tp.url("/admin/tenants/ten_nope")).bearer_auth(&admin).send().await.unwrap(),
        tp.http
            .patch(tp.url("/admin/tenants/ten_nope"))
            .bearer_auth(&admin)
            .json(&json!({"status": "suspended"}))
            .send()
            .await
            .unwrap(),
        tp.http.post(tp.url("/admin/tenants/ten_nope/resend-welcome")).bearer_auth(&admin).send().await.unwrap(),
        tp.http
            .post(tp.url("/admin/tenants/ten_nope/credits"))
            .bearer_auth(&admin)
            .json(&json!({"amount": "1"}))
            .send()
            .await
            .unwrap(),
        tp.http.get(tp.url("/admin/tenants/ten_nope/ledger")).bearer_auth(&admin).send().await.unwrap(),
    ] {
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found");
    }
}

#[tokio::test]
async fn suspension_shuts_the_tenant_out_and_reactivation_lets_it_back() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let url = tp.url(&format!("/admin/tenants/{}", t.id));
    let r = tp.http.patch(&url).bearer_auth(&admin).json(&json!({"status": "suspended"})).send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["status"].as_str(), body["subscription"]["active"].as_bool()), (Some("suspended"), Some(false)));
    // The suspension ended the tenant's sessions at once.
    let r = tp.http.get(tp.url("/tenant")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "session_revoked");
    // Signing in again works, and everything but who-am-I is shut.
    let r = tp.login(&t.email, &t.password).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    for path in ["/tenant", "/billing/ledger", "/auth/me"] {
        let r = tp.http.get(tp.url(path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "tenant_suspended", "{path}");
    }
    tp.http.patch(&url).bearer_auth(&admin).json(&json!({"status": "active"})).send().await.unwrap();
    let r = tp.http.get(tp.url("/tenant")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn resend_welcome(tp: &TestPlatform, admin: &str, tenant_id: &str) -> reqwest::Response {
    tp.http.post(tp.url(&format!("/admin/tenants/{tenant_id}/resend-welcome"))).bearer_auth(admin).send().await.unwrap()
}

#[tokio::test]
async fn resend_welcome_issues_a_new_password_until_the_admin_chose_one() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision(&tp).await;
    let signed_in = token(&tp, &t.email, &t.one_time).await;
    let r = resend_welcome(&tp, &admin, &t.id).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["admin_user"]["email"].as_str(), body["email"].as_str()),
        (Some(t.email.as_str()), Some("queued"))
    );
    // A second .eml in the outbox, with another password; the first one is dead.
    let (mail, fresh) = welcome_password(&tp, &t.email, 1).await;
    assert_ne!(fresh, t.one_time);
    assert!(mail.text.contains("choose a new password"));
    assert_eq!(tp.login(&t.email, &t.one_time).await.status(), StatusCode::UNAUTHORIZED);
    // Whoever was signed in with the old one is signed out.
    let r = tp.http.get(tp.url("/auth/me")).bearer_auth(&signed_in).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "session_revoked");
    let r = tp.login(&t.email, &fresh).await;
    let login: Value = r.json().await.unwrap();
    assert_eq!(login["user"]["must_change_password"], true);

    // Once the admin chose a password, it is theirs: no more welcome (forgot-password is for that).
    let session = login["token"].as_str().unwrap();
    assert_eq!(change_password(&tp, session, &fresh, "the owner's passphrase").await.status(), StatusCode::NO_CONTENT);
    let r = resend_welcome(&tp, &admin, &t.id).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "welcome_already_used");
    assert_eq!(tp.login(&t.email, "the owner's passphrase").await.status(), StatusCode::OK, "password kept");
    assert_eq!(get_json(&tp, session, "/auth/me").await.0, StatusCode::OK, "session kept");
    let dir = miping::platform::embedded::outbox_dir(&tp.data_dir);
    let mails = miping::adapters::embedded::outbox::read_outbox(&dir).into_iter().filter(|m| m.to == t.email).count();
    assert_eq!(mails, 2, "no third email");
}

#[tokio::test]
async fn tenant_detail_and_credit_corrections() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let credits = format!("/admin/tenants/{}/credits", t.id);
    let r = post(&tp, &admin, &credits, &json!({"amount": "100.00", "description": "top-up"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = post(&tp, &admin, &credits, &json!({"amount": "-30.50", "description": "credited twice by mistake"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let entry: Value = r.json().await.unwrap();
    assert_eq!(
        (entry["kind"].as_str(), entry["amount"].as_str(), entry["balance_after"].as_str()),
        (Some("adjustment"), Some("30.50"), Some("69.50"))
    );
    assert_eq!(entry["description"], "credited twice by mistake");

    // Below zero: refused, and nothing moved.
    let r = post(&tp, &admin, &credits, &json!({"amount": "-69.51", "description": "too much"})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "insufficient_balance");
    // A correction needs its reason.
    let r = post(&tp, &admin, &credits, &json!({"amount": "-1", "description": " "})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["details"][0]["field"], "description");
    assert_eq!(body["error"]["details"][0]["code"], "reason_required");

    let detail = get_ok(&tp, &admin, &format!("/admin/tenants/{}", t.id)).await;
    let own = get_ok(&tp, &t.token, "/tenant").await;
    assert_eq!(detail["balance"], "69.50");
    assert_eq!((&detail["balance"], &detail["usage"]), (&own["balance"], &own["usage"]), "as the tenant sees it");
    assert_eq!((detail["id"].as_str(), detail["slug"].is_string()), (Some(t.id.as_str()), true));
    assert!(detail["usage"]["period_start"].is_string() && detail["usage"]["messages_sent"] == 0);
    let ledger = get_ok(&tp, &t.token, "/billing/ledger").await;
    let kinds: Vec<&str> = ledger["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["adjustment", "credit"], "newest first; the refused correction left no entry");
    // Exactly to zero is allowed.
    let r = post(&tp, &admin, &credits, &json!({"amount": "-69.50", "description": "account closed"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(get_ok(&tp, &t.token, "/tenant").await["balance"], "0.00");
}

#[tokio::test]
async fn admin_routes_refuse_tenant_admins_and_tenant_routes_refuse_the_super_admin() {
    let tp = start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let own = format!("/admin/tenants/{}", t.id);
    for r in [
        tp.http.get(tp.url("/admin/tenants")).bearer_auth(&t.token).send().await.unwrap(),
        tp.http.get(tp.url(&own)).bearer_auth(&t.token).send().await.unwrap(),
        tp.http.patch(tp.url(&own)).bearer_auth(&t.token).json(&json!({"status": "active"})).send().await.unwrap(),
        tp.http
            .post(tp.url(&format!("{own}/credits")))
            .bearer_auth(&t.token)
            .json(&json!({"amount": "100"}))
            .send()
            .await
            .unwrap(),
        tp.http.get(tp.url(&format!("{own}/ledger"))).bearer_auth(&t.token).send().await.unwrap(),
        tp.http.post(tp.url(&format!("{own}/resend-welcome"))).bearer_auth(&t.token).send().await.unwrap(),
        tp.http.post(tp.url("/admin/tenants")).bearer_auth(&t.token).json(&json!({})).send().await.unwrap(),
    ] {
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    }
    for path in ["/tenant", "/billing/ledger"] {
        let r = tp.http.get(tp.url(path)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role", "{path}");
    }
}
