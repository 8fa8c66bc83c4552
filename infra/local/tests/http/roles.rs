//! Every documented route (from the served OpenAPI document) with every credential — none, the
//! super admin, a tenant admin, a tenant agent, an API key — answers as the route × role table
//! (`miping::http::access::ROUTES`, rendered in docs/roles.md) says: a role the row lists is never
//! refused (no 401/403), one it does not list gets 403 `forbidden_for_role`, a credential the route
//! does not take gets 401. Requests carry no body: a refused role is refused before validation.

use crate::common::*;
use miping::http::access::{Access, lookup};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    SuperAdmin,
    TenantAdmin,
    TenantAgent,
    ApiKey,
}

struct Credentials {
    super_admin: String,
    tenant_admin: String,
    agent: String,
    api_key: String,
}

impl Credentials {
    fn apply(&self, who: Who, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match who {
            Who::Nobody => req,
            Who::SuperAdmin => req.bearer_auth(&self.super_admin),
            Who::TenantAdmin => req.bearer_auth(&self.tenant_admin),
            Who::TenantAgent => req.bearer_auth(&self.agent),
            Who::ApiKey => req.header("x-api-key", &self.api_key),
        }
    }
}

fn role(who: Who) -> Option<miping::domain::user::Role> {
    use miping::domain::user::Role;
    match who {
        Who::SuperAdmin => Some(Role::SuperAdmin),
        Who::TenantAdmin => Some(Role::TenantAdmin),
        Who::TenantAgent => Some(Role::TenantAgent),
        Who::Nobody | Who::ApiKey => None,
    }
}

/// What the table says `who` gets: `Ok(())` allowed (anything but 401/403), `Err(status, code)`.
fn expected(access: Access, who: Who) -> Result<(), (StatusCode, Option<&'static str>)> {
    match (access, who, role(who)) {
        (Access::Public, _, _) => Ok(()),
        (Access::Meta, _, _) => unreachable!("compared with the answer without credentials"),
        (Access::ApiKey, Who::ApiKey, _) => Ok(()),
        (Access::ApiKey, _, _) => Err((StatusCode::UNAUTHORIZED, None)),
        (Access::Roles(_), _, None) => Err((StatusCode::UNAUTHORIZED, None)),
        (Access::Roles(_), _, Some(r)) if access.allows(r) => Ok(()),
        (Access::Roles(_), _, Some(_)) => Err((StatusCode::FORBIDDEN, Some("forbidden_for_role"))),
    }
}

async fn call(tp: &TestPlatform, creds: &Credentials, who: Who, method: &Method, path: &str) -> (StatusCode, Value) {
    let concrete = path.replace("{id}", "nope_0000");
    let req = creds.apply(who, tp.http.request(method.clone(), tp.url(&concrete)));
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_documented_route_answers_each_role_as_the_table_says() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let agent = invite_and_activate(&tp, &t.token, "TENANT_AGENT").await;
    let r = post(&tp, &t.token, "/api-keys", &serde_json::json!({"name": "walk"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let api_key = r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    let creds =
        Credentials { super_admin: tp.admin_token().await, tenant_admin: t.token.clone(), agent: agent.token, api_key };

    let doc: Value = tp.http.get(tp.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), path.clone()));
            }
        }
    }
    // Signing out ends the session the rest of the walk uses: last.
    routes.sort_by_key(|(m, p)| (p == "/auth/logout", p.clone(), m.to_string()));
    assert!(routes.len() > 60, "the document lists {} operations", routes.len());

    let mut wrong = Vec::new();
    for (method, path) in &routes {
        let access = lookup(method, path).unwrap_or_else(|| panic!("{method} {path}: no row in the table"));
        let baseline = call(&tp, &creds, Who::Nobody, method, path).await;
        for who in [Who::Nobody, Who::SuperAdmin, Who::TenantAdmin, Who::TenantAgent, Who::ApiKey] {
            let (status, body) =
                if who == Who::Nobody { baseline.clone() } else { call(&tp, &creds, who, method, path).await };
            let code = body["error"]["code"].as_str();
            let ok = match access {
                // Meta's routes ignore our credentials: everyone gets what nobody gets.
                Access::Meta => status == baseline.0,
                _ => match expected(access, who) {
                    Ok(()) => status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    Err((want, want_code)) => status == want && want_code.is_none_or(|c| code == Some(c)),
                },
            };
            if !ok {
                wrong.push(format!("{method} {path} as {who:?}: {status} {code:?} (table: {access:?})"));
            }
        }
    }
    assert!(wrong.is_empty(), "answers that differ from the table:\n{}", wrong.join("\n"));
}
