//! The platform's logical queues. On AWS each maps to `<NAME>_QUEUE_URL` (and `<NAME>_DLQ_URL`).

use crate::ports::queue::QueueName;

/// Outbound WhatsApp messages for the send worker.
pub const SEND: QueueName = QueueName("send");
/// Raw Meta webhook events for the processor.
pub const WEBHOOK: QueueName = QueueName("webhook");
/// Credential and notification emails, sent after the write that caused them commits.
pub const MAIL: QueueName = QueueName("mail");

/// The send worker's bulk lane: campaign messages, so a big campaign never queues ahead of a
/// one-off message on `SEND`.
pub const SEND_BULK: QueueName = QueueName("send_bulk");
/// Campaign fan-out: one job per page of a campaign's audience (and the cancel sweep).
pub const FANOUT: QueueName = QueueName("fanout");

pub const ALL: [QueueName; 5] = [SEND, WEBHOOK, MAIL, SEND_BULK, FANOUT];
