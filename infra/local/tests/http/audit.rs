//! The audit log over HTTP (SPEC → Audit log): an entry for each listed action with the right
//! actor (user, super admin, API key, system), where it came from, the fields it changed and
//! never a secret; a tenant sees its own entries (including the super admin's actions on it) and
//! nobody else's; filters; exact paging across the shards; the 400-day TTL in the table.

use std::collections::HashSet;

use crate::common::*;
use crate::connect_support::fixture;
use chrono::{DateTime, Duration, Utc};
use miping::domain::audit::{self, Context, Target};
use miping::ports::table::Query;
use miping::store::keys;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const UA: &str = "audit-test/1.0 (Miping)";

/// The platform, with a client that sends a `User-Agent` (reqwest sends none by default).
async fn platform() -> TestPlatform {
    let mut tp = start().await;
    tp.http = Client::builder().user_agent(UA).build().unwrap();
    tp
}

/// Every entry of a log (`path` with its query), newest first, following `next_cursor` with
/// pages of `limit`.
async fn all_entries(tp: &TestPlatform, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (status, page) = get_json(tp, token, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

fn with_action<'a>(entries: &'a [Value], action: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["action"] == action).collect()
}

/// The one entry of `action` whose actor is of `actor_type` (the newest when several).
fn entry<'a>(entries: &'a [Value], action: &str, actor_type: &str) -> &'a Value {
    let found = with_action(entries, action).into_iter().find(|e| e["actor"]["type"] == actor_type);
    found.unwrap_or_else(|| panic!("no {action} entry by {actor_type} in {}", Value::from(entries.to_vec())))
}

async fn send(req: reqwest::RequestBuilder) -> Value {
    let r = req.send().await.unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_action_is_recorded_with_its_actor_and_never_a_secret() {
    let tp = platform().await;
    let admin = tp.admin_token().await;
    let mut secrets: Vec<String> = vec![ADMIN_PASSWORD.into(), admin.clone()];

    // Super admin: plan, tenant (through the helper), credits; tenant admin: sign-in, password
    // change, WhatsApp connection, a template.
    let (t, _) = ready_to_send(&tp).await;
    let (_, one_time) = welcome_password(&tp, &t.email, 0).await;
    secrets.extend([one_time, t.password.clone(), t.token.clone()]);
    let admin_id = get_ok(&tp, &t.token, "/auth/me").await["id"].as_str().unwrap().to_owned();

    // Sign-in failures: a known email (the tenant's log) and an unknown one (the platform's).
    let typed = "Tr0ub4dor&3 typed by mistake";
    secrets.push(typed.into());
    assert_eq!(tp.login(&t.email, typed).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(tp.login("nobody@nowhere.test", typed).await.status(), StatusCode::UNAUTHORIZED);

    // Members: invited (and signed in), changed, removed.
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    secrets.extend([agent.password.clone(), agent.token.clone()]);
    let member = tp.url(&format!("/members/{}", agent.id));
    send(tp.http.patch(&member).bearer_auth(&t.token).json(&json!({"role": "TENANT_ADMIN"}))).await;
    let r = tp.http.delete(&member).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Credits from the super admin (before the key spends some).
    let tenant_url = tp.url(&format!("/admin/tenants/{}", t.id));
    send(tp.http.post(format!("{tenant_url}/credits")).bearer_auth(&admin).json(&json!({"amount": "25.00",
        "description": "Top-up"})))
    .await;

    // An API key: created, used (a triggered message is the key's own entry), revoked.
    let key = send(tp.http.post(tp.url("/api-keys")).bearer_auth(&t.token).json(&json!({"name": "ERP"}))).await;
    let (key_id, key_secret) = (key["id"].as_str().unwrap().to_owned(), key["key"].as_str().unwrap().to_owned());
    secrets.push(key_secret.clone());
    let trigger = json!({"phone": "+14155550111", "template_name": "order_update", "language": "en_US",
        "variables": ["Ana", "A-1"]});
    let triggered =
        send(tp.http.post(tp.url("/api/v1/trigger-message")).header("x-api-key", &key_secret).json(&trigger)).await;
    let triggered_id = triggered["message_id"].as_str().unwrap().to_owned();
    let r = tp.http.delete(tp.url(&format!("/api-keys/{key_id}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Callback settings (with a secret), tenant settings (with a request id of our own).
    let callback_secret = "cb-secret-0123456789-abcdef";
    secrets.push(callback_secret.into());
    let cb = json!({"url": "http://127.0.0.1:9/hooks", "secret": callback_secret});
    send(tp.http.put(tp.url("/settings/callback")).bearer_auth(&t.token).json(&cb)).await;
    let settings = tp.http.patch(tp.url("/tenant/settings")).bearer_auth(&t.token);
    send(settings.header("x-request-id", "req-audit-test-7").json(&json!({"time_zone": "Asia/Kolkata"}))).await;

    // Templates: created, edited, deleted.
    let tpl = reviewed_template(&tp, &t, &order_update("order_update_two", "en_US"), "APPROVED").await;
    let edited = json!({"components": [{"type": "BODY", "text": "Hello {{1}}, order {{2}} is on its way.",
        "example": {"body_text": [["Ana", "A-1"]]}}]});
    send(tp.http.patch(tp.url(&format!("/templates/{tpl}"))).bearer_auth(&t.token).json(&edited)).await;
    let r = tp.http.delete(tp.url(&format!("/templates/{tpl}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Contacts: an import, a deletion.
    let import = json!({"contacts": [{"phone": "+14155550121", "name": "Bo"}, {"phone": "+14155550122"}]});
    send(tp.http.post(tp.url("/contacts/import")).bearer_auth(&t.token).json(&import)).await;
    let contact =
        send(tp.http.post(tp.url("/contacts")).bearer_auth(&t.token).json(&json!({"phone": "+14155550123"}))).await;
    let r = tp.http.delete(tp.url(&format!("/contacts/{}", contact["id"].as_str().unwrap()))).bearer_auth(&t.token);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::NO_CONTENT);

    // A campaign: created (scheduled), cancelled.
    let at = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let body = json!({"name": "Spring", "template": {"name": "order_update", "language": "en_US"},
        "audience": {"all": true}, "variables": ["{{contact.name}}", "A-1"], "schedule_at": at});
    let campaign = send(tp.http.post(tp.url("/campaigns")).bearer_auth(&t.token).json(&body)).await;
    let cancel = tp.url(&format!("/campaigns/{}/cancel", campaign["id"].as_str().unwrap()));
    send(tp.http.post(cancel).bearer_auth(&t.token).json(&json!({}))).await;

    // The super admin on the tenant: a plan change, suspension and reactivation.
    send(tp.http.patch(tp.url(&format!("/plans/{}", t.plan_id))).bearer_auth(&admin).json(&json!({"name": "Pro"})))
        .await;
    send(tp.http.patch(&tenant_url).bearer_auth(&admin).json(&json!({"status": "suspended"}))).await;
    send(tp.http.patch(&tenant_url).bearer_auth(&admin).json(&json!({"status": "active"}))).await;

    // The suspension ended the tenant admin's session: sign in again. WhatsApp disconnected by
    // the admin, then a new number offboarded by Meta (the system's entry).
    let token = token(&tp, &t.email, &t.password).await;
    secrets.push(token.clone());
    let r = tp.http.delete(tp.url("/whatsapp")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let t = ActiveTenant { token: token.clone(), ..t };
    let connection = connect_new(&tp, &t).await;
    let mut offboard: Value = serde_json::from_str(&fixture("account_update_ACCOUNT_OFFBOARDED.json")).unwrap();
    offboard["entry"][0]["id"] = connection["waba_id"].clone();
    assert_eq!(post_signed_webhook(&tp, offboard.to_string().as_bytes()).await.status(), StatusCode::OK);

    // A password reset by emailed link, then a sign-out.
    let r = tp.http.post(tp.url("/auth/forgot-password")).json(&json!({"email": t.email})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let reset = reset_token(&tp, &t.email, 0).await;
    let new_password = "a brand new passphrase for audit";
    secrets.extend([reset.clone(), new_password.to_owned()]);
    let r = tp.http.post(tp.url("/auth/reset-password")).json(&json!({"token": reset, "new_password": new_password}));
    assert_eq!(r.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let token = crate::common::token(&tp, &t.email, new_password).await;
    let r = tp.http.post(tp.url("/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let token = crate::common::token(&tp, &t.email, new_password).await;
    secrets.push(token.clone());

    let log = eventually(10, "Meta's offboarding in the log", || async {
        let log = all_entries(&tp, &token, "/audit-log", 500).await;
        with_action(&log, "whatsapp.disconnected").iter().any(|e| e["actor"]["type"] == "system").then_some(log)
    })
    .await;

    for (action, actor) in [
        ("tenant.created", "super_admin"),
        ("auth.sign_in", "user"),
        ("auth.sign_in_failed", "user"),
        ("auth.password_changed", "user"),
        ("auth.password_reset", "user"),
        ("auth.logout", "user"),
        ("whatsapp.connected", "user"),
        ("whatsapp.disconnected", "user"),
        ("whatsapp.disconnected", "system"),
        ("template.created", "user"),
        ("template.edited", "user"),
        ("template.deleted", "user"),
        ("member.invited", "user"),
        ("member.changed", "user"),
        ("member.removed", "user"),
        ("api_key.created", "user"),
        ("api_key.revoked", "user"),
        ("message.triggered", "api_key"),
        ("callback.settings_changed", "user"),
        ("tenant.settings_changed", "user"),
        ("contacts.imported", "user"),
        ("contact.deleted", "user"),
        ("campaign.created", "user"),
        ("campaign.cancelled", "user"),
        ("credits.added", "super_admin"),
        ("tenant.suspended", "super_admin"),
        ("tenant.reactivated", "super_admin"),
    ] {
        let e = entry(&log, action, actor);
        assert_eq!(e["tenant_id"], t.id.as_str(), "{e}");
        assert!(e["id"].as_str().unwrap().starts_with("aud_"), "{e}");
        assert!(e["at"].is_string() && e["target"]["type"].is_string(), "{e}");
        if actor == "system" {
            assert_eq!((e["ip"].clone(), e["request_id"].clone()), (Value::Null, Value::Null), "{e}");
        } else {
            assert_eq!(e["ip"], "127.0.0.1", "{e}");
            assert_eq!(e["user_agent"], UA, "{e}");
            assert!(e["request_id"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
        }
    }
    // Newest first.
    let ids: Vec<&str> = log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    // Who: the tenant admin, the super admin, the key (id and visible prefix, never the key).
    let signed_in = entry(&log, "auth.sign_in", "user");
    assert_eq!(signed_in["actor"]["email"], t.email.as_str());
    let failed = entry(&log, "auth.sign_in_failed", "user");
    assert_eq!((failed["actor"]["id"].as_str(), failed["target"]["id"].as_str()), (Some(&*admin_id), Some(&*admin_id)));
    let credited = entry(&log, "credits.added", "super_admin");
    assert_eq!(credited["actor"]["email"], ADMIN_EMAIL);
    assert_eq!(credited["changes"]["balance"], json!(["0.00", "25.00"]), "{credited}");
    let triggered = entry(&log, "message.triggered", "api_key");
    assert_eq!(triggered["actor"]["id"], key_id.as_str());
    assert_eq!(triggered["actor"]["name"], "ERP");
    // Written with the message, in its transaction: its id, template and status.
    assert_eq!(triggered["target"], json!({"type": "message", "id": triggered_id}));
    let changes = json!({"template_name": [null, "order_update"], "status": [null, "queued"]});
    assert_eq!(triggered["changes"], changes, "{triggered}");
    let prefix = triggered["actor"]["key_prefix"].as_str().unwrap();
    assert!(key_secret.starts_with(prefix) && prefix.len() < key_secret.len() / 2, "{prefix}");
    assert_eq!(entry(&log, "whatsapp.disconnected", "system")["actor"]["id"], "system");

    // What changed: before and after.
    let changed = entry(&log, "member.changed", "user");
    assert_eq!(changed["target"], json!({"type": "member", "id": agent.id}));
    assert_eq!(changed["changes"], json!({"role": ["TENANT_AGENT", "TENANT_ADMIN"]}));
    let settings = entry(&log, "tenant.settings_changed", "user");
    assert_eq!(settings["changes"]["time_zone"], json!(["UTC", "Asia/Kolkata"]), "{settings}");
    assert_eq!(settings["request_id"], "req-audit-test-7", "the caller's request id is kept");
    assert_eq!(entry(&log, "tenant.suspended", "super_admin")["changes"]["status"], json!(["active", "suspended"]));
    let callback = entry(&log, "callback.settings_changed", "user");
    assert_eq!(callback["changes"], json!({"url": [null, "http://127.0.0.1:9/hooks"]}), "no secret, even hashed");

    // The platform's log: the platform's own entries (plans, the super admin's sign-in, the
    // unknown email's failure) and the tenants'.
    let platform = all_entries(&tp, &admin, "/admin/audit-log", 500).await;
    let plan = entry(&platform, "plan.changed", "super_admin");
    assert_eq!((plan["tenant_id"].clone(), plan["changes"]["name"].clone()), (Value::Null, json!(["Starter", "Pro"])));
    entry(&platform, "plan.created", "super_admin");
    assert!(with_action(&platform, "auth.sign_in").iter().any(|e| e["actor"]["type"] == "super_admin"));
    let unknown = with_action(&platform, "auth.sign_in_failed").into_iter().find(|e| e["tenant_id"].is_null());
    assert_eq!(unknown.expect("the unknown email's failure")["actor"]["email"], "nobody@nowhere.test");
    assert!(platform.len() > log.len(), "every tenant entry is in the platform's log too");
    let platform_ids: HashSet<&str> = platform.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| platform_ids.contains(id)));

    // Never a secret: not a password (typed, one-time, chosen, reset), a token, the API key, the
    // callback secret, a reset token.
    let text = format!("{}{}", Value::from(log), Value::from(platform));
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret is in the audit log: {secret}");
    }
}

/// A tenant with `n` settings changes (each an entry) on top of its provisioning's entries.
async fn busy_tenant(tp: &TestPlatform, n: usize) -> ActiveTenant {
    let t = provision_and_activate(tp).await;
    for i in 0..n {
        let zone = if i % 2 == 0 { "Asia/Kolkata" } else { "UTC" };
        let r = tp.http.patch(tp.url("/tenant/settings")).bearer_auth(&t.token).json(&json!({"time_zone": zone}));
        assert_eq!(r.send().await.unwrap().status(), StatusCode::OK);
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sees_its_own_entries_with_filters_and_exact_paging() {
    let tp = platform().await;
    let admin = tp.admin_token().await;
    let a = busy_tenant(&tp, 30).await;
    let b = busy_tenant(&tp, 3).await;

    // Isolation: each tenant's log holds its own entries only, the super admin's included.
    let log_a = all_entries(&tp, &a.token, "/audit-log", 500).await;
    let log_b = all_entries(&tp, &b.token, "/audit-log", 500).await;
    assert!(log_a.iter().all(|e| e["tenant_id"] == a.id.as_str()));
    assert!(log_b.iter().all(|e| e["tenant_id"] == b.id.as_str()));
    assert_eq!(with_action(&log_b, "tenant.settings_changed").len(), 3);
    assert_eq!(entry(&log_a, "tenant.created", "super_admin")["target"]["id"], a.id.as_str());
    let by_admin = all_entries(&tp, &admin, &format!("/admin/audit-log?tenant_id={}", b.id), 500).await;
    assert_eq!(by_admin, log_b, "the super admin's view of one tenant is that tenant's log");

    // Paging across the shards: small pages give exactly the one-page list, in order.
    let ids = |entries: &[Value]| entries.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let whole = ids(&log_a);
    assert!(whole.len() >= 33, "{}", whole.len());
    for limit in [1, 4, 7] {
        let paged = ids(&all_entries(&tp, &a.token, "/audit-log", limit).await);
        assert_eq!(paged, whole, "pages of {limit}");
    }

    // Filters: an action, an actor, a time window, and combined with paging.
    let changes = all_entries(&tp, &a.token, "/audit-log?action=tenant.settings_changed", 4).await;
    assert_eq!(changes.len(), 30);
    assert!(changes.iter().all(|e| e["action"] == "tenant.settings_changed"));
    assert_eq!(changes[0]["changes"]["time_zone"], json!(["Asia/Kolkata", "UTC"]), "the newest: the 30th change");
    let me = get_ok(&tp, &a.token, "/auth/me").await["id"].as_str().unwrap().to_owned();
    let mine = all_entries(&tp, &a.token, &format!("/audit-log?actor_id={me}"), 500).await;
    assert!(mine.len() >= 32 && mine.iter().all(|e| e["actor"]["id"] == me.as_str()));
    assert!(mine.len() < log_a.len(), "the super admin's entries are someone else's");
    let (newer, older) = (&changes[5], &changes[20]);
    let window = format!(
        "/audit-log?action=tenant.settings_changed&from={}&to={}",
        urlencode(older["at"].as_str().unwrap()),
        urlencode(newer["at"].as_str().unwrap())
    );
    let within = all_entries(&tp, &a.token, &window, 3).await;
    assert_eq!(ids(&within), ids(&changes[5..=20]), "from and to are inclusive");
    let at = |e: &Value| e["at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert!(within.iter().all(|e| at(e) >= at(older) && at(e) <= at(newer)));
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_read_the_logs_and_filters_are_checked() {
    let tp = platform().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;

    let r = tp.http.get(tp.url("/audit-log")).bearer_auth(&agent.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    let r = tp.http.get(tp.url("/admin/audit-log")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    let r = tp.http.get(tp.url("/audit-log")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");

    for (query, field) in [
        ("action=member.hugged", "action"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let r = tp.http.get(tp.url(&format!("/audit-log?{query}"))).bearer_auth(&t.token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], field, "{query}: {body}");
    }
    let r = tp.http.get(tp.url("/audit-log?cursor=forged")).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_cursor");
    let r = tp.http.get(tp.url("/admin/audit-log?tenant_id=ten_nope")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Another list's cursor is not a position in this one.
    let members = get_ok(&tp, &t.token, "/members?limit=1").await;
    let foreign = members["next_cursor"].as_str().expect("two members: a next page");
    let r = tp.http.get(tp.url(&format!("/audit-log?cursor={foreign}"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::BAD_REQUEST).await, "invalid_cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_carry_the_400_day_ttl_and_expire_with_it() {
    let tp = platform().await;
    let t = provision_and_activate(&tp).await;
    let ports = tp.ports();

    // Every stored entry: in a shard of the tenant, in the platform list, with its TTL.
    let mut stored = Vec::new();
    for shard in 0..keys::AUDIT_SHARDS {
        let page = ports.table.query(Query::table(keys::audit_partition(Some(&t.id), shard))).await.unwrap();
        stored.extend(page.items);
    }
    assert!(stored.len() >= 3, "created, signed in, password changed: {}", stored.len());
    for item in &stored {
        let at: DateTime<Utc> = item.get_str("at").unwrap().parse().unwrap();
        assert_eq!(item.ttl(), Some((at + Duration::days(400)).timestamp()), "{item:?}");
        assert!(item.get_str("GSI1PK").unwrap().starts_with("AUDIT#"));
        assert_eq!(item.get_str("GSI1SK"), item.get_str("SK"));
    }

    // An entry 401 days old is past its TTL: neither listed nor read.
    let old_at = Utc::now() - Duration::days(401);
    let old = Context::system()
        .entry(ports, Some(&t.id), "tenant.changed", Target::new("tenant", &t.id))
        .dedup("an old change", old_at);
    audit::record(ports, old.clone()).await.unwrap();
    assert_eq!(ports.table.get(&keys::audit_entry(Some(&t.id), &old.id)).await.unwrap(), None);
    let log = all_entries(&tp, &t.token, "/audit-log", 500).await;
    assert!(log.iter().all(|e| e["id"] != old.id.as_str()) && !log.is_empty());

    // Recording the same action again (a redelivered event) is one entry.
    let recent = Context::system()
        .entry(ports, Some(&t.id), "tenant.changed", Target::new("tenant", &t.id))
        .dedup("event-1", Utc::now());
    audit::record(ports, recent.clone()).await.unwrap();
    audit::record(ports, recent.clone().dedup("event-1", recent.at)).await.unwrap();
    let log = all_entries(&tp, &t.token, "/audit-log?actor_id=system", 500).await;
    assert_eq!(log.len(), 1, "{log:?}");
}
