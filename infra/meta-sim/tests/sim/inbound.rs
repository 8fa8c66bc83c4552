//! Customers' messages (`/_sim/inbound`): each media kind as a generated valid file behind
//! Meta's media message shape, downloadable through Graph; interactive replies, quick-reply
//! buttons, reactions, locations and shared contacts in Meta's shapes.

use base64::Engine;
use meta_sim::{SimConfig, business_for_code};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

struct Customer {
    sim: meta_sim::SimHandle,
    rx: tokio::sync::mpsc::UnboundedReceiver<Received>,
    g: Graph,
    token: String,
    phone: String,
}

async fn customer(tag: &str) -> Customer {
    let (url, rx) = receiver(meta_sim::DEFAULT_APP_SECRET, 0).await;
    let sim = sim(SimConfig { webhook_url: Some(url), ..fast_config() }).await;
    let g = Graph::new(&sim);
    let c = code(tag);
    let token = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    Customer { sim, rx, g, token, phone }
}

impl Customer {
    /// Sends `extra` from the customer; answers the hook's answer and the webhook's message.
    async fn send(&mut self, extra: Value) -> (Value, Value) {
        let mut req = json!({"phone_number_id": self.phone, "from": "+44 7700 900123", "name": "Ana"});
        req.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let r = self.g.http.post(format!("{}/_sim/inbound", self.sim.base_url())).json(&req).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        let got = next(&mut self.rx).await;
        assert!(got.signature_ok);
        assert_eq!(got.body["entry"][0]["changes"][0]["field"], "messages");
        let m = message_of(&got.body).clone();
        assert_eq!(m["id"], answer["wamid"]);
        assert_eq!(m["from"], "447700900123");
        (answer, m)
    }
}

fn starts_like(kind: &str, b: &[u8]) -> bool {
    match kind {
        "image" => b.starts_with(&[0xFF, 0xD8, 0xFF]),
        "document" => b.starts_with(b"%PDF-"),
        "audio" => b.starts_with(b"OggS") && b.windows(8).any(|w| w == b"OpusHead"),
        "video" => &b[4..8] == b"ftyp",
        "sticker" => b.starts_with(b"RIFF") && &b[8..12] == b"WEBP",
        _ => false,
    }
}

#[tokio::test]
async fn each_media_kind_arrives_as_meta_sends_it_and_downloads_through_graph() {
    let mut c = customer("inbound-media").await;
    for kind in ["image", "document", "audio", "video", "sticker"] {
        let (answer, m) = c.send(json!({"type": kind, "caption": "look", "filename": "receipt.pdf"})).await;
        assert_eq!(m["type"], kind);
        let media = &m[kind];
        assert_eq!(media["id"], answer["media_id"]);
        // The fixtures' fields, same types.
        let fixture_media = match kind {
            "document" => fixture("inbound_document.json"),
            _ => fixture("inbound_image.json"),
        };
        let fixture_kind = if kind == "document" { "document" } else { "image" };
        let mut expected = message_of(&fixture_media)[fixture_kind].clone();
        if !matches!(kind, "image" | "video" | "document") {
            expected.as_object_mut().unwrap().remove("caption");
        }
        assert_shape(&expected, media, kind);
        match kind {
            "document" => {
                assert_eq!((media["filename"].as_str(), media["caption"].as_str()), (Some("receipt.pdf"), Some("look")))
            }
            "audio" => assert_eq!(
                (media["voice"].as_bool(), media["mime_type"].as_str()),
                (Some(false), Some("audio/ogg; codecs=opus"))
            ),
            "sticker" => assert_eq!(media["animated"], false),
            _ => assert_eq!(media.get("filename"), None),
        }

        // Download as the platform will: GET /{media-id} → URL → bearer GET; check the hashes.
        let (status, info) = c.g.get(media["id"].as_str().unwrap(), &c.token).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["mime_type"], media["mime_type"]);
        let bytes =
            c.g.http
                .get(info["url"].as_str().unwrap())
                .bearer_auth(&c.token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        let digest = Sha256::digest(&bytes);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(digest),
            media["sha256"].as_str().unwrap(),
            "{kind}"
        );
        assert_eq!(info["sha256"], answer["sha256"]);
        assert_eq!(info["file_size"], bytes.len());
        assert!(starts_like(kind, &bytes), "{kind}: {:?}", &bytes[..12]);
    }

    // Variants and a minimum size.
    let (answer, m) = c.send(json!({"type": "image", "mime_type": "image/png", "size": 200_000})).await;
    assert_eq!(m["image"]["mime_type"], "image/png");
    let bytes = c.sim.media_bytes(answer["media_id"].as_str().unwrap()).await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() >= 200_000);
    let (_, m) = c.send(json!({"type": "audio", "voice": true})).await;
    assert_eq!(m["audio"]["voice"], true);
}

#[tokio::test]
async fn replies_reactions_locations_and_contacts_have_meta_shapes() {
    let mut c = customer("inbound-rich").await;
    let replied_to = "wamid.HBgLMTU1NTAwMDEyMzQVAgARGBI=";

    let reply = json!({"type": "button_reply", "button_reply": {"id": "callback_data", "title": "title"}});
    let (_, m) = c.send(json!({"type": "interactive", "interactive": reply, "context_id": replied_to})).await;
    assert_shape(message_of(&fixture("inbound_interactive_button_reply.json")), &m, "button_reply");
    assert_eq!(m["context"]["id"], replied_to);
    assert_eq!(m["interactive"], reply, "the object is sent as given");

    let list = json!({"type": "list_reply", "list_reply": {"id": "r1", "title": "Row 1"}});
    let (_, m) = c.send(json!({"type": "interactive", "interactive": list, "context_id": replied_to})).await;
    assert_shape(message_of(&fixture("inbound_interactive_list_reply.json")), &m, "list_reply");

    let (_, m) = c.send(json!({"type": "button", "context_id": replied_to})).await;
    assert_shape(message_of(&fixture("inbound_template_quick_reply_button.json")), &m, "button");

    let (_, m) = c.send(json!({"type": "reaction", "context_id": replied_to})).await;
    assert_eq!(m["reaction"]["message_id"], replied_to);
    assert!(m["reaction"]["emoji"].as_str().is_some_and(|e| !e.is_empty()));

    let (_, m) = c.send(json!({"type": "location"})).await;
    assert!(m["location"]["latitude"].is_f64() && m["location"]["longitude"].is_f64(), "{m}");
    let here = json!({"latitude": 38.7223, "longitude": -9.1393, "name": "Lisboa"});
    let (_, m) = c.send(json!({"type": "location", "location": here})).await;
    assert_eq!(m["location"], here);

    let (_, m) = c.send(json!({"type": "contacts"})).await;
    assert!(m["contacts"][0]["name"]["formatted_name"].is_string(), "{m}");
    assert!(m["contacts"][0]["phones"][0]["wa_id"].is_string(), "{m}");

    let (_, m) = c.send(json!({"text": "hello"})).await;
    assert_shape(message_of(&fixture("inbound_text.json")), &m, "text");

    // Refused: a reaction to nothing, an unknown type, a text without text.
    for bad in [json!({"type": "reaction"}), json!({"type": "hologram"}), json!({"type": "text"})] {
        let mut req = json!({"phone_number_id": c.phone, "from": "447700900123"});
        req.as_object_mut().unwrap().extend(bad.as_object().unwrap().clone());
        let r = c.g.http.post(format!("{}/_sim/inbound", c.sim.base_url())).json(&req).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
}
