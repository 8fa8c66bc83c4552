//! State in a data directory: a simulator restarted on the same directory still has the
//! templates with their review state, registrations, subscriptions, used codes and media.

use std::path::Path;

use meta_sim::{SimConfig, SimHandle, business_for_code};
use serde_json::{Value, json};

use crate::common::*;

async fn sim_in(dir: &Path) -> SimHandle {
    sim(SimConfig { data_dir: Some(dir.to_owned()), ..fast_config() }).await
}

fn template(name: &str) -> Value {
    json!({"name": name, "language": "en_US", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Ana"]]}}]})
}

#[tokio::test]
async fn a_restart_on_the_same_directory_forgets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = sim_in(dir.path()).await;
    let g = Graph::new(&first);
    let c = code("persist");
    let token = g.token(&c).await;
    let b = business_for_code(&c);
    let (waba, phone) = (b.waba_id.clone(), b.phone_numbers[0].id.clone());
    assert_eq!(
        g.post(&format!("{phone}/register"), &token, json!({"messaging_product": "whatsapp", "pin": "123456"})).await.0,
        200
    );
    assert_eq!(g.post(&format!("{waba}/subscribed_apps"), &token, json!({})).await.0, 200);
    let approved = g.post(&format!("{waba}/message_templates"), &token, template("order_update")).await.1["id"].clone();
    let rejected =
        g.post(&format!("{waba}/message_templates"), &token, template("promo_reject_me")).await.1["id"].clone();
    let (approved, rejected) = (approved.as_str().unwrap().to_owned(), rejected.as_str().unwrap().to_owned());
    first.wait_template_status(&waba, &approved, "APPROVED").await;
    first.wait_template_status(&waba, &rejected, "REJECTED").await;
    let media = g.upload(&phone, &token, "application/pdf", "invoice.pdf", b"%PDF-1.4\n%%EOF\n").await.1["id"].clone();
    let media = media.as_str().unwrap().to_owned();
    // One still in review when the simulator stops: the next one finishes the review.
    first.configure(|c| c.template_review_delay = std::time::Duration::from_secs(3600));
    let pending = g.post(&format!("{waba}/message_templates"), &token, template("late_review")).await.1["id"].clone();
    let pending = pending.as_str().unwrap().to_owned();
    first.shutdown();

    let second = sim_in(dir.path()).await;
    let g = Graph::new(&second);
    let (status, t) = g.get(&approved, &token).await;
    assert_eq!((status, t["status"].as_str(), t["name"].as_str()), (200, Some("APPROVED"), Some("order_update")));
    let (_, t) = g.get(&format!("{rejected}?fields=status,rejected_reason"), &token).await;
    assert_eq!((t["status"].as_str(), t["rejected_reason"].as_str()), (Some("REJECTED"), Some("INVALID_FORMAT")));
    let (_, list) = g.get(&format!("{waba}/message_templates"), &token).await;
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["order_update", "promo_reject_me", "late_review"], "same order");
    second.wait_template_status(&waba, &pending, "APPROVED").await;

    assert!(second.is_registered(&phone));
    assert!(second.is_subscribed(&waba));
    assert_eq!(g.exchange(&c).await.1["error"]["error_subcode"], 36009, "a used code stays used");
    let (_, info) = g.get(&media, &token).await;
    let bytes =
        g.http.get(info["url"].as_str().unwrap()).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"%PDF-1.4\n%%EOF\n");

    // New ids keep increasing after the restart (paging cursors rely on it).
    let newer = g.post(&format!("{waba}/message_templates"), &token, template("after_restart")).await.1["id"].clone();
    let newer: u64 = newer.as_str().unwrap().parse().unwrap();
    assert!(newer > pending.parse::<u64>().unwrap());

    // A deletion is durable too.
    assert_eq!(g.delete(&format!("{waba}/message_templates?name=order_update"), &token).await.0, 200);
    assert_eq!(g.delete(&media, &token).await.0, 200);
    second.shutdown();
    let third = sim_in(dir.path()).await;
    assert!(third.templates(&waba).iter().all(|t| t.name != "order_update"));
    assert!(third.media(&media).is_none());
    assert!(third.media_bytes(&media).await.is_none());
}

#[tokio::test]
async fn an_unreadable_state_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("state.json"), b"{\"version\": 1, \"templates\": [").unwrap();
    let err = meta_sim::start(
        SimConfig { data_dir: Some(dir.path().to_owned()), ..fast_config() },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .err()
    .expect("a corrupt state is not silently replaced by an empty one");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn without_a_directory_media_lives_in_memory() {
    let sim = sim(fast_config()).await;
    assert_eq!(sim.config().data_dir, None);
    let g = Graph::new(&sim);
    let c = code("memory");
    let token = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    let (status, body) = g.upload(&phone, &token, "text/plain", "a.txt", b"hello").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.media_bytes(body["id"].as_str().unwrap()).await.unwrap(), b"hello");
}

#[tokio::test]
async fn media_older_than_thirty_days_is_gone_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = sim_in(dir.path()).await;
    let g = Graph::new(&first);
    let c = code("old-media");
    let token = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    let old = g.upload(&phone, &token, "text/plain", "old.txt", b"old").await.1["id"].as_str().unwrap().to_owned();
    let new = g.upload(&phone, &token, "text/plain", "new.txt", b"new").await.1["id"].as_str().unwrap().to_owned();
    first.shutdown();

    // Age one of them by 31 days in the state file.
    let path = dir.path().join("state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for m in state["media"].as_array_mut().unwrap() {
        if m["id"] == old.as_str() {
            m["created_at"] = json!(m["created_at"].as_u64().unwrap() - 31 * 24 * 3600);
        }
    }
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();

    let second = sim_in(dir.path()).await;
    assert!(second.media(&old).is_none());
    assert!(!dir.path().join("media").join(&old).exists(), "its bytes are deleted");
    assert_eq!(second.media_bytes(&new).await.unwrap(), b"new");
    let saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved["media"].as_array().unwrap().len(), 1);
}
