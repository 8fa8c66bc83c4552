//! How the same code runs as Lambdas and as one local process.

pub mod consumer;
pub mod consumers;

#[cfg(feature = "lambda")]
pub mod http_lambda;
#[cfg(feature = "lambda")]
pub mod schedule_lambda;
#[cfg(feature = "lambda")]
pub mod sqs_lambda;
#[cfg(feature = "lambda")]
pub mod worker_lambda;
