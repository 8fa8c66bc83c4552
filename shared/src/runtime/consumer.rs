//! Queue consumers, written once and run two ways: in Lambda, where the SQS event source
//! mapping delivers batches (`runtime::sqs_lambda`), and in the local process, where
//! [`run_poller`] receives from the embedded queue.
//!
//! Either way a consumer only says "done" (`Ok`, the message is deleted) or "not yet"
//! (`ConsumeError::Retry`, the message comes back after a delay). Delivery is at least once, so
//! handlers must be idempotent. A handler that panics is treated as a retry with the default
//! backoff; after the queue's `max_receives` deliveries the message goes to the dead-letter
//! queue.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::ports::queue::{Delivery, MAX_DELAY, Queue, QueueName};

#[async_trait]
pub trait Consumer: Send + Sync + 'static {
    async fn handle(&self, delivery: &Delivery) -> Result<(), ConsumeError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeError {
    /// Deliver the message again after `after` (`None`: exponential backoff on the receive count).
    #[error("retry later: {reason}")]
    Retry { after: Option<Duration>, reason: String },
}

impl ConsumeError {
    /// Retry with the default backoff.
    pub fn retry(reason: impl Into<String>) -> Self {
        Self::Retry { after: None, reason: reason.into() }
    }
    /// Retry after a known delay (e.g. a rate limit's `Retry-After`).
    pub fn retry_in(after: Duration, reason: impl Into<String>) -> Self {
        Self::Retry { after: Some(after), reason: reason.into() }
    }
    /// How long the message should stay hidden, given how often it has been received.
    pub fn delay(&self, receive_count: u32) -> Duration {
        match self {
            Self::Retry { after: Some(after), .. } => (*after).min(MAX_DELAY),
            Self::Retry { after: None, .. } => backoff(receive_count),
        }
    }
}

pub use crate::util::backoff;

/// Runs the handler, turning a panic into a retry so one bad message cannot take the worker down.
pub async fn consume(consumer: &dyn Consumer, delivery: &Delivery) -> Result<(), ConsumeError> {
    match AssertUnwindSafe(consumer.handle(delivery)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(ConsumeError::retry(format!("handler panicked: {}", panic_message(&*panic)))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollerOptions {
    /// Handlers running at once.
    pub concurrency: usize,
    /// Most messages asked for per receive.
    pub batch: usize,
    /// Long-poll wait per receive.
    pub wait: Duration,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self { concurrency: 8, batch: 10, wait: Duration::from_secs(1) }
    }
}

/// Pause after a failed receive, so a broken queue is not hammered.
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(500);
/// How long shutdown waits for running handlers before abandoning them (their messages come
/// back after the visibility timeout).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The local process's consumer loop: receive, handle up to `concurrency` messages at once, ack
/// on success, `retry_after` on failure. Returns when `shutdown` becomes true (or its sender is
/// dropped), after giving running handlers a short grace period.
pub async fn run_poller(
    queue: Arc<dyn Queue>,
    name: QueueName,
    consumer: Arc<dyn Consumer>,
    opts: PollerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let concurrency = opts.concurrency.max(1);
    let mut running = JoinSet::new();
    tracing::info!(queue = %name, concurrency, "consumer started");
    'poll: loop {
        if *shutdown.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        // Full: wait for a slot (or shutdown) before asking for more work.
        if running.len() >= concurrency {
            tokio::select! {
                _ = running.join_next() => continue,
                _ = stopped(&mut shutdown) => break,
            }
        }
        let max = opts.batch.max(1).min(concurrency - running.len());
        let received = tokio::select! {
            r = queue.receive(name, max, opts.wait) => r,
            _ = stopped(&mut shutdown) => break,
        };
        let deliveries = match received {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(queue = %name, error = %e, "receive failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(RECEIVE_ERROR_PAUSE) => continue 'poll,
                    _ = stopped(&mut shutdown) => break,
                }
            }
        };
        for delivery in deliveries {
            let (queue, consumer) = (queue.clone(), consumer.clone());
            running.spawn(async move { process(&*queue, name, &*consumer, delivery).await });
        }
    }
    drain(&mut running, name).await;
    tracing::info!(queue = %name, "consumer stopped");
}

/// Handles one delivery and settles it with the queue.
async fn process(queue: &dyn Queue, name: QueueName, consumer: &dyn Consumer, delivery: Delivery) {
    match consume(consumer, &delivery).await {
        Ok(()) => {
            if let Err(e) = queue.ack(name, &delivery.receipt).await {
                // The message will be delivered again: handlers are idempotent.
                tracing::warn!(queue = %name, id = %delivery.id, error = %e, "ack failed");
            }
        }
        Err(err) => {
            let delay = err.delay(delivery.receive_count);
            tracing::warn!(queue = %name, id = %delivery.id, receive_count = delivery.receive_count,
                delay_ms = delay.as_millis() as u64, error = %err, "message will be retried");
            if let Err(e) = queue.retry_after(name, &delivery.receipt, delay).await {
                // It still comes back, after the visibility timeout instead.
                tracing::warn!(queue = %name, id = %delivery.id, error = %e, "retry_after failed");
            }
        }
    }
}

/// Resolves once shutdown is requested; a dropped sender counts as a request.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn drain(running: &mut JoinSet<()>, name: QueueName) {
    if running.is_empty() {
        return;
    }
    let all_done = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, all_done).await.is_err() {
        tracing::warn!(queue = %name, abandoned = running.len(), "handlers still running at shutdown; abandoned");
        running.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        for _ in 0..200 {
            assert!(backoff(1) <= Duration::from_secs(1));
            assert!(backoff(3) <= Duration::from_secs(4));
            assert!(backoff(u32::MAX) <= MAX_DELAY);
        }
        // Full jitter: the ceiling doubles, so some draws at 5 exceed what 1 ever gives.
        assert!((0..200).any(|_| backoff(5) > Duration::from_secs(1)));
    }

    #[test]
    fn explicit_delay_wins_and_is_capped() {
        assert_eq!(ConsumeError::retry_in(Duration::from_secs(7), "x").delay(3), Duration::from_secs(7));
        assert_eq!(ConsumeError::retry_in(Duration::from_secs(7200), "x").delay(1), MAX_DELAY);
        assert!(ConsumeError::retry("x").delay(1) <= Duration::from_secs(1));
    }
}
