//! The queue port's conformance suite on both adapters: the embedded SQLite queue, and SQS on
//! the moto server started by `infra/test.sh` (a fresh queue and dead-letter queue per test).

use std::sync::Arc;
use std::time::Duration;

use miping::ports::queue::{Queue, QueueName};

/// Queue names are `&'static str`; tests leak their unique names (a few bytes per test).
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

mod sqlite_queue {
    use super::*;
    use async_trait::async_trait;
    use miping::adapters::embedded::sqlite_queue::{QueueSettings, SqliteQueue};
    use miping::ports::queue::{Delivery, OutMessage, QueueError};

    /// The queue plus its temporary directory, removed when the test drops the queue.
    struct TempQueue {
        queue: SqliteQueue,
        _dir: tempfile::TempDir,
    }

    #[async_trait]
    impl Queue for TempQueue {
        async fn send_batch(&self, q: QueueName, m: Vec<OutMessage>) -> Result<(), QueueError> {
            self.queue.send_batch(q, m).await
        }
        async fn receive(&self, q: QueueName, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
            self.queue.receive(q, max, wait).await
        }
        async fn ack(&self, q: QueueName, receipt: &str) -> Result<(), QueueError> {
            self.queue.ack(q, receipt).await
        }
        async fn retry_after(&self, q: QueueName, receipt: &str, delay: Duration) -> Result<(), QueueError> {
            self.queue.retry_after(q, receipt, delay).await
        }
        async fn dead_letters(&self, q: QueueName, max: usize) -> Result<Vec<Delivery>, QueueError> {
            self.queue.dead_letters(q, max).await
        }
    }

    async fn make(max_receives: u32, visibility_timeout: Duration) -> (Arc<dyn Queue>, QueueName) {
        let dir = tempfile::tempdir().expect("tempdir");
        let queue = SqliteQueue::open(&dir.path().join("queue.db"), QueueSettings { visibility_timeout, max_receives })
            .expect("open sqlite queue");
        (Arc::new(TempQueue { queue, _dir: dir }), QueueName(leak(miping::testkit::unique("q"))))
    }

    miping::queue_conformance!(make);

    /// Round-robin over message groups (what SQS fair queues do for dwell time; moto does not
    /// model it, so only the embedded queue runs this case).
    #[tokio::test(flavor = "multi_thread")]
    async fn groups_share_receives_fairly() {
        miping::testkit::queue::groups_share_receives_fairly(make).await;
    }

    /// A data directory from before message groups: the column is added on open, old rows
    /// form the ungrouped group and are still delivered.
    #[tokio::test]
    async fn queue_database_without_groups_is_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("queue.db");
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE queue_messages (seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
                 body TEXT NOT NULL, sent_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,
                 receive_count INTEGER NOT NULL DEFAULT 0, receipt TEXT, dead INTEGER NOT NULL DEFAULT 0, dead_at INTEGER);
                 INSERT INTO queue_messages (queue, id, body, sent_at, visible_at) VALUES ('old', 'm1', 'before', 0, 0);",
            )
            .expect("old schema");
        }
        let q = SqliteQueue::open(&path, QueueSettings::default()).expect("migrates");
        let old = QueueName("old");
        q.send(old, OutMessage::new("after").in_group("ten_x")).await.expect("send");
        let mut bodies: Vec<String> =
            q.receive(old, 10, Duration::from_secs(1)).await.expect("receive").into_iter().map(|d| d.body).collect();
        bodies.sort();
        assert_eq!(bodies, ["after", "before"]);
    }

    /// Stricter than SQS: the embedded queue never hands one message to two receivers.
    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_receivers_never_share_a_message() {
        let ids = miping::testkit::queue::concurrent_receive(make).await;
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), distinct.len()), (30, 30), "each message delivered exactly once");
    }
}

mod sqs_queue {
    use super::*;
    use std::collections::HashMap;

    use miping::adapters::aws::sqs::{SqsQueue, create_queue_with_dlq};
    use miping::ports::queue::QueueSettings;

    async fn make(max_receives: u32, visibility_timeout: Duration) -> (Arc<dyn Queue>, QueueName) {
        let client = aws_sdk_sqs::Client::new(&miping::testkit::moto::sdk_config().await);
        let name = leak(miping::testkit::unique("q"));
        let urls = create_queue_with_dlq(&client, name, QueueSettings { visibility_timeout, max_receives })
            .await
            .expect("create queue and DLQ on moto");
        (Arc::new(SqsQueue::new(client, HashMap::from([(name, urls)]))), QueueName(name))
    }

    miping::queue_conformance!(make);

    #[tokio::test]
    async fn unknown_queue_is_an_error() {
        let client = aws_sdk_sqs::Client::new(&miping::testkit::moto::sdk_config().await);
        let q = SqsQueue::new(client, HashMap::new());
        let err = q.receive(QueueName("nope"), 1, Duration::ZERO).await;
        assert!(matches!(err, Err(miping::ports::queue::QueueError::UnknownQueue(_))), "{err:?}");
    }
}
