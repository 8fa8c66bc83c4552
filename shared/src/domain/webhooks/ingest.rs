//! Persist-first ingestion: a verified webhook body is made durable on the webhook queue before
//! Meta gets its 200, and nothing about its business meaning is parsed here (that is the
//! processor's job, retried and dead-lettered independently).
//!
//! The queue message is an envelope `{"v":1,"id","received_at","body"}` carrying the raw body
//! as a string, so it can be reprocessed byte for byte. A body whose envelope would exceed the
//! queue's 256 KB limit is stored in the table first (claim check: chunks under the item
//! limit, expiring with the queue's retention) and the envelope carries `"claim": <chunks>`.

use serde::{Deserialize, Serialize};

use crate::ports::Ports;
use crate::ports::queue::{MAX_MESSAGE_BYTES, OutMessage, QueueError};
use crate::ports::table::{Item, TableError, TxOp};
use crate::store::keys;

/// Raw events outlive the queue's 14-day retention by a day, for inspection.
const RAW_TTL_SECS: i64 = 15 * 24 * 3600;
/// Chunk size for claim-checked bodies: well under the 400 KB item limit with the JSON escaping.
const CHUNK_BYTES: usize = 300 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Envelope {
    pub v: u8,
    pub id: String,
    pub received_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Number of table chunks holding the body (claim check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("webhook body is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Makes `body` durable; returns the event id. Only after `Ok` may the receiver answer 200.
pub async fn ingest(ports: &Ports, body: &[u8]) -> Result<String, IngestError> {
    let text = std::str::from_utf8(body).map_err(|_| IngestError::NotUtf8)?;
    let id = ports.ids.new_id("evt");
    let received_at = ports.clock.now().timestamp_millis();
    let mut envelope = Envelope { v: 1, id: id.clone(), received_at, body: Some(text.to_string()), claim: None };
    let mut message = serde_json::to_string(&envelope).expect("envelope serializes");
    if message.len() > MAX_MESSAGE_BYTES {
        let chunks = store_claim(ports, &id, text).await?;
        envelope.body = None;
        envelope.claim = Some(chunks);
        message = serde_json::to_string(&envelope).expect("envelope serializes");
    }
    ports.queue.send(crate::queues::WEBHOOK, OutMessage::new(message)).await?;
    Ok(id)
}

async fn store_claim(ports: &Ports, id: &str, text: &str) -> Result<usize, TableError> {
    let ttl = ports.clock.epoch_seconds() + RAW_TTL_SECS;
    let chunks = split_utf8(text, CHUNK_BYTES);
    let ops: Vec<TxOp> = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| TxOp::Put {
            item: Item::new(keys::raw_webhook_chunk(id, i)).with("body", *chunk).with_ttl(ttl),
            cond: None,
        })
        .collect();
    let n = ops.len();
    // One transaction: either the whole body is there or none of it (at most 100 chunks = 30 MB,
    // far beyond any Meta webhook).
    ports.table.transact(ops).await?;
    Ok(n)
}

/// Reads a claim-checked body back.
pub async fn load_claim(ports: &Ports, id: &str, chunks: usize) -> Result<Option<String>, TableError> {
    let mut body = String::new();
    for i in 0..chunks {
        match ports.table.get(&keys::raw_webhook_chunk(id, i)).await? {
            Some(item) => body.push_str(item.get_str("body").unwrap_or_default()),
            None => return Ok(None),
        }
    }
    Ok(Some(body))
}

/// Splits at char boundaries into pieces of at most `max` bytes.
fn split_utf8(s: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_char_boundaries() {
        let s = "aé".repeat(10);
        let parts = split_utf8(&s, 4);
        assert!(parts.iter().all(|p| p.len() <= 4));
        assert_eq!(parts.concat(), s);
    }
}
