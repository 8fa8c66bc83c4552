//! `/members` over HTTP (SPEC → Team, Roles): the invitation email and the agent's first sign-in,
//! what an agent may and may not call, the seat limit under concurrent invitations, the last
//! active admin, sessions ended by a role change, a deactivation or a removal, and tenant
//! isolation.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn patch(tp: &TestPlatform, token: &str, id: &str, body: Value) -> reqwest::Response {
    tp.http.patch(tp.url(&format!("/members/{id}"))).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn delete(tp: &TestPlatform, token: &str, id: &str) -> reqwest::Response {
    tp.http.delete(tp.url(&format!("/members/{id}"))).bearer_auth(token).send().await.unwrap()
}

async fn me(tp: &TestPlatform, token: &str) -> reqwest::Response {
    tp.http.get(tp.url("/auth/me")).bearer_auth(token).send().await.unwrap()
}

/// The admin's own user id.
async fn my_id(tp: &TestPlatform, token: &str) -> String {
    me(tp, token).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn set_seat_limit(tp: &TestPlatform, plan_id: &str, seats: u64) {
    let admin = tp.admin_token().await;
    let r = tp
        .http
        .patch(tp.url(&format!("/plans/{plan_id}")))
        .bearer_auth(&admin)
        .json(&json!({"seat_limit": seats}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["seat_limit"], seats);
}

#[tokio::test]
async fn an_invited_agent_signs_in_from_the_email_and_gets_only_the_agents_routes() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let email = "ravi@team.test";
    let r = invite(&tp, &t.token, email, "TENANT_AGENT").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let member: Value = r.json().await.unwrap();
    assert_eq!(member["email"], email);
    assert_eq!(member["role"], "TENANT_AGENT");
    assert_eq!(member["status"], "active");
    assert_eq!(member["must_change_password"], true);
    assert!(member.get("password").is_none() && !member.to_string().contains("password\":\""));

    // The invitation email: the console's sign-in URL and a one-time password.
    let (mail, one_time) = welcome_password(&tp, email, 0).await;
    assert!(mail.text.contains("http://"), "the email links to the console: {}", mail.text);
    let r = tp.login(email, &one_time).await;
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.unwrap();
    assert_eq!(login["user"]["role"], "TENANT_AGENT");
    assert_eq!(login["user"]["tenant_id"], t.id);
    assert_eq!(login["user"]["must_change_password"], true);
    let agent = login["token"].as_str().unwrap().to_owned();
    // Forced change first.
    let (status, body) = get_json(&tp, &agent, "/contacts").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("password_change_required")));
    assert_eq!(
        change_password(&tp, &agent, &one_time, "the agent's own password").await.status(),
        StatusCode::NO_CONTENT
    );

    // Not the agent's: 403 forbidden_for_role, whatever the body.
    for (path, body) in [
        ("/campaigns", json!({"name": "x", "template": {"name": "t", "language": "en"}, "audience": {"all": true}})),
        ("/api-keys", json!({"name": "ERP"})),
        ("/templates", json!({})),
        ("/members", json!({"email": "x@team.test", "name": "X", "role": "TENANT_ADMIN"})),
        ("/contacts/import", json!({"contacts": []})),
    ] {
        let r = post(&tp, &agent, path, &body).await;
        assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role", "POST {path}");
    }
    for path in ["/members", "/api-keys", "/campaigns", "/billing/ledger", "/tenant", "/messages"] {
        let (status, body) = get_json(&tp, &agent, path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden_for_role")),
            "GET {path}"
        );
    }
    // The agent's: contacts (read, add, edit), templates to pick from, the inbox.
    let r = post(&tp, &agent, "/contacts", &json!({"phone": "+919876543210", "name": "Asha"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let contact_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = tp
        .http
        .patch(tp.url(&format!("/contacts/{contact_id}")))
        .bearer_auth(&agent)
        .json(&json!({"tags": ["vip"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = tp.http.delete(tp.url(&format!("/contacts/{contact_id}"))).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "forbidden_for_role");
    for path in ["/contacts", "/templates", "/conversations"] {
        assert_eq!(get_json(&tp, &agent, path).await.0, StatusCode::OK, "GET {path}");
    }

    // The admin sees both members.
    let list = get_ok(&tp, &t.token, "/members").await;
    let emails: Vec<&str> = list["items"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [t.email.as_str(), email]);
    assert_eq!(list["items"][1]["must_change_password"], false);
}

#[tokio::test]
async fn invitations_are_validated_and_an_email_is_taken_once() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let r = post(&tp, &t.token, "/members", &json!({})).await;
    assert_eq!(error_code(r, StatusCode::UNPROCESSABLE_ENTITY).await, "validation_failed");
    let r =
        post(&tp, &t.token, "/members", &json!({"email": "not-an-email", "name": "X", "role": "SUPER_ADMIN"})).await;
    let body: Value = r.json().await.unwrap();
    let fields: Vec<&str> =
        body["error"]["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "role"]);

    // The tenant admin's own email (in another case), and an invited member's.
    let upper = t.email.to_uppercase();
    let r = invite(&tp, &t.token, &upper, "TENANT_AGENT").await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "email_taken");
    assert_eq!(invite(&tp, &t.token, "once@team.test", "TENANT_AGENT").await.status(), StatusCode::CREATED);
    let r = invite(&tp, &t.token, "once@team.test", "TENANT_ADMIN").await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "email_taken");
    // The platform owner's too (emails are unique across the platform).
    let r = invite(&tp, &t.token, ADMIN_EMAIL, "TENANT_AGENT").await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "email_taken");
    assert_eq!(get_ok(&tp, &t.token, "/members").await["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn concurrent_invitations_take_exactly_the_plans_seats() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    // The admin holds one of 4 seats: 3 of 12 concurrent invitations get in.
    set_seat_limit(&tp, &t.plan_id, 4).await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (http, url, token) = (tp.http.clone(), tp.url("/members"), t.token.clone());
        let body = json!({"email": format!("seat{i}@team.test"), "name": format!("Seat {i}"), "role": "TENANT_AGENT"});
        attempts.spawn(async move { http.post(url).bearer_auth(token).json(&body).send().await.unwrap() });
    }
    let answers = attempts.join_all().await;
    let mut created = 0;
    for r in answers {
        match r.status() {
            StatusCode::CREATED => created += 1,
            _ => assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "seat_limit_reached"),
        }
    }
    assert_eq!(created, 3);
    let members = get_ok(&tp, &t.token, "/members").await;
    let items = members["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);

    // A deactivated member frees a seat; reactivating one past the limit is refused.
    let agent_id = items[1]["id"].as_str().unwrap();
    let r = patch(&tp, &t.token, agent_id, json!({"status": "deactivated"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "deactivated");
    assert_eq!(invite(&tp, &t.token, "late@team.test", "TENANT_AGENT").await.status(), StatusCode::CREATED);
    let r = patch(&tp, &t.token, agent_id, json!({"status": "active"})).await;
    assert_eq!(error_code(r, StatusCode::TOO_MANY_REQUESTS).await, "seat_limit_reached");
    // Removing one makes room for the reactivation.
    let late = get_ok(&tp, &t.token, "/members").await["items"][4]["id"].as_str().unwrap().to_owned();
    assert_eq!(delete(&tp, &t.token, &late).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(patch(&tp, &t.token, agent_id, json!({"status": "active"})).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_removed_deactivated_or_demoted() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let me_id = my_id(&tp, &t.token).await;
    let r = delete(&tp, &t.token, &me_id).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "last_admin");
    let r = patch(&tp, &t.token, &me_id, json!({"status": "deactivated"})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "last_admin");
    let r = patch(&tp, &t.token, &me_id, json!({"role": "TENANT_AGENT"})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "last_admin");
    // A deactivated admin does not count: still the last active one.
    let other = invite_and_activate(&tp, &t.token, "TENANT_ADMIN").await;
    assert_eq!(patch(&tp, &t.token, &other.id, json!({"status": "deactivated"})).await.status(), StatusCode::OK);
    let r = patch(&tp, &t.token, &me_id, json!({"role": "TENANT_AGENT"})).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "last_admin");
    // With another active admin, the first may step down (and its own sessions end).
    assert_eq!(patch(&tp, &t.token, &other.id, json!({"status": "active"})).await.status(), StatusCode::OK);
    let r = patch(&tp, &t.token, &me_id, json!({"role": "TENANT_AGENT", "name": "Former owner"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["role"].as_str(), body["name"].as_str()), (Some("TENANT_AGENT"), Some("Former owner")));
    assert_eq!(error_code(me(&tp, &t.token).await, StatusCode::UNAUTHORIZED).await, "session_revoked");
    let other_token = token(&tp, &other.email, &other.password).await;
    let r = delete(&tp, &other_token, &other.id).await;
    assert_eq!(error_code(r, StatusCode::CONFLICT).await, "last_admin");
}

/// Every admin demoted at the same moment: exactly one stays (never zero). Through the use case
/// itself, so that no caller's own session ends midway (over HTTP the demoted admin's pending
/// requests would get 401 instead).
#[tokio::test]
async fn concurrent_demotions_leave_exactly_one_active_admin() {
    use miping::domain::members::{self, MemberPatch};
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let mut ids = vec![my_id(&tp, &t.token).await];
    for _ in 0..5 {
        ids.push(invite_and_activate(&tp, &t.token, "TENANT_ADMIN").await.id);
    }
    let mut demotions = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let (ports, tenant_id) = (tp.ports().clone(), t.id.clone());
        let patch = MemberPatch { role: Some("TENANT_AGENT".into()), ..Default::default() };
        demotions.spawn(async move { members::patch(&ports, &tenant_id, &id, patch).await });
    }
    let results = demotions.join_all().await;
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).map(|e| e.code).collect();
    assert_eq!(refused, ["last_admin"]);
    let (page, _) = members::page(tp.ports(), &t.id, 50, None).await.unwrap();
    let admins = page.iter().filter(|m| m.role == miping::domain::user::Role::TenantAdmin).count();
    assert_eq!(admins, 1);
    // And the counter agrees with the members: the last one cannot go either.
    let last = page.iter().find(|m| m.role == miping::domain::user::Role::TenantAdmin).unwrap();
    let e = members::remove(tp.ports(), &t.id, &last.id).await.unwrap_err();
    assert_eq!(e.code, "last_admin");
}

#[tokio::test]
async fn a_role_change_a_deactivation_and_a_removal_end_the_members_sessions_at_once() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let second = token(&tp, &agent.email, &agent.password).await;

    // Role change: every session of the member ends; a new sign-in has the new role.
    assert_eq!(patch(&tp, &t.token, &agent.id, json!({"role": "TENANT_ADMIN"})).await.status(), StatusCode::OK);
    for old in [&agent.token, &second] {
        assert_eq!(error_code(me(&tp, old).await, StatusCode::UNAUTHORIZED).await, "session_revoked");
    }
    let promoted = token(&tp, &agent.email, &agent.password).await;
    assert_eq!(get_json(&tp, &promoted, "/members").await.0, StatusCode::OK);
    // A name change alone keeps the sessions.
    assert_eq!(patch(&tp, &t.token, &agent.id, json!({"name": "Ravi K."})).await.status(), StatusCode::OK);
    assert_eq!(me(&tp, &promoted).await.status(), StatusCode::OK);

    // Deactivation: out at once, and no new sign-in.
    assert_eq!(patch(&tp, &t.token, &agent.id, json!({"status": "deactivated"})).await.status(), StatusCode::OK);
    assert_eq!(error_code(me(&tp, &promoted).await, StatusCode::UNAUTHORIZED).await, "session_revoked");
    let r = tp.login(&agent.email, &agent.password).await;
    assert_eq!(error_code(r, StatusCode::FORBIDDEN).await, "account_deactivated");
    // A wrong password still gets the plain 401 (nothing learnt without the password).
    let r = tp.login(&agent.email, "not the password at all").await;
    assert_eq!(error_code(r, StatusCode::UNAUTHORIZED).await, "unauthorized");

    // Reactivated: signs in again; removed: that session ends and the account is gone.
    assert_eq!(patch(&tp, &t.token, &agent.id, json!({"status": "active"})).await.status(), StatusCode::OK);
    let back = token(&tp, &agent.email, &agent.password).await;
    assert_eq!(delete(&tp, &t.token, &agent.id).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(error_code(me(&tp, &back).await, StatusCode::UNAUTHORIZED).await, "session_revoked");
    assert_eq!(tp.login(&agent.email, &agent.password).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(delete(&tp, &t.token, &agent.id).await.status(), StatusCode::NOT_FOUND);
    // The email is free again.
    assert_eq!(invite(&tp, &t.token, &agent.email, "TENANT_AGENT").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn another_tenants_member_is_not_found() {
    let tp = start().await;
    let a = provision_and_activate(&tp).await;
    let b = provision_and_activate(&tp).await;
    let agent = invite_and_activate(&tp, &a.token, "TENANT_AGENT").await;
    let super_admin = tp.admin_token().await;
    let super_admin_id = my_id(&tp, &super_admin).await;
    for id in [agent.id.as_str(), super_admin_id.as_str(), "usr_nope"] {
        let r = patch(&tp, &b.token, id, json!({"status": "deactivated"})).await;
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found", "PATCH {id}");
        let r = delete(&tp, &b.token, id).await;
        assert_eq!(error_code(r, StatusCode::NOT_FOUND).await, "not_found", "DELETE {id}");
    }
    let emails: Vec<String> = get_ok(&tp, &b.token, "/members").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails, [b.email.as_str()]);
    // Untouched.
    assert_eq!(me(&tp, &agent.token).await.status(), StatusCode::OK);
    // The super admin has no tenant: the members routes are not theirs.
    let (status, body) = get_json(&tp, &super_admin, "/members").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden_for_role")));
}
