//! Every real Meta webhook body in `shared/fixtures/meta-webhooks`, signed and posted to the
//! receiver over HTTP, routed to one tenant, and processed in-process: the stored effect of each.

use crate::common::*;
use miping::ports::table::{Item, Query};
use miping::store::keys;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn every_fixture_has_its_effect() {
    let tp = start().await;
    let t = provision_and_activate(&tp).await;
    let ports = tp.platform.as_ref().unwrap().state.ports.clone();
    let fixtures = miping::testkit::fixtures("meta-webhooks");

    // Route every number and WABA the fixtures mention to this tenant (as a connect would).
    for (_, body) in &fixtures {
        let v: Value = serde_json::from_slice(body).unwrap();
        for entry in v["entry"].as_array().unwrap() {
            let waba = entry["id"].as_str().map(str::to_string).unwrap_or_else(|| entry["id"].to_string());
            ports.table.put(Item::new(keys::waba_route(&waba)).with("tenant_id", t.id.clone()), None).await.unwrap();
            for change in entry["changes"].as_array().unwrap() {
                if let Some(phone) = change["value"]["metadata"]["phone_number_id"].as_str() {
                    ports
                        .table
                        .put(Item::new(keys::phone_route(phone)).with("tenant_id", t.id.clone()), None)
                        .await
                        .unwrap();
                }
            }
        }
    }
    for (name, body) in &fixtures {
        assert_eq!(post_signed_webhook(&tp, body).await.status(), StatusCode::OK, "{name}");
    }

    // Inbound messages of every type became inbox messages (one per wamid, even when the same
    // wamid appears in several fixtures).
    let inbound_wamids: std::collections::BTreeSet<String> = fixtures
        .iter()
        .filter(|(n, _)| n.starts_with("inbound_"))
        .map(|(_, b)| {
            serde_json::from_slice::<Value>(b).unwrap()["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let probe = ports.clone();
    let tenant = t.id.clone();
    let wamids = inbound_wamids.clone();
    until(15, "every inbound message recorded", move || {
        let (ports, tenant, wamids) = (probe.clone(), tenant.clone(), wamids.clone());
        async move {
            for w in &wamids {
                if ports.table.get(&keys::unique_inbound_wamid(&tenant, w)).await.unwrap().is_none() {
                    return false;
                }
            }
            true
        }
    })
    .await;
    let r = tp.http.get(tp.url("/conversations")).bearer_auth(&t.token).send().await.unwrap();
    let convs: Value = r.json().await.unwrap();
    let convs = convs["items"].as_array().unwrap();
    assert!(convs.len() >= 2, "the phone customer and the username-only customer");
    assert!(convs.iter().all(|c| c["window_open"].is_boolean()));

    // The username-only customer is a contact without a phone, and the marketing preference
    // fixture (resume) recorded an explicit opt-in for its number. The preference is a delivery
    // of its own, processed in any order with the others (and posted last): wait for it too.
    let contacts = eventually(15, "the username-only and the preference's contacts", || async {
        let r = tp.http.get(tp.url("/contacts?limit=100")).bearer_auth(&t.token).send().await.unwrap();
        let contacts: Value = r.json().await.unwrap();
        let contacts = contacts["items"].as_array().unwrap().clone();
        let both = contacts.iter().any(|c| c["wa_user_id"] == "user.93737...")
            && contacts.iter().any(|c| c["phone"] == "+16505551234");
        both.then_some(contacts)
    })
    .await;
    let username_only = contacts.iter().find(|c| c["wa_user_id"] == "user.93737...").expect("username-only contact");
    assert_eq!(username_only["phone"], Value::Null);
    let resumed = contacts.iter().find(|c| c["phone"] == "+16505551234").expect("the preference's contact");
    assert_eq!(resumed["opted_out"], false);

    // Statuses for messages this tenant never sent are parked under their wamid, not lost.
    // (The inbound image fixture reuses the same wamid: an inbound message never takes statuses.)
    let probe = ports.clone();
    let tenant = t.id.clone();
    until(15, "the statuses parked", move || {
        let (ports, tenant) = (probe.clone(), tenant.clone());
        async move {
            let parked = ports.table.query(Query::table(keys::parked_statuses(&tenant, "wamid.xyzxyz"))).await.unwrap();
            let mut statuses: Vec<String> =
                parked.items.iter().filter_map(|i| i.get_str("status").map(str::to_string)).collect();
            statuses.sort();
            statuses == ["delivered", "failed", "read", "sent"]
        }
    })
    .await;

    // Template events for templates this tenant does not have are set aside for inspection.
    let quarantined = ports.table.query(Query::index(keys::LISTS, keys::QUARANTINE_LIST).limit(100)).await.unwrap();
    assert!(quarantined.items.iter().any(|i| i.get_str("detail").unwrap_or("").contains("template")));
    assert!(!quarantined.items.iter().any(|i| i.get_str("reason") == Some("malformed")));
}
