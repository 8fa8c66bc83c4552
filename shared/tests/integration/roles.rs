//! The route × role table (`miping::http::access::ROUTES`) against the OpenAPI document and
//! `docs/roles.md`:
//! - every documented operation has exactly one row, and its `x-roles` are that row's;
//! - every row is a documented operation or a route SPEC names that is still pending;
//! - `docs/roles.md` is the table rendered (`MIPING_UPDATE_ROLES=1` rewrites it).
//!
//! What each role actually gets from every route is walked over HTTP in the local process's tests
//! (infra/local/tests/http/roles.rs).

use std::collections::BTreeSet;
use std::path::Path;

use miping::http::access::{self, Access, ROUTES};
use miping::http::openapi;
use serde_json::Value;

use super::openapi::{PENDING, documented};

#[test]
fn every_documented_route_has_one_row_and_every_row_a_route() {
    let doc = openapi::document();
    let documented = documented(&doc);
    let rows: BTreeSet<String> = ROUTES.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(rows.len(), ROUTES.len(), "a route has two rows");
    let without_row: Vec<_> = documented.iter().filter(|r| !rows.contains(*r)).collect();
    assert!(without_row.is_empty(), "documented routes without a row in http::access::ROUTES: {without_row:?}");
    let pending: BTreeSet<&str> = PENDING.iter().map(|(r, _)| *r).collect();
    let unknown: Vec<_> = rows.iter().filter(|r| !documented.contains(*r) && !pending.contains(r.as_str())).collect();
    assert!(unknown.is_empty(), "rows for routes neither documented nor pending in SPEC: {unknown:?}");
}

#[test]
fn the_document_states_each_routes_roles() {
    let doc = openapi::document();
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        if op.is_null() {
            continue;
        }
        let name = format!("{} {}", route.method, route.path);
        let schemes: Vec<&str> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys().map(String::as_str))
            .collect();
        match route.access {
            Access::Roles(roles) => {
                assert_eq!(schemes, ["bearer"], "{name}: a role route is a bearer route");
                let stated: Vec<String> = serde_json::from_value(op["x-roles"].clone()).unwrap();
                let want: Vec<String> =
                    roles.iter().map(|r| serde_json::to_value(r).unwrap().as_str().unwrap().to_owned()).collect();
                assert_eq!(stated, want, "{name}: x-roles");
            }
            Access::ApiKey => assert_eq!(schemes, ["api_key"], "{name}"),
            Access::Public | Access::Meta => assert!(schemes.is_empty(), "{name}: public but secured"),
        }
    }
}

#[test]
fn roles_doc_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/roles.md");
    let want = access::markdown();
    if std::env::var_os("MIPING_UPDATE_ROLES").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/roles.md is stale: run MIPING_UPDATE_ROLES=1 cargo test -p miping --all-features --test integration roles"
    );
}
