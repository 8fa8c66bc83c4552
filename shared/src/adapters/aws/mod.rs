//! AWS adapters. Clients come from one `aws_config::SdkConfig`, so `AWS_ENDPOINT_URL` (moto in
//! tests) needs no code here.

pub mod dynamodb;
pub mod kms_vault;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "ses")]
pub mod ses;
pub mod sqs;
