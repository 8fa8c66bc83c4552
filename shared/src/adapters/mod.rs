//! Adapters: each port implemented twice. `embedded` (feature `embedded`) runs in the local
//! process with no network; `aws` (feature `aws`) talks to DynamoDB, SQS, KMS, SES v2, Secrets
//! Manager and (feature `s3`) S3. `smtp` (feature `smtp`) sends the local process's email to a
//! real mail server.

pub mod cursor;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod meta_graph;
#[cfg(any(feature = "embedded", feature = "aws"))]
pub mod sealing;
#[cfg(feature = "smtp")]
pub mod smtp;
pub mod table_limiter;

#[cfg(feature = "aws")]
pub mod aws;
