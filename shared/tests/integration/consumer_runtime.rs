//! The consumer runtime: the local poller on the embedded queue, and the Lambda SQS batch handler.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use miping::adapters::embedded::sqlite_queue::{QueueSettings, SqliteQueue};
use miping::ports::queue::{Delivery, OutMessage, Queue, QueueName};
use miping::runtime::consumer::{ConsumeError, Consumer, PollerOptions, run_poller};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const Q: QueueName = QueueName("work");

/// An embedded queue whose visibility timeout is `visibility` (kept with its directory).
fn queue(visibility: Duration) -> (Arc<dyn Queue>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = QueueSettings { visibility_timeout: visibility, max_receives: 10 };
    let q = SqliteQueue::open(&dir.path().join("q.db"), settings).expect("open queue");
    (Arc::new(q), dir)
}

/// What a test consumer does with the n-th delivery of a body (n = receive_count).
type Script = dyn Fn(&str, u32) -> Result<(), ConsumeError> + Send + Sync;

/// Records every delivery, tracks concurrency, and answers as scripted.
struct Recorder {
    script: Box<Script>,
    work: Duration,
    seen: Mutex<Vec<(String, u32)>>,
    done: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Recorder {
    fn new(
        work: Duration,
        script: impl Fn(&str, u32) -> Result<(), ConsumeError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            script: Box::new(script),
            work,
            seen: Mutex::default(),
            done: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        })
    }
    fn done(&self) -> Vec<String> {
        self.done.lock().unwrap().clone()
    }
    fn seen(&self) -> Vec<(String, u32)> {
        self.seen.lock().unwrap().clone()
    }
    /// Waits until `n` messages were handled successfully.
    async fn wait_done(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(8);
        while self.done.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "only {} of {n} handled: {:?}", self.done().len(), self.seen());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[async_trait]
impl Consumer for Recorder {
    async fn handle(&self, d: &Delivery) -> Result<(), ConsumeError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.seen.lock().unwrap().push((d.body.clone(), d.receive_count));
        tokio::time::sleep(self.work).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        (self.script)(&d.body, d.receive_count)?;
        self.done.lock().unwrap().push(d.body.clone());
        Ok(())
    }
}

fn start(q: &Arc<dyn Queue>, c: &Arc<Recorder>, opts: PollerOptions) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (stop, shutdown) = watch::channel(false);
    let consumer: Arc<dyn Consumer> = c.clone();
    (stop, tokio::spawn(run_poller(q.clone(), Q, consumer, opts, shutdown)))
}

fn opts(concurrency: usize) -> PollerOptions {
    PollerOptions { concurrency, batch: 5, wait: Duration::from_millis(200) }
}

async fn stop(stop: watch::Sender<bool>, poller: JoinHandle<()>) {
    stop.send(true).expect("poller listening");
    tokio::time::timeout(Duration::from_secs(2), poller).await.expect("poller stops promptly").expect("poller task");
}

#[tokio::test]
async fn poller_processes_every_message_once_within_its_concurrency() {
    // A short visibility timeout: a message the poller failed to ack would be handled twice.
    let (q, _dir) = queue(Duration::from_millis(300));
    let c = Recorder::new(Duration::from_millis(20), |_, _| Ok(()));
    q.send_batch(Q, (0..20).map(|i| OutMessage::new(format!("m{i}"))).collect()).await.expect("send");
    let (tx, poller) = start(&q, &c, opts(4));
    c.wait_done(20).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop(tx, poller).await;

    let mut done = c.done();
    done.sort();
    done.dedup();
    assert_eq!(done.len(), 20, "every message handled");
    assert_eq!(c.seen().len(), 20, "each exactly once (acked): {:?}", c.seen());
    let max = c.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=4).contains(&max), "ran concurrently, at most 4 at a time (max {max})");
}

#[tokio::test]
async fn poller_retries_a_failing_message_until_it_succeeds() {
    // Visibility far beyond the test: only retry_after can bring the message back.
    let (q, _dir) = queue(Duration::from_secs(60));
    let c = Recorder::new(Duration::ZERO, |body, n| match (body, n) {
        ("flaky", 1) => Err(ConsumeError::retry("default backoff (at most 1 s)")),
        ("flaky", 2) => Err(ConsumeError::retry_in(Duration::from_millis(100), "explicit delay")),
        _ => Ok(()),
    });
    q.send_batch(Q, vec![OutMessage::new("flaky"), OutMessage::new("fine")]).await.expect("send");
    let (tx, poller) = start(&q, &c, opts(2));
    c.wait_done(2).await;
    stop(tx, poller).await;

    let flaky: Vec<u32> = c.seen().into_iter().filter(|(b, _)| b == "flaky").map(|(_, n)| n).collect();
    assert_eq!(flaky, [1, 2, 3], "delivered until it succeeded");
    assert!(q.receive(Q, 10, Duration::ZERO).await.expect("receive").is_empty());
}

#[tokio::test]
async fn a_panicking_handler_is_retried_and_the_poller_survives() {
    let (q, _dir) = queue(Duration::from_secs(60));
    let c = Recorder::new(Duration::ZERO, |body, n| {
        if body == "boom" && n == 1 {
            panic!("handler bug");
        }
        Ok(())
    });
    q.send(Q, OutMessage::new("boom")).await.expect("send");
    let (tx, poller) = start(&q, &c, opts(1));
    c.wait_done(1).await;
    assert_eq!(c.seen(), [("boom".to_owned(), 1), ("boom".to_owned(), 2)]);
    // Still polling after the panic.
    q.send(Q, OutMessage::new("after")).await.expect("send");
    c.wait_done(2).await;
    assert!(!poller.is_finished());
    stop(tx, poller).await;
}

#[tokio::test]
async fn shutdown_stops_the_poller_during_a_long_poll() {
    let (q, _dir) = queue(Duration::from_secs(60));
    let c = Recorder::new(Duration::ZERO, |_, _| Ok(()));
    let (tx, poller) = start(&q, &c, PollerOptions { concurrency: 2, batch: 10, wait: Duration::from_secs(20) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    stop(tx, poller).await;
    assert!(asked.elapsed() < Duration::from_millis(500), "stopped in {:?}", asked.elapsed());

    // A dropped sender stops it too.
    let (tx, poller) = start(&q, &c, opts(1));
    drop(tx);
    tokio::time::timeout(Duration::from_secs(2), poller).await.expect("stops").expect("poller task");
}

#[cfg(feature = "lambda")]
mod lambda {
    use super::*;
    use std::collections::HashMap;

    use aws_lambda_events::event::sqs::SqsEvent;
    use miping::ports::queue::QueueError;
    use miping::runtime::sqs_lambda::handle_sqs_event;

    /// Records `retry_after` calls; `fail` makes them error (the handler must shrug that off).
    #[derive(Default)]
    struct FakeQueue {
        retries: Mutex<Vec<(String, Duration)>>,
        fail: bool,
    }

    #[async_trait]
    impl Queue for FakeQueue {
        async fn send_batch(&self, _: QueueName, _: Vec<OutMessage>) -> Result<(), QueueError> {
            unreachable!("the batch handler never sends")
        }
        async fn receive(&self, _: QueueName, _: usize, _: Duration) -> Result<Vec<Delivery>, QueueError> {
            unreachable!("in Lambda the event source mapping receives")
        }
        async fn ack(&self, _: QueueName, _: &str) -> Result<(), QueueError> {
            unreachable!("Lambda deletes the successes")
        }
        async fn retry_after(&self, _: QueueName, receipt: &str, delay: Duration) -> Result<(), QueueError> {
            self.retries.lock().unwrap().push((receipt.to_owned(), delay));
            if self.fail { Err(QueueError::Unavailable("down".into())) } else { Ok(()) }
        }
        async fn dead_letters(&self, _: QueueName, _: usize) -> Result<Vec<Delivery>, QueueError> {
            unreachable!()
        }
    }

    fn event(records: &[(&str, &str, u32)]) -> SqsEvent {
        let records: Vec<_> = records
            .iter()
            .map(|(id, body, count)| {
                serde_json::json!({
                    "messageId": id,
                    "receiptHandle": format!("receipt-{id}"),
                    "body": body,
                    "attributes": {
                        "ApproximateReceiveCount": count.to_string(),
                        "SentTimestamp": "1700000000000",
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp": "1700000000001"
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:work",
                    "awsRegion": "us-east-1"
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).expect("valid SQS event")
    }

    fn consumer() -> Arc<Recorder> {
        Recorder::new(Duration::from_millis(50), |body, _| match body {
            "bad" => Err(ConsumeError::retry_in(Duration::from_secs(7), "upstream said later")),
            "boom" => panic!("handler bug"),
            _ => Ok(()),
        })
    }

    #[tokio::test]
    async fn failures_are_reported_by_message_id_and_rescheduled() {
        let c = consumer();
        let q = FakeQueue::default();
        let ev = event(&[("id-1", "ok", 1), ("id-2", "bad", 3), ("id-3", "ok", 1), ("id-4", "boom", 2)]);
        let response = handle_sqs_event(ev, &*c, &q, Q).await;

        let mut failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        failed.sort_unstable();
        assert_eq!(failed, ["id-2", "id-4"], "only the failures are reported");

        let retries: HashMap<String, Duration> = q.retries.lock().unwrap().iter().cloned().collect();
        assert_eq!(retries.len(), 2);
        assert_eq!(retries["receipt-id-2"], Duration::from_secs(7), "the consumer's delay is applied");
        assert!(retries["receipt-id-4"] <= Duration::from_secs(2), "a panic gets the default backoff for count 2");

        let mut seen = c.seen();
        seen.sort();
        assert!(seen.contains(&("bad".to_owned(), 3)), "receive_count comes from ApproximateReceiveCount: {seen:?}");
        assert!(c.max_in_flight.load(Ordering::SeqCst) > 1, "records are handled concurrently");
    }

    #[tokio::test]
    async fn a_failing_visibility_change_still_reports_the_failure() {
        let q = FakeQueue { fail: true, ..FakeQueue::default() };
        let response = handle_sqs_event(event(&[("id-9", "bad", 1), ("id-8", "ok", 1)]), &*consumer(), &q, Q).await;
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["id-9"]);
    }

    #[tokio::test]
    async fn an_all_good_batch_reports_nothing() {
        let response =
            handle_sqs_event(event(&[("a", "ok", 1), ("b", "ok", 1)]), &*consumer(), &FakeQueue::default(), Q).await;
        assert!(response.batch_item_failures.is_empty());
        let json = serde_json::to_value(&response).expect("serialize");
        assert_eq!(json, serde_json::json!({ "batchItemFailures": [] }), "the shape Lambda expects");
    }
}
