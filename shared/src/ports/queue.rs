//! The queue port: at-least-once work queues in the shape of SQS standard queues with a
//! dead-letter queue.
//!
//! Semantics (both adapters, checked by `testkit::queue`):
//! - `send_batch` enqueues every message or fails; large batches are split by the adapter.
//! - `receive` hands out up to `max` visible messages and hides each one for the queue's
//!   visibility timeout; a message not acked by then becomes visible again. Each receive
//!   increments `receive_count`.
//! - A message received more than the queue's `max_receives` times without an ack moves to the
//!   queue's dead-letter queue instead of being delivered again (SQS redrive policy).
//! - `retry_after` makes a received message visible again after `delay` (SQS
//!   ChangeMessageVisibility): the way a consumer backs off.
//! - Messages may carry a **message group** (the tenant id on the send lanes). Groups share a
//!   queue fairly: a group with a large backlog cannot starve the others. On SQS that is a fair
//!   queue (`MessageGroupId` on a standard queue: a group with many messages in flight does not
//!   delay the others' dwell time); the embedded queue's `receive` goes round-robin over groups.
//!   Messages without a group form one group of their own. Order is never guaranteed.
//! - In Lambda, consumers do not call `receive`: the event source mapping delivers records and
//!   the consumer reports partial batch failures (see `runtime::consumer`).

use std::time::Duration;

use async_trait::async_trait;

/// A logical queue. The AWS adapter maps it to a queue URL from configuration
/// (`<NAME>_QUEUE_URL`, e.g. `SEND_QUEUE_URL`); the embedded adapter keeps it in its database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueueName(pub &'static str);

impl QueueName {
    pub fn as_str(&self) -> &'static str {
        self.0
    }
    /// The environment variable holding this queue's URL on AWS.
    pub fn url_env(&self) -> String {
        format!("{}_QUEUE_URL", self.0.to_ascii_uppercase())
    }
    /// The environment variable holding the URL of this queue's dead-letter queue on AWS
    /// (`<NAME>_DLQ_URL`); only needed to inspect dead letters.
    pub fn dlq_url_env(&self) -> String {
        format!("{}_DLQ_URL", self.0.to_ascii_uppercase())
    }
}

/// Per-queue delivery settings. On AWS they are queue attributes set by infrastructure
/// (`VisibilityTimeout` and the redrive policy's `maxReceiveCount`); the embedded adapter takes
/// them at construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// How long a received message stays hidden before it is delivered again.
    pub visibility_timeout: Duration,
    /// Deliveries without an ack before the message moves to the dead-letter queue.
    pub max_receives: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self { visibility_timeout: Duration::from_secs(30), max_receives: 5 }
    }
}

impl std::fmt::Display for QueueName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutMessage {
    pub body: String,
    /// Not deliverable before this delay (SQS allows up to 15 minutes).
    pub delay: Duration,
    /// The fairness group (e.g. the tenant id); see the module docs.
    pub group: Option<String>,
}

/// Longest message group id SQS accepts.
pub const MAX_GROUP_LEN: usize = 128;

impl OutMessage {
    pub fn new(body: impl Into<String>) -> Self {
        Self { body: body.into(), delay: Duration::ZERO, group: None }
    }
    /// Puts the message in a fairness group (at most 128 characters, SQS's limit).
    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A received message. `receipt` identifies this delivery for `ack`/`retry_after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub receipt: String,
    pub body: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("unknown queue {0}")]
    UnknownQueue(String),
    #[error("message larger than 256 KB")]
    MessageTooLarge,
    #[error("invalid queue request: {0}")]
    Invalid(String),
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// Largest message body both backends accept (SQS: 256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Longest delay SQS accepts for a message or a visibility change.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// The checks both adapters make before sending anything (SQS's limits): body size, delay,
/// and a group id of 1..=128 printable ASCII characters.
pub fn validate(m: &OutMessage) -> Result<(), QueueError> {
    if m.body.len() > MAX_MESSAGE_BYTES {
        return Err(QueueError::MessageTooLarge);
    }
    if m.delay > MAX_DELAY {
        return Err(QueueError::Invalid(format!("delay {:?} exceeds the 15 minute maximum", m.delay)));
    }
    if let Some(group) = &m.group
        && (group.is_empty() || group.len() > MAX_GROUP_LEN || !group.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(QueueError::Invalid("message group must be 1-128 printable ASCII characters".into()));
    }
    Ok(())
}

#[async_trait]
pub trait Queue: Send + Sync + 'static {
    async fn send_batch(&self, queue: QueueName, messages: Vec<OutMessage>) -> Result<(), QueueError>;
    /// Waits up to `wait` for at least one message (long polling), returns at most `max`.
    async fn receive(&self, queue: QueueName, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError>;
    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError>;
    async fn retry_after(&self, queue: QueueName, receipt: &str, delay: Duration) -> Result<(), QueueError>;
    /// Messages currently in the queue's dead-letter queue (for inspection and redrive), at most `max`.
    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, QueueError>;

    async fn send(&self, queue: QueueName, message: OutMessage) -> Result<(), QueueError> {
        self.send_batch(queue, vec![message]).await
    }
}
