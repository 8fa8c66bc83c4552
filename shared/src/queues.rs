//! The platform's logical queues. On AWS each maps to `<NAME>_QUEUE_URL` (and `<NAME>_DLQ_URL`).

use crate::ports::queue::QueueName;

/// Outbound WhatsApp messages for the send worker.
pub const SEND: QueueName = QueueName("send");
/// Raw Meta webhook events for the processor.
pub const WEBHOOK: QueueName = QueueName("webhook");
/// Credential and notification emails, sent after the write that caused them commits.
pub const MAIL: QueueName = QueueName("mail");

/// Outbound callbacks to tenants' own systems: one job per delivery attempt.
pub const CALLBACK: QueueName = QueueName("callback");

pub const ALL: [QueueName; 4] = [SEND, WEBHOOK, MAIL, CALLBACK];
