//! AWS adapters. Clients come from one `SdkConfig` (`platform::aws::sdk_config`), so
//! `AWS_ENDPOINT_URL` (moto in tests) needs no code here.

pub mod dynamodb;
pub mod http_client;
pub mod kms_vault;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "ses")]
pub mod ses;
pub mod sqs;
