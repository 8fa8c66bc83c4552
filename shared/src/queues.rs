//! The platform's logical queues. On AWS each maps to `<NAME>_QUEUE_URL` (and `<NAME>_DLQ_URL`).

use std::time::Duration;

use crate::ports::queue::{QueueName, QueueSettings};

/// Outbound one-off WhatsApp messages for the send worker (API and inbox sends): the fast lane.
pub const SEND: QueueName = QueueName("send");
/// Campaign messages for the same send worker: the bulk lane. Separate from [`SEND`] so a
/// tenant's 100k-recipient campaign never queues in front of anyone's one-off message; within
/// it, jobs carry the tenant id as their message group, so tenants share the lane fairly (SQS
/// fair queues; round-robin in the embedded queue).
pub const SEND_BULK: QueueName = QueueName("send_bulk");
/// Raw Meta webhook events for the processor.
pub const WEBHOOK: QueueName = QueueName("webhook");
/// Credential and notification emails, sent after the write that caused them commits.
pub const MAIL: QueueName = QueueName("mail");

/// Outbound callbacks to tenants' own systems: one job per delivery attempt.
pub const CALLBACK: QueueName = QueueName("callback");
/// Campaign fan-out: one job per page of a campaign's audience (and the cancel sweep).
pub const FANOUT: QueueName = QueueName("fanout");
/// Customers' media files to fetch from Meta into storage: one job per inbound media item.
pub const MEDIA: QueueName = QueueName("media");

pub const ALL: [QueueName; 7] = [SEND, SEND_BULK, WEBHOOK, MAIL, CALLBACK, FANOUT, MEDIA];

/// The send worker's lanes, in the order its local pollers start.
pub const SEND_LANES: [QueueName; 2] = [SEND, SEND_BULK];

/// Delivery settings per queue. `max_receives` is the redrive `maxReceiveCount` infrastructure
/// must give the SQS queue (template.yaml). `visibility_timeout` is what the embedded queue (and
/// `create_queue_with_dlq` in tests) uses; on AWS a queue consumed by a Lambda needs a visibility
/// timeout of at least 6x its consumer's function timeout (template.yaml: 180 s for the send
/// lanes' 30 s), so there it does not equal this.
///
/// The send lanes allow many receives: a job whose number is at its rate is handed back to the
/// queue (about once per backlog, see `domain::sending::pacing::spread`), and each hand-back is a
/// receive. The worker fails a message itself after its own limit on Meta attempts, so the
/// dead-letter queue only catches jobs that crash the worker over and over.
///
/// The other queues get the same redrive limit as on AWS, so a job fails over to its dead-letter
/// queue after as many receives locally as it would there: the callback queue's 30 matter, for
/// a delivery a crash interrupted is looked at again (with the receive-count backoff) until its
/// claim is stale (`callbacks::worker`), which takes more than five receives.
pub fn settings(queue: QueueName) -> QueueSettings {
    let visibility_timeout = Duration::from_secs(30);
    let max_receives = match queue {
        q if SEND_LANES.contains(&q) => 50,
        CALLBACK => 30,
        WEBHOOK | FANOUT | MEDIA => 10,
        MAIL => 8,
        _ => QueueSettings::default().max_receives,
    };
    QueueSettings { visibility_timeout, max_receives }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each queue's `maxReceiveCount` in template.yaml is the one the local process uses.
    #[test]
    fn redrive_limits_match_the_template() {
        let template = include_str!("../../template.yaml");
        for queue in ALL {
            let resource = format!(
                "  {}Queue:\n",
                queue.as_str().split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect::<String>()
            );
            let at = template.find(&resource).unwrap_or_else(|| panic!("{resource} in template.yaml"));
            let block = &template[at..];
            let limit = block
                .lines()
                .find_map(|l| l.trim().strip_prefix("maxReceiveCount:"))
                .and_then(|n| n.trim().parse::<u32>().ok())
                .unwrap_or_else(|| panic!("{queue}: maxReceiveCount"));
            assert_eq!(limit, settings(queue).max_receives, "{queue}");
        }
    }
}
