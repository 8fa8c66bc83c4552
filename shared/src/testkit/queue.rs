//! Conformance suite for the queue port: every adapter must pass every case.
//!
//! Each case takes a factory `make(max_receives, visibility_timeout)` that returns a fresh, empty
//! queue with those settings, so cases never share state and can run in parallel. Timeouts are
//! whole seconds because SQS has no finer unit. Use [`queue_conformance!`](crate::queue_conformance)
//! to get one `#[tokio::test]` per case:
//!
//! ```ignore
//! miping::queue_conformance!(|max_receives, visibility| async move { /* (Arc<dyn Queue>, QueueName) */ });
//! ```

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::ports::queue::{Delivery, MAX_DELAY, MAX_MESSAGE_BYTES, OutMessage, Queue, QueueError, QueueName};

/// The factory every case takes.
pub trait MakeQueue: FnOnce(u32, Duration) -> Self::Fut {
    type Fut: Future<Output = (Arc<dyn Queue>, QueueName)>;
}
impl<F, Fut> MakeQueue for F
where
    F: FnOnce(u32, Duration) -> Fut,
    Fut: Future<Output = (Arc<dyn Queue>, QueueName)>,
{
    type Fut = Fut;
}

const SECOND: Duration = Duration::from_secs(1);
/// Long enough that nothing reappears by timeout during a case.
const LONG: Duration = Duration::from_secs(30);
/// Upper bound on waiting for something that must happen (generous: tests run in parallel).
const PATIENCE: Duration = Duration::from_secs(8);

/// Receives until at least `n` messages arrived in total or `PATIENCE` ran out.
async fn receive_n(q: &dyn Queue, name: QueueName, n: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(q.receive(name, 10, SECOND).await.expect("receive"));
    }
    got
}

/// Receives the first message, or panics after `PATIENCE`.
async fn receive_one(q: &dyn Queue, name: QueueName) -> Delivery {
    let mut got = receive_n(q, name, 1).await;
    assert_eq!(got.len(), 1, "expected exactly one message, got {got:?}");
    got.remove(0)
}

async fn assert_empty(q: &dyn Queue, name: QueueName, wait: Duration, why: &str) {
    let got = q.receive(name, 10, wait).await.expect("receive");
    assert!(got.is_empty(), "{why}: received {got:?}");
}

/// Sent messages are received once each with receive_count 1; acked ones never come back, even
/// after their visibility timeout would have expired.
pub async fn send_receive_ack(make: impl MakeQueue) {
    let (q, name) = make(5, SECOND).await;
    q.send_batch(name, vec![OutMessage::new("a"), OutMessage::new("b")]).await.expect("send");
    let got = receive_n(&*q, name, 2).await;
    let mut bodies: Vec<&str> = got.iter().map(|d| d.body.as_str()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["a", "b"]);
    assert!(got.iter().all(|d| d.receive_count == 1), "first delivery has receive_count 1: {got:?}");
    assert_ne!(got[0].id, got[1].id);
    assert_ne!(got[0].receipt, got[1].receipt);
    for d in &got {
        q.ack(name, &d.receipt).await.expect("ack");
    }
    tokio::time::sleep(SECOND + Duration::from_millis(200)).await;
    assert_empty(&*q, name, SECOND, "acked messages must not come back").await;
}

/// An unacked message is invisible until its visibility timeout runs out, then comes back with
/// receive_count 2 and a new receipt.
pub async fn unacked_message_reappears(make: impl MakeQueue) {
    let (q, name) = make(5, SECOND).await;
    q.send(name, OutMessage::new("again")).await.expect("send");
    let first = receive_one(&*q, name).await;
    let received_at = Instant::now();
    assert_empty(&*q, name, Duration::ZERO, "a received message is invisible").await;
    let second = receive_one(&*q, name).await;
    assert!(received_at.elapsed() >= Duration::from_millis(900), "came back before the visibility timeout");
    assert_eq!(second.id, first.id);
    assert_eq!(second.body, "again");
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt, "each delivery has its own receipt");
    q.ack(name, &second.receipt).await.expect("ack");
}

/// `retry_after(0)` makes the message visible at once, long before the visibility timeout.
pub async fn retry_after_zero(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    q.send(name, OutMessage::new("now")).await.expect("send");
    let first = receive_one(&*q, name).await;
    q.retry_after(name, &first.receipt, Duration::ZERO).await.expect("retry_after");
    let got = q.receive(name, 10, 2 * SECOND).await.expect("receive");
    assert_eq!(got.len(), 1, "retry_after(0) must make the message visible now: {got:?}");
    assert_eq!(got[0].id, first.id);
    assert_eq!(got[0].receive_count, 2);
}

/// `retry_after(1 s)` hides the message for about a second, then it comes back (the visibility
/// timeout itself is long, so only the retry can explain it).
pub async fn retry_after_delay(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    q.send(name, OutMessage::new("later")).await.expect("send");
    let first = receive_one(&*q, name).await;
    let retried_at = Instant::now();
    q.retry_after(name, &first.receipt, SECOND).await.expect("retry_after");
    assert_empty(&*q, name, Duration::ZERO, "retried message is hidden during its delay").await;
    let second = receive_one(&*q, name).await;
    assert!(retried_at.elapsed() >= Duration::from_millis(900), "came back before the retry delay");
    assert_eq!(second.id, first.id);
    assert_eq!(second.receive_count, 2);
}

/// After `max_receives` deliveries without an ack, the message moves to the dead-letter queue
/// and is not delivered again.
pub async fn dead_letter_after_max_receives(make: impl MakeQueue) {
    let (q, name) = make(2, LONG).await;
    q.send(name, OutMessage::new("poison")).await.expect("send");
    let mut id = None;
    for n in 1..=2 {
        let d = receive_one(&*q, name).await;
        assert_eq!(d.receive_count, n);
        id = Some(d.id.clone());
        q.retry_after(name, &d.receipt, Duration::ZERO).await.expect("retry_after");
    }
    assert_empty(&*q, name, SECOND, "a message past max_receives must not be delivered").await;
    let deadline = Instant::now() + PATIENCE;
    let dead = loop {
        let dead = q.dead_letters(name, 10).await.expect("dead_letters");
        if !dead.is_empty() || Instant::now() >= deadline {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead.len(), 1, "the message is in the dead-letter queue: {dead:?}");
    assert_eq!(Some(&dead[0].id), id.as_ref());
    assert_eq!(dead[0].body, "poison");
    // Looking at dead letters does not consume them, and they stay out of the queue.
    assert_eq!(q.dead_letters(name, 10).await.expect("dead_letters").len(), 1);
    assert_empty(&*q, name, Duration::ZERO, "a dead letter is not delivered").await;
}

/// A batch larger than one SQS call (25 messages) is delivered completely, each message once.
pub async fn large_batch_delivered_once(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    let bodies: Vec<String> = (0..25).map(|i| format!("m{i:02}")).collect();
    q.send_batch(name, bodies.iter().map(OutMessage::new).collect()).await.expect("send_batch");
    let got = receive_n(&*q, name, 25).await;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for d in &got {
        *counts.entry(d.body.as_str()).or_default() += 1;
        q.ack(name, &d.receipt).await.expect("ack");
    }
    assert_eq!(counts.len(), 25, "every message delivered: got {} distinct of 25", counts.len());
    assert!(counts.values().all(|&c| c == 1), "no message delivered twice: {counts:?}");
    assert_empty(&*q, name, SECOND, "nothing beyond the 25 sent").await;
}

/// A delayed message is not delivered before its delay; an undelayed one next to it is.
pub async fn delayed_message(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    let sent_at = Instant::now();
    q.send_batch(name, vec![OutMessage::new("late").delayed(2 * SECOND), OutMessage::new("now")])
        .await
        .expect("send_batch");
    let first = receive_one(&*q, name).await;
    assert_eq!(first.body, "now");
    while sent_at.elapsed() < Duration::from_millis(1700) {
        assert_empty(&*q, name, Duration::from_millis(200), "the delayed message is not visible yet").await;
    }
    let late = receive_one(&*q, name).await;
    assert_eq!(late.body, "late");
    assert!(sent_at.elapsed() >= Duration::from_millis(1900), "delivered before its delay");
}

/// A message over 256 KiB is refused and nothing of its batch is sent; one of exactly 256 KiB
/// goes through intact (also forcing the adapter to split by size, not only by count).
pub async fn message_size_limit(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    let too_big = OutMessage::new("x".repeat(MAX_MESSAGE_BYTES + 1));
    let err = q.send_batch(name, vec![OutMessage::new("small"), too_big]).await;
    assert!(matches!(err, Err(QueueError::MessageTooLarge)), "expected MessageTooLarge, got {err:?}");
    assert_empty(&*q, name, SECOND, "a refused batch sends nothing").await;

    let max = "y".repeat(MAX_MESSAGE_BYTES);
    q.send_batch(name, vec![OutMessage::new(max.clone()), OutMessage::new("z"), OutMessage::new(max.clone())])
        .await
        .expect("messages of exactly 256 KiB are accepted");
    let got = receive_n(&*q, name, 3).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got.iter().filter(|d| d.body == max).count(), 2, "bodies arrive intact");
}

/// A delay over 15 minutes is refused and nothing of its batch is sent.
pub async fn delay_limit(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    let err =
        q.send_batch(name, vec![OutMessage::new("ok"), OutMessage::new("too late").delayed(MAX_DELAY + SECOND)]).await;
    assert!(matches!(err, Err(QueueError::Invalid(_))), "expected Invalid, got {err:?}");
    assert_empty(&*q, name, SECOND, "a refused batch sends nothing").await;
}

/// Receivers racing on the same queue share the work: every message reaches some receiver.
/// (SQS standard queues are at-least-once and may hand a message to two receivers; the embedded
/// queue never does — `sqlite_queue::concurrent_receivers_never_share_a_message` checks that.)
pub async fn concurrent_receivers_get_distinct_messages(make: impl MakeQueue) {
    let ids = concurrent_receive(make).await;
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 30, "all messages received");
}

/// Four receivers drain 30 messages concurrently; returns every delivery's message id.
pub async fn concurrent_receive(make: impl MakeQueue) -> Vec<String> {
    let (q, name) = make(5, LONG).await;
    q.send_batch(name, (0..30).map(|i| OutMessage::new(format!("c{i}"))).collect()).await.expect("send_batch");
    let receivers = (0..4).map(|_| {
        let q = q.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = q.receive(name, 10, SECOND).await.expect("receive");
                if got.is_empty() {
                    break mine;
                }
                mine.extend(got.into_iter().map(|d| d.id));
            }
        })
    });
    let mut all = Vec::new();
    for r in receivers.collect::<Vec<_>>() {
        all.extend(r.await.expect("receiver task"));
    }
    all
}

/// Acking with a stale receipt (from an earlier delivery of a redelivered message, or after the
/// message is gone) is not an error, and the current receipt still acks. (SQS does not promise
/// whether a stale receipt deletes the message; the embedded adapter guarantees it does not.)
pub async fn stale_receipt_ack_is_harmless(make: impl MakeQueue) {
    let (q, name) = make(5, SECOND).await;
    q.send(name, OutMessage::new("stale")).await.expect("send");
    let first = receive_one(&*q, name).await;
    let second = receive_one(&*q, name).await;
    assert_eq!((second.id.as_str(), second.receive_count), (first.id.as_str(), 2));
    q.ack(name, &first.receipt).await.expect("a stale ack is not an error");
    q.ack(name, &second.receipt).await.expect("the current receipt acks");
    q.ack(name, &second.receipt).await.expect("acking twice is not an error");
    q.ack(name, &first.receipt).await.expect("a stale ack after deletion is not an error");
    tokio::time::sleep(SECOND + Duration::from_millis(200)).await;
    assert_empty(&*q, name, SECOND, "the acked message is gone").await;
}

/// Messages in groups (SQS: `MessageGroupId` on a standard queue, i.e. a fair queue) are
/// delivered like any other, mixed with ungrouped ones; a bad group id is refused up front.
pub async fn grouped_messages_are_delivered(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    let batch = vec![
        OutMessage::new("a1").in_group("ten_a"),
        OutMessage::new("b1").in_group("ten_b"),
        OutMessage::new("none"),
        OutMessage::new("a2").in_group("ten_a"),
    ];
    q.send_batch(name, batch).await.expect("send grouped");
    let mut bodies: Vec<String> = receive_n(&*q, name, 4).await.into_iter().map(|d| d.body).collect();
    bodies.sort();
    assert_eq!(bodies, ["a1", "a2", "b1", "none"]);
    for bad in ["", "has space", &"x".repeat(129)] {
        let err = q.send(name, OutMessage::new("x").in_group(bad)).await;
        assert!(matches!(err, Err(QueueError::Invalid(_))), "group {bad:?}: {err:?}");
    }
}

/// Fairness between groups (embedded queue; SQS fair queues promise it for dwell time, which
/// moto does not model): a group with a large backlog queued first does not make the messages
/// of another group wait behind it; every receive serves each group with visible messages.
pub async fn groups_share_receives_fairly(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    let big: Vec<OutMessage> = (0..200).map(|i| OutMessage::new(format!("big-{i}")).in_group("ten_big")).collect();
    q.send_batch(name, big).await.expect("send backlog");
    let small: Vec<OutMessage> = (0..3).map(|i| OutMessage::new(format!("small-{i}")).in_group("ten_small")).collect();
    q.send_batch(name, small).await.expect("send small");
    q.send(name, OutMessage::new("loose")).await.expect("send ungrouped");

    // Three groups with visible messages: a receive of 4 serves each of them at least once
    // (whatever group the round-robin starts at), and the small group is drained within three
    // receives although 200 older messages are ahead of it.
    let first = q.receive(name, 4, SECOND).await.expect("receive");
    let groups = |ds: &[Delivery]| -> HashSet<String> {
        ds.iter().map(|d| d.body.split('-').next().unwrap_or_default().to_owned()).collect()
    };
    assert_eq!(first.len(), 4);
    assert_eq!(groups(&first), HashSet::from(["big".to_owned(), "small".to_owned(), "loose".to_owned()]));
    let mut small_seen = first.iter().filter(|d| d.body.starts_with("small")).count();
    for _ in 0..2 {
        let got = q.receive(name, 4, SECOND).await.expect("receive");
        small_seen += got.iter().filter(|d| d.body.starts_with("small")).count();
    }
    assert_eq!(small_seen, 3, "the small group's messages do not wait behind the backlog");
}

/// Handlers settling together (the local queue's acks and retries share group commits): of 30
/// deliveries settled at once, the 20 acked never come back, the 10 retried now all do, each
/// once, and stale receipts acked among them change nothing.
pub async fn concurrent_acks_and_retries(make: impl MakeQueue) {
    let (q, name) = make(5, LONG).await;
    q.send_batch(name, (0..30).map(|i| OutMessage::new(format!("s{i}"))).collect()).await.expect("send_batch");
    let got = receive_n(&*q, name, 30).await;
    assert_eq!(got.len(), 30);
    let settles: Vec<_> = got
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (q, receipt) = (q.clone(), d.receipt.clone());
            tokio::spawn(async move {
                if i % 3 == 0 {
                    q.retry_after(name, &receipt, Duration::ZERO).await.expect("retry");
                } else {
                    q.ack(name, &receipt).await.expect("ack");
                    q.ack(name, &format!("{receipt}stale")).await.expect("stale ack");
                }
            })
        })
        .collect();
    for s in settles {
        s.await.expect("settle task");
    }
    let again = receive_n(&*q, name, 10).await;
    let mut bodies: Vec<String> = again.iter().map(|d| d.body.clone()).collect();
    bodies.sort();
    let mut expected: Vec<String> = got.iter().step_by(3).map(|d| d.body.clone()).collect();
    expected.sort();
    assert_eq!(bodies, expected, "exactly the retried ones come back");
    assert!(again.iter().all(|d| d.receive_count == 2));
    for d in &again {
        q.ack(name, &d.receipt).await.expect("ack");
    }
    assert_empty(&*q, name, SECOND, "every delivery is settled").await;
}

/// One `#[tokio::test]` per conformance case. `$make` is evaluated afresh in each test and must
/// be callable as `make(max_receives: u32, visibility: Duration)`, returning a future of
/// `(Arc<dyn Queue>, QueueName)` for a new, empty queue.
#[macro_export]
macro_rules! queue_conformance {
    ($make:expr) => {
        $crate::queue_conformance!(@cases $make;
            send_receive_ack,
            unacked_message_reappears,
            retry_after_zero,
            retry_after_delay,
            dead_letter_after_max_receives,
            large_batch_delivered_once,
            delayed_message,
            message_size_limit,
            delay_limit,
            concurrent_receivers_get_distinct_messages,
            stale_receipt_ack_is_harmless,
            grouped_messages_are_delivered,
            concurrent_acks_and_retries,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testkit::queue::$case($make).await;
            }
        )+
    };
}
