//! AWS adapters. Clients come from one `aws_config::SdkConfig`, so `AWS_ENDPOINT_URL` (moto in
//! tests) needs no code here.

pub mod dynamodb;
pub mod kms_vault;
pub mod ses;
pub mod sqs;
