//! SPEC → Media and rich messages: "stored media is deleted after the plan's
//! `media_retention_days`, and its message shows `media.status: "expired"`". The plan field is
//! validated; on the local process the retention sweep (run hourly beside the reconciler) deletes the
//! files through the storage port and marks items and messages expired; `GET /media/{id}` then
//! answers 410 `media_expired`. Time is the sweep's argument: no sleeps.

use chrono::{Duration, Utc};
use miping::domain::media::retention;
use miping::ports::storage::MediaKey;
use miping::ports::table::Update;
use miping::store::media::MediaStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, error_code, post, provision_and_activate};
use crate::media::{
    PNG, customer_sends, download, inbound_message, media_answer, settled_media, stored_files, uploaded,
};

#[tokio::test]
async fn media_past_the_plans_retention_is_deleted_and_shows_expired() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    for days in [json!(0), json!(366)] {
        let mut plan = common::sample_plan();
        plan["media_retention_days"] = days.clone();
        let r = post(&tp, &admin, "/plans", &plan).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{days}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "media_retention_days");
    }
    let t = provision_and_activate(&tp).await;
    let plan = common::set_plan(&tp, &admin, &t.plan_id, json!({"media_retention_days": 30})).await;
    assert_eq!(plan["media_retention_days"], 30);

    let connection = common::connect_new(&tp, &t).await;
    let upload = uploaded(&tp, &t.token, "menu.png", "image/png", PNG).await;
    let sent = customer_sends(&tp, &connection, "919876500060", "image").await;
    let message = inbound_message(&tp, &t.token, sent["wamid"].as_str().unwrap()).await;
    let message_id = message["id"].as_str().unwrap().to_owned();
    let inbound = settled_media(&tp, &t.token, &message_id, 30).await;
    assert_eq!(inbound["status"], "ready");
    let ids = [upload["id"].as_str().unwrap().to_owned(), inbound["id"].as_str().unwrap().to_owned()];
    assert_eq!(stored_files(&tp, &t.id).len(), 2);
    // Each object carries the retention tag the bucket's lifecycle rules match (S3 makes it a tag).
    let ports = tp.ports();
    for id in &ids {
        let item = MediaStore::new(&*ports.table).get(&t.id, id).await.unwrap().unwrap();
        let head = ports.storage.head(&MediaKey::parse(&item.storage_key).unwrap()).await.unwrap();
        assert_eq!(head.metadata.get("retention-days").map(String::as_str), Some("30"), "{id}");
    }

    let now = Utc::now();
    assert_eq!(retention::sweep(ports, now + Duration::days(29)).await.unwrap(), 0, "kept 30 days");
    assert_eq!(download(&tp, &t.token, &ids[0]).await, PNG);
    assert_eq!(retention::sweep(ports, now + Duration::days(31)).await.unwrap(), 2);
    assert!(stored_files(&tp, &t.id).is_empty(), "the files are deleted");
    for id in &ids {
        let r = media_answer(&tp, &t.token, id).await;
        assert_eq!(error_code(r, StatusCode::GONE).await, "media_expired", "{id}");
    }
    let m = common::get_ok(&tp, &t.token, &format!("/messages/{message_id}")).await;
    assert_eq!(m["media"]["status"], "expired");
    // An expired file cannot be sent any more.
    common::customer_writes(&tp, &connection, "919876500060", "Send the menu again?").await;
    let body = json!({"to": "+919876500060", "media": {"kind": "image", "media_id": ids[0]}});
    let r = common::eventually(20, "the window is open", || async {
        let r = post(&tp, &t.token, "/messages", &body).await;
        (r.status() != StatusCode::UNPROCESSABLE_ENTITY).then_some(r)
    })
    .await;
    assert_eq!(error_code(r, StatusCode::GONE).await, "media_expired");
    // Nothing left to do.
    assert_eq!(retention::sweep(ports, now + Duration::days(400)).await.unwrap(), 0);
}

/// An outbound file is one stored file however many messages sent it (a campaign's header), and
/// on S3 the bucket's lifecycle deletes it without telling anyone: every message that sent it
/// reads `expired` once it is past the plan's retention, before and after any sweep.
#[tokio::test]
async fn every_message_that_sent_a_file_shows_it_expired_past_the_retention() {
    let tp = common::start().await;
    let admin = tp.admin_token().await;
    let t = provision_and_activate(&tp).await;
    common::set_plan(&tp, &admin, &t.plan_id, json!({"media_retention_days": 7})).await;
    let connection = common::connect_new(&tp, &t).await;
    let upload = uploaded(&tp, &t.token, "menu.png", "image/png", PNG).await;
    let media_id = upload["id"].as_str().unwrap().to_owned();
    let mut sent = Vec::new();
    for customer in ["919876500071", "919876500072"] {
        common::customer_writes(&tp, &connection, customer, "The menu, please").await;
        let body = json!({"to": format!("+{customer}"), "media": {"kind": "image", "media_id": media_id}});
        let r = common::eventually(20, "the window is open", || async {
            let r = post(&tp, &t.token, "/messages", &body).await;
            (r.status() == StatusCode::ACCEPTED).then_some(r)
        })
        .await;
        sent.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let status = |m: &Value| m["media"]["status"].as_str().unwrap_or_default().to_owned();
    for id in &sent {
        assert_eq!(status(&common::get_ok(&tp, &t.token, &format!("/messages/{id}")).await), "ready");
    }

    // Stored 8 days ago, as S3 sees it after its lifecycle rule ran: the item still says `ready`.
    let ports = tp.ports();
    let eight_days_ago = (Utc::now() - Duration::days(8)).to_rfc3339();
    ports
        .table
        .update(&miping::store::keys::media(&t.id, &media_id), Update::new().set("created_at", eight_days_ago), None)
        .await
        .unwrap();
    let item = MediaStore::new(&*ports.table).get(&t.id, &media_id).await.unwrap().unwrap();
    assert_eq!(item.status.as_str(), "ready", "no sweep ran");
    for id in &sent {
        assert_eq!(status(&common::get_ok(&tp, &t.token, &format!("/messages/{id}")).await), "expired", "{id}");
    }
    let list = common::get_ok(&tp, &t.token, "/messages").await;
    let listed: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| sent.contains(&m["id"].as_str().unwrap().to_owned()))
        .map(status)
        .collect();
    assert_eq!(listed, ["expired", "expired"]);
    let first = common::get_ok(&tp, &t.token, &format!("/messages/{}", sent[0])).await;
    let conversation = first["conversation_id"].as_str().expect("a sent message is in its conversation");
    let thread = common::get_ok(&tp, &t.token, &format!("/conversations/{conversation}/messages")).await;
    let in_thread = thread["items"].as_array().unwrap().iter().find(|m| m["id"] == sent[0].as_str()).unwrap();
    assert_eq!(status(in_thread), "expired");

    // The sweep deletes the file; the messages still say so.
    assert_eq!(retention::sweep(ports, Utc::now()).await.unwrap(), 1);
    assert_eq!(error_code(media_answer(&tp, &t.token, &media_id).await, StatusCode::GONE).await, "media_expired");
    for id in &sent {
        assert_eq!(status(&common::get_ok(&tp, &t.token, &format!("/messages/{id}")).await), "expired", "{id}");
    }
}
