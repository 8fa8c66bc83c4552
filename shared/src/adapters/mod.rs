//! Adapters: each port implemented twice. `embedded` runs in the local process with no network;
//! `aws` (feature `aws`) talks to DynamoDB, SQS, KMS, SES v2 and Secrets Manager.

pub mod cursor;
pub mod embedded;
pub mod meta_graph;

#[cfg(feature = "aws")]
pub mod aws;
