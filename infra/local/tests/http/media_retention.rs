//! SPEC → Media and rich messages: "stored media is deleted after the plan's
//! `media_retention_days`, and its message shows `media.status: "expired"`". The plan field is
//! validated; on the local process the retention sweep (run hourly beside the reconciler) deletes the
//! files through the storage port and marks items and messages expired; `GET /media/{id}` then
//! answers 410 `media_expired`. Time is the sweep's argument: no sleeps.

use chrono::{Duration, Utc};
use miping::domain::media::retention;
use miping::ports::storage::MediaKey;
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
    let r = tp
        .http
        .patch(tp.url(&format!("/plans/{}", t.plan_id)))
        .bearer_auth(&admin)
        .json(&json!({"media_retention_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["media_retention_days"], 30);

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
