//! The OpenAPI document cannot drift from the routes:
//! - every route in SPEC is documented;
//! - every documented operation is served by `routes::all` (the local process's router);
//! - no route is registered outside utoipa-axum's `routes!` (which takes path and method from the
//!   handler's `#[utoipa::path]`, so a served route is a documented one);
//! - the document is well formed: OpenAPI 3.1, unique operation ids, every `$ref` resolves,
//!   every error answer is the SPEC error body.
//!
//! The test command additionally validates the served document with `openapi-spec-validator` and
//! fuzzes the local process with schemathesis against it (infra/test.sh).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use miping::app::AppState;
use miping::config::{Config, MetaConfig};
use miping::http::openapi;
use miping::ports::clock::UlidGen;
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

/// Every route in SPEC ("HTTP API" and "External API"), as `METHOD /path`.
const SPEC_ROUTES: &[&str] = &[
    "GET /health",
    "POST /auth/login",
    "POST /auth/change-password",
    "GET /auth/me",
    "POST /auth/logout",
    "POST /auth/forgot-password",
    "POST /auth/reset-password",
    "POST /plans",
    "GET /plans",
    "GET /plans/{id}",
    "PATCH /plans/{id}",
    "DELETE /plans/{id}",
    "POST /admin/tenants",
    "GET /admin/tenants",
    "GET /admin/tenants/{id}",
    "PATCH /admin/tenants/{id}",
    "POST /admin/tenants/{id}/credits",
    "GET /admin/tenants/{id}/ledger",
    "POST /admin/templates",
    "GET /admin/templates",
    "GET /tenant",
    "GET /tenant/settings",
    "PATCH /tenant/settings",
    "GET /whatsapp/signup-config",
    "POST /whatsapp/connect",
    "GET /whatsapp/status",
    "DELETE /whatsapp",
    "GET /connect",
    "POST /templates",
    "GET /templates",
    "GET /templates/{id}",
    "PATCH /templates/{id}",
    "DELETE /templates/{id}",
    "POST /templates/sync",
    "POST /templates/library/install",
    "POST /contacts",
    "POST /contacts/import",
    "GET /contacts",
    "GET /contacts/{id}",
    "PATCH /contacts/{id}",
    "DELETE /contacts/{id}",
    "POST /messages",
    "GET /messages",
    "GET /messages/{id}",
    "POST /media",
    "POST /media/uploads",
    "GET /media/{id}",
    "POST /campaigns",
    "GET /campaigns",
    "GET /campaigns/{id}",
    "POST /campaigns/{id}/cancel",
    "GET /campaigns/{id}/report",
    "GET /campaigns/{id}/recipients.csv",
    "POST /campaigns/{id}/retry-failed",
    "GET /conversations",
    "GET /conversations/{id}",
    "GET /conversations/{id}/messages",
    "POST /conversations/{id}/messages",
    "POST /conversations/{id}/read",
    "POST /conversations/{id}/assign",
    "POST /conversations/{id}/resolve",
    "POST /conversations/{id}/reopen",
    "POST /conversations/{id}/notes",
    "POST /canned-replies",
    "GET /canned-replies",
    "PATCH /canned-replies/{id}",
    "DELETE /canned-replies/{id}",
    "POST /api-keys",
    "GET /api-keys",
    "DELETE /api-keys/{id}",
    "GET /billing/ledger",
    "GET /analytics/daily",
    "GET /analytics/templates",
    "GET /admin/analytics/daily",
    "POST /members",
    "GET /members",
    "PATCH /members/{id}",
    "DELETE /members/{id}",
    "PUT /settings/callback",
    "POST /api/v1/trigger-message",
    "GET /api/v1/messages/{id}",
    "GET /webhook/meta",
    "POST /webhook/meta",
    "GET /audit-log",
    "GET /admin/audit-log",
    "GET /",
];

/// Documented routes served by the web console's crate (`miping-console`, merged beside
/// `routes::api` by the local process), not by `routes::all`: the local process's tests check
/// them (`infra/local/tests/http/console/auth.rs`).
const CONSOLE_ROUTES: &[&str] = &["GET /"];

/// Routes SPEC.md names that this round's open issues add, by issue. Each must be absent from the
/// document until it is served (`pending_routes_are_not_served_yet`); its issue moves it into
/// `SPEC_ROUTES` when it lands, and the SPEC check below accepts nothing else.
pub(crate) const PENDING: &[(&str, u32)] = &[];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub(crate) fn documented(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    out
}

fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((format!("{} {path}", m.to_uppercase()), op));
            }
        }
    }
    out
}

#[test]
fn every_spec_route_is_documented() {
    let documented = documented(&openapi::document());
    let missing: Vec<_> = SPEC_ROUTES.iter().filter(|r| !documented.contains(**r)).collect();
    assert!(missing.is_empty(), "SPEC routes missing from the OpenAPI document: {missing:?}");
}

/// The SPEC file (beside the repository, as in CI) names no route the list above lacks.
/// A pending route that is served belongs in `SPEC_ROUTES` (and so is checked as documented).
#[test]
fn pending_routes_are_not_served_yet() {
    let documented = documented(&openapi::document());
    let served: Vec<_> = PENDING.iter().filter(|(r, _)| documented.contains(*r)).collect();
    assert!(served.is_empty(), "move these from PENDING to SPEC_ROUTES: {served:?}");
}

#[test]
fn the_route_list_matches_the_spec_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [root.join("../shared/SPEC.md"), root.join("../../shared/SPEC.md")];
    let Some(spec) = candidates.iter().find_map(|p| std::fs::read_to_string(p).ok()) else {
        eprintln!("SPEC.md not found beside the repository; only the built-in route list is checked");
        return;
    };
    // Routes are named in backticks, e.g. `GET /contacts?tag=&q=`; the simulator's section is not ours.
    let api = spec.split("## Billing rules").next().unwrap();
    let mut named = BTreeSet::new();
    for span in api.split('`').skip(1).step_by(2) {
        let Some((method, rest)) = span.split_once(' ') else { continue };
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) || !rest.starts_with('/') {
            continue;
        }
        let path = rest.split(['?', ' ']).next().unwrap();
        // Meta's own Graph endpoints, quoted in the media section (`POST /{phone}/media`).
        if ["/{phone}/media", "/{media-id}"].contains(&path) {
            continue;
        }
        named.insert(format!("{method} {path}"));
    }
    let pending: HashSet<&str> = PENDING.iter().map(|(r, _)| *r).collect();
    let unlisted: Vec<_> =
        named.iter().filter(|r| !SPEC_ROUTES.contains(&r.as_str()) && !pending.contains(r.as_str())).collect();
    assert!(unlisted.is_empty(), "routes in SPEC.md missing from SPEC_ROUTES: {unlisted:?}");
}

#[test]
fn document_is_openapi_3_1_with_unique_ids_resolvable_refs_and_spec_errors() {
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = HashSet::new();
    for (name, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id.to_string()), "{name}: duplicate operationId {id}");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: no summary");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{name}: no tag");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{name}: no success response");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let is_error_body = response["$ref"].as_str().is_some_and(|r| r.starts_with("#/components/responses/"))
                    || response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody";
                assert!(is_error_body, "{name} {status}: not the SPEC error body");
            }
        }
        // Authenticated operations document the auth failures.
        if op.get("security").is_some() {
            assert!(responses.contains_key("401") && responses.contains_key("403"), "{name}: no 401/403");
        }
    }
    // Every $ref points at something that exists.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "x-api-key");
    assert_eq!(schemes["api_key"]["in"], "header");
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn lists_are_documented_with_cursor_pagination() {
    let doc = openapi::document();
    for (name, op) in operations(&doc) {
        let params: Vec<&str> =
            op["parameters"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
        if !params.contains(&"cursor") {
            continue;
        }
        assert!(params.contains(&"limit"), "{name}: cursor without limit");
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let schema = match schema["$ref"].as_str() {
            Some(r) => doc.pointer(r.strip_prefix('#').unwrap()).unwrap(),
            None => schema,
        };
        assert!(schema["properties"]["items"].is_object(), "{name}: no items");
        assert!(schema["properties"]["next_cursor"].is_object(), "{name}: no next_cursor");
    }
}

/// Routes registered without `routes!` (so undocumented), as `file: .route("/path"`.
fn unrouted_registrations(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The test kit's stand-in servers (e.g. storage's local URL server) are not the product's routes.
        if path.is_dir() && path.file_name().is_some_and(|n| n == "testkit") {
            continue;
        }
        // The embedded media store's signed URLs: storage (S3 itself on AWS), not an API route.
        if path.file_name().is_some_and(|n| n == "media_files.rs") {
            continue;
        }
        if path.is_dir() {
            unrouted_registrations(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            for (at, _) in source.match_indices(call) {
                let rest = &source[at + call.len()..];
                let literal = rest.trim_start().strip_prefix('"').and_then(|r| r.split('"').next());
                out.push(format!("{}: {call}{}", path.display(), literal.unwrap_or("<not a literal>")));
            }
        }
    }
}

#[test]
fn no_route_is_registered_outside_the_routes_macro() {
    let mut found = Vec::new();
    unrouted_registrations(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    assert!(
        found.is_empty(),
        "routes registered without utoipa-axum's routes! (so undocumented): {found:?}; \
         annotate the handler with #[utoipa::path] and register it with OpenApiRouter::routes(routes!(..))"
    );
}

fn state(dir: &Path) -> AppState {
    let config = Config {
        public_url: "http://127.0.0.1:3000".into(),
        jwt_secret: SecretString::from("test-session-key-0123456789abcdef0123456789"),
        jwt_ttl: std::time::Duration::from_secs(3600),
        super_admin: None,
        meta: MetaConfig {
            app_id: String::new(),
            app_secret: SecretString::from("app-secret"),
            config_id: String::new(),
            verify_token: SecretString::from("verify"),
            graph_version: "v24.0".into(),
            graph_url: "http://127.0.0.1:9".into(),
            sdk_url: miping::config::DEFAULT_SDK_URL.into(),
        },
        production: false,
        allow_private_callbacks: false,
        api_key_rate_limit: miping::config::DEFAULT_API_KEY_RATE_LIMIT,
        login_throttle: Default::default(),
        password_reset_ttl: miping::config::DEFAULT_PASSWORD_RESET_TTL,
        trust_forwarded_for: false,
        reconcile: Default::default(),
        send_timing: Default::default(),
    };
    let mut ports = miping::platform::embedded::ports(dir, &config.meta).unwrap();
    ports.ids = Arc::new(UlidGen::default());
    AppState::new(ports, config)
}

async fn call(app: &axum::Router, method: Method, path: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// Every documented operation reaches a handler or its auth layer in the local process's router:
/// never the "no such route" fallback, never 405.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = miping::http::routes::all(state(dir.path()));
    for name in documented(&openapi::document()) {
        if CONSOLE_ROUTES.contains(&name.as_str()) {
            continue;
        }
        let (method, path) = name.split_once(' ').unwrap();
        let concrete: String =
            path.split('/').map(|s| if s.starts_with('{') { "probe" } else { s }).collect::<Vec<_>>().join("/");
        let (status, body) = call(&app, method.parse().unwrap(), &concrete).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{name} is documented but not served");
        let fallback = status == StatusCode::NOT_FOUND && String::from_utf8_lossy(&body).contains("no such route");
        assert!(!fallback, "{name} is documented but not served");
    }
}

/// `GET /` answers HTML (the sign-in page or the console) for browsers: documented so, with a
/// cookie session rather than a bearer token, and without the JSON error answers of the API.
#[test]
fn the_console_start_page_is_documented_as_html() {
    let doc = openapi::document();
    let op = &doc["paths"]["/"]["get"];
    assert!(op["responses"]["200"]["content"]["text/html"]["schema"].is_object(), "{op}");
    assert!(op["responses"]["303"]["headers"]["Location"].is_object(), "{op}");
    assert!(op.get("security").is_none(), "{op}");
    let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "303"], "no JSON error answers");
}

/// `/openapi.json` and `/docs` are public, from the auth-api group (and so the local process).
#[tokio::test]
async fn the_document_and_the_docs_page_are_served_without_auth() {
    let dir = tempfile::tempdir().unwrap();
    let app = miping::http::routes::auth_group(state(dir.path()));
    let (status, body) = call(&app, Method::GET, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, openapi::document(), "the served document is the generated one");
    let (status, body) = call(&app, Method::GET, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("openapi.json"), "the page renders the served document");
    // Self-contained: nothing loaded from another origin.
    for needle in ["http://", "https://", "//cdn", "src=\"//"] {
        assert!(!html.contains(needle), "the docs page references {needle}");
    }
}

/// The external API is what integrators read first: key auth (not bearer), the seed payload as
/// an example, the idempotency key both ways, 202, and 429 with `Retry-After`.
#[test]
fn the_external_api_is_documented_for_integrators() {
    let doc = openapi::document();
    for (path, method) in [("/api/v1/trigger-message", "post"), ("/api/v1/messages/{id}", "get")] {
        let op = &doc["paths"][path][method];
        assert_eq!(op["security"], serde_json::json!([{"api_key": []}]), "{method} {path}");
        for status in ["401", "403", "429"] {
            assert!(op["responses"][status].is_object(), "{method} {path}: no {status}");
        }
        assert!(
            op["responses"]["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path}: 429 without Retry-After"
        );
    }
    let trigger = &doc["paths"]["/api/v1/trigger-message"]["post"];
    assert!(trigger["responses"]["202"].is_object());
    assert!(trigger["responses"]["422"].is_object());
    let example = &trigger["requestBody"]["content"]["application/json"]["examples"]["Minimal"]["value"];
    for field in ["phone", "template_name", "variables"] {
        assert!(example.get(field).is_some(), "the seed payload's {field} is in the example");
    }
    let input = &doc["components"]["schemas"]["TriggerInput"];
    assert!(input["properties"]["idempotency_key"].is_object());
    let required: Vec<&str> = input["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(required, ["phone", "template_name"]);
    let params = serde_json::to_string(&trigger["parameters"]).unwrap();
    assert!(params.contains("IdempotencyKey"), "the Idempotency-Key header is documented");
    // The callback receiver's side: the body schema, and the headers in the PUT's description.
    assert!(doc["components"]["schemas"]["CallbackEvent"]["properties"]["sequence"].is_object());
    let put = doc["paths"]["/settings/callback"]["put"]["description"].as_str().unwrap();
    for header in ["X-Miping-Signature", "X-Miping-Timestamp", "X-Miping-Event-Id", "X-Miping-Delivery-Attempt"] {
        assert!(put.contains(header), "PUT /settings/callback does not describe {header}");
    }
}

/// Campaigns are where a mistake costs most (thousands of messages): the audience rules, the
/// variable mapping syntax, skipped contacts, the up-front quota and the cancel semantics are in
/// the document, with the route-specific errors; the request example is the fuzz run's template.
#[test]
fn campaigns_are_documented_with_their_rules() {
    let doc = openapi::document();
    let create = &doc["paths"]["/campaigns"]["post"];
    let description = create["description"].as_str().unwrap();
    for needle in [
        "`all: true`",
        "`tags`",
        "`contact_ids`",
        "{{contact.name}}",
        "{{contact.phone}}",
        "{{contact.attributes.<key>}}",
        "literal",
        "skipped_opted_out",
        "skipped_missing_data",
        "quota_exceeded",
        "empty_audience",
    ] {
        assert!(description.contains(needle), "POST /campaigns does not describe {needle}");
    }
    for status in ["201", "403", "409", "422", "429"] {
        assert!(create["responses"][status].is_object(), "POST /campaigns: no {status}");
    }
    assert!(create["responses"]["429"]["description"].as_str().unwrap().contains("quota_exceeded"));
    let example = &doc["components"]["schemas"]["CampaignInput"]["example"];
    assert_eq!(example["template"], serde_json::json!({"name": "fee_reminder", "language": "en"}));
    assert!(example["variables"].as_array().unwrap().iter().any(|v| v == "{{contact.name}}"));

    let cancel = &doc["paths"]["/campaigns/{id}/cancel"]["post"];
    let description = cancel["description"].as_str().unwrap();
    for needle in ["`scheduled`", "`queued`", "`cancelled`", "Idempotent"] {
        assert!(description.contains(needle), "POST /campaigns/{{id}}/cancel does not describe {needle}");
    }
    for (path, method) in [("/campaigns/{id}", "get"), ("/campaigns/{id}/cancel", "post")] {
        assert!(doc["paths"][path][method]["responses"]["404"].is_object(), "{method} {path}: no 404");
    }
    let counts = &doc["components"]["schemas"]["CampaignCounts"]["properties"];
    for field in ["total", "queued", "sent", "delivered", "read", "failed", "skipped_opted_out"] {
        assert!(counts[field].is_object(), "Counts lacks {field}");
    }
}

/// The served document is the checked-in `shared/src/http/openapi.json` (so the auth-api Lambda
/// does not link every handler); it must be exactly what the code generates.
/// `MIPING_UPDATE_OPENAPI=1 cargo test -p miping --all-features --test integration openapi` rewrites it after a route change.
#[test]
fn the_checked_in_document_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/openapi.json");
    let generated = openapi::document_file_text();
    if std::env::var_os("MIPING_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        checked_in == generated,
        "{} is stale: run MIPING_UPDATE_OPENAPI=1 cargo test -p miping --all-features --test integration openapi",
        path.display()
    );
}
