//! The queue consumers: edges like the routes. Each decodes its job, calls the domain and turns
//! the domain's answer into the queue's decision (done, or deliver again later). A job that does
//! not decode is dropped: no retry can fix it.

pub mod callback;
pub mod fanout;
pub mod mail;
pub mod media;
pub mod send;
pub mod webhook;

use super::consumer::ConsumeError;
use crate::domain::Error;

/// A failure that reached the consumer is retried with the default backoff: what retrying
/// cannot fix (a permanent failure) the use case has already recorded and reported as done.
fn retry(e: Error) -> ConsumeError {
    ConsumeError::retry(e.to_string())
}
