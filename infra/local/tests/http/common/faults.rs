//! Faults at the queue port, for the exactly-once tests: a queue in front of the embedded one
//! that, per logical queue, fails sends, stalls them (the caller waits forever, as a process
//! that dies between its table commit and its queue hand-off), or hands out nothing on receive
//! (a lane whose workers are busy elsewhere).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use miping::ports::Queue;
use miping::ports::queue::{Delivery, OutMessage, QueueError, QueueName};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFault {
    /// `send_batch` answers an error; nothing is queued.
    Fail,
    /// `send_batch` never returns; nothing is queued.
    Stall,
}

/// The switches a test flips while the platform runs.
#[derive(Clone, Default)]
pub struct QueueFaults {
    sends: Arc<Mutex<HashMap<&'static str, SendFault>>>,
    paused: Arc<Mutex<Vec<&'static str>>>,
    received: Arc<Mutex<HashMap<&'static str, usize>>>,
}

impl QueueFaults {
    pub fn set(&self, queue: QueueName, fault: Option<SendFault>) {
        let mut sends = self.sends.lock().unwrap();
        match fault {
            Some(f) => sends.insert(queue.as_str(), f),
            None => sends.remove(queue.as_str()),
        };
    }

    /// While paused, receives on `queue` hand out nothing (its messages wait, unreceived).
    pub fn pause(&self, queue: QueueName, paused: bool) {
        let mut list = self.paused.lock().unwrap();
        list.retain(|q| *q != queue.as_str());
        if paused {
            list.push(queue.as_str());
        }
    }

    /// Messages handed out by receives on `queue` so far.
    pub fn received(&self, queue: QueueName) -> usize {
        self.received.lock().unwrap().get(queue.as_str()).copied().unwrap_or(0)
    }

    fn send_fault(&self, queue: QueueName) -> Option<SendFault> {
        self.sends.lock().unwrap().get(queue.as_str()).copied()
    }

    fn is_paused(&self, queue: QueueName) -> bool {
        self.paused.lock().unwrap().contains(&queue.as_str())
    }

    /// The wrapper for `miping_local::Options::wrap_queue`.
    pub fn wrap(&self) -> miping_local::WrapQueue {
        let faults = self.clone();
        Box::new(move |inner| Arc::new(FaultyQueue { inner, faults }) as Arc<dyn Queue>)
    }
}

struct FaultyQueue {
    inner: Arc<dyn Queue>,
    faults: QueueFaults,
}

#[async_trait]
impl Queue for FaultyQueue {
    async fn send_batch(&self, queue: QueueName, messages: Vec<OutMessage>) -> Result<(), QueueError> {
        match self.faults.send_fault(queue) {
            Some(SendFault::Fail) => Err(QueueError::Unavailable(format!("{queue}: injected failure"))),
            Some(SendFault::Stall) => std::future::pending().await,
            None => self.inner.send_batch(queue, messages).await,
        }
    }

    async fn receive(&self, queue: QueueName, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        if self.faults.is_paused(queue) {
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        let got = self.inner.receive(queue, max, wait).await?;
        if self.faults.is_paused(queue) {
            // Paused while this receive was waiting: hand what it got back, undelivered.
            for d in &got {
                self.inner.retry_after(queue, &d.receipt, Duration::ZERO).await?;
            }
            return Ok(Vec::new());
        }
        *self.faults.received.lock().unwrap().entry(queue.as_str()).or_default() += got.len();
        Ok(got)
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.inner.ack(queue, receipt).await
    }

    async fn retry_after(&self, queue: QueueName, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.inner.retry_after(queue, receipt, delay).await
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, QueueError> {
        self.inner.dead_letters(queue, max).await
    }
}
