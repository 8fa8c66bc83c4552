//! The AWS platform, from the environment the SAM template sets. Clients are built once per
//! cold start from one `SdkConfig` (`sdk_config`); `AWS_ENDPOINT_URL` (moto in tests) points
//! every client elsewhere.

use std::sync::Arc;

use secrecy::SecretString;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, SystemTimeSource};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::adapters::aws::dynamodb::DynamoTable;
use crate::adapters::aws::http_client::{CONNECT_TIMEOUT, ReqwestHttpClient};
use crate::adapters::aws::kms_vault::KmsVault;
use crate::adapters::aws::sqs::SqsQueue;
use crate::config::{self, Config, MetaConfig, SuperAdminBootstrap};
use crate::ports::clock::{Clock, SystemClock, UlidGen};
use crate::ports::{Mailer, Ports, Storage};

#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("secret {0} could not be read: {1}")]
    Secret(&'static str, String),
    #[error("{0}")]
    Adapter(String),
}

fn required(name: &'static str) -> Result<String, AwsSetupError> {
    config::env(name).ok_or(AwsSetupError::Missing(name))
}

/// The SDK configuration of a Lambda function, from what Lambda puts in every function's
/// environment: the execution role's keys (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) and `AWS_REGION`; `AWS_ENDPOINT_URL` when set. The SDK's standard retries
/// (3 attempts) and connect timeout (3.1 s), as aws-config's defaults were. Built by hand rather
/// than by aws-config: its provider chain (profile files, SSO, STS, ECS, IMDS) can never be
/// reached on Lambda, and it was linked into every function (see the workspace `Cargo.toml`).
pub fn sdk_config() -> Result<SdkConfig, AwsSetupError> {
    sdk_config_with(RetryConfig::standard())
}

/// [`sdk_config`] with its own retry policy (the moto tests retry more).
pub fn sdk_config_with(retry: RetryConfig) -> Result<SdkConfig, AwsSetupError> {
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        config::env("AWS_SESSION_TOKEN"),
        None,
        "Environment",
    );
    let region = config::env("AWS_REGION").or_else(|| config::env("AWS_DEFAULT_REGION"));
    let region = region.ok_or(AwsSetupError::Missing("AWS_REGION"))?;
    assemble(credentials, region, config::env("AWS_ENDPOINT_URL"), retry)
}

/// The SDK configuration from its parts: what [`sdk_config_with`] read from the environment.
pub fn assemble(
    credentials: Credentials,
    region: String,
    endpoint: Option<String>,
    retry: RetryConfig,
) -> Result<SdkConfig, AwsSetupError> {
    let http = ReqwestHttpClient::new().map_err(|e| AwsSetupError::Adapter(format!("HTTP client: {e}")))?;
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .retry_config(retry)
        .timeout_config(TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).build())
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .time_source(SharedTimeSource::new(SystemTimeSource::new()));
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}

/// Ports on AWS. A function only needs the resources its role grants; the optional ones
/// (queues, key, sender) fall back to adapters that fail loudly if used without configuration.
pub async fn ports(sdk: &SdkConfig, config: &Config) -> Result<Ports, AwsSetupError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table_name = required("TABLE_NAME")?;
    // MIPING_WARM_UP=0 skips it (the cold-start benchmark's A/B switch).
    if config::env("MIPING_WARM_UP").as_deref() != Some("0") {
        warm_up(&dynamodb, &table_name).await;
    }
    let table: Arc<dyn crate::ports::table::Table> = Arc::new(DynamoTable::new(dynamodb, table_name));
    // Each function's environment names only the queues its role may use; using another one is
    // an `UnknownQueue` error at that call, not a start-up failure.
    let configured: Vec<_> = crate::queues::ALL.into_iter().filter(|q| config::env(&q.url_env()).is_some()).collect();
    let queue = SqsQueue::from_env(aws_sdk_sqs::Client::new(sdk), &configured)
        .map_err(|e| AwsSetupError::Adapter(e.to_string()))?;
    let vault = KmsVault::new(aws_sdk_kms::Client::new(sdk), config::env("KMS_KEY_ID").unwrap_or_default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(Ports {
        // Every instance counts against the same items.
        limiter: Arc::new(crate::adapters::table_limiter::TableRateLimiter::new(table.clone())),
        table,
        queue: Arc::new(queue),
        vault: Arc::new(vault),
        mailer: mailer(sdk),
        meta: super::meta_graph(&config.meta).map_err(AwsSetupError::Adapter)?,
        storage: media_storage(sdk, clock.clone()).await,
        clock,
        ids: Arc::new(UlidGen::default()),
    })
}

/// S3 on `MEDIA_BUCKET` when the build has the `s3` feature; otherwise a store whose every call
/// fails with the reason (functions that handle no media are neither given the bucket nor linked
/// against an S3 client).
#[cfg(feature = "s3")]
async fn media_storage(sdk: &SdkConfig, clock: Arc<dyn Clock>) -> Arc<dyn Storage> {
    use crate::adapters::aws::s3::S3Storage;
    match config::env("MEDIA_BUCKET") {
        Some(bucket) => match S3Storage::new(sdk, bucket, clock) {
            Ok(store) => Arc::new(store.with_download_origin().await),
            Err(e) => Arc::new(crate::ports::storage::NoStorage(format!("MEDIA_BUCKET: {e}"))),
        },
        None => Arc::new(crate::ports::storage::NoStorage("MEDIA_BUCKET is not set for this function".into())),
    }
}

#[cfg(not(feature = "s3"))]
async fn media_storage(_: &SdkConfig, _: Arc<dyn Clock>) -> Arc<dyn Storage> {
    Arc::new(crate::ports::storage::NoStorage(
        "this function is built without media storage (miping feature `s3`)".into(),
    ))
}

/// SES v2 from `SES_FROM` when the build has the `ses` feature (the mail worker); otherwise a
/// mailer whose every send fails with the reason: the other functions queue mail jobs instead
/// of sending, and linking aws-sdk-sesv2 into each of them cost every binary its size.
#[cfg(feature = "ses")]
fn mailer(sdk: &SdkConfig) -> Arc<dyn Mailer> {
    use crate::adapters::aws::ses::SesMailer;
    Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(sdk), config::env("SES_FROM").unwrap_or_default()))
}

#[cfg(not(feature = "ses"))]
fn mailer(_: &SdkConfig) -> Arc<dyn Mailer> {
    Arc::new(crate::ports::mailer::NoMailer(
        "this function is built without a mailer (miping feature `ses`): mail goes through the mail queue".into(),
    ))
}

/// Moves the HTTPS client's one-time costs out of the first request and into init (which Lambda
/// runs at full CPU before any caller waits): the SDK resolves its identity, endpoint and signer
/// lazily, and the first call pays DNS and a TLS handshake to DynamoDB. One GetItem of a key nothing writes does all of it; the connection stays pooled
/// for the first request (every client shares the SdkConfig's HTTP client). No retries and a
/// short timeout: a failed warm-up only means the first request pays as before.
async fn warm_up(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::types::AttributeValue;

    // The TLS handshake's first random bytes seed aws-lc's DRBG (CPU jitter entropy unless built
    // with AWS_LC_SYS_NO_JITTER_ENTROPY=1); do it here even when the endpoint is plain HTTP.
    let mut seed = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut seed).is_err() {
        tracing::warn!("aws-lc RNG unavailable at init");
    }

    let key = crate::store::keys::warm_up();
    let get = dynamodb
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(key.pk))
        .key("SK", AttributeValue::S(key.sk))
        .customize()
        .config_override(aws_sdk_dynamodb::Config::builder().retry_config(RetryConfig::disabled()))
        .send();
    match tokio::time::timeout(std::time::Duration::from_secs(1), get).await {
        Ok(Ok(_)) => tracing::debug!("warmed the DynamoDB connection"),
        Ok(Err(e)) => tracing::debug!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "warm-up call failed"),
        Err(_) => tracing::debug!("warm-up call timed out"),
    }
}

/// A secret from `NAME` itself, or from Secrets Manager when `NAME_ARN` is set (how SAM passes
/// them: the value never sits in the function's configuration).
pub async fn secret(sdk: &SdkConfig, name: &'static str) -> Result<Option<SecretString>, AwsSetupError> {
    if let Some(value) = config::env_secret(name) {
        return Ok(Some(value));
    }
    let Some(arn) = config::env(&format!("{name}_ARN")) else { return Ok(None) };
    let out =
        aws_sdk_secretsmanager::Client::new(sdk).get_secret_value().secret_id(arn).send().await.map_err(|e| {
            AwsSetupError::Secret(name, aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    out.secret_string()
        .map(|s| Some(SecretString::from(s.to_string())))
        .ok_or(AwsSetupError::Secret(name, "not a string secret".into()))
}

/// The configuration of a Lambda function.
pub async fn config(sdk: &SdkConfig) -> Result<Config, AwsSetupError> {
    // Functions that serve no signed-in user (webhook receiver, workers) are not given the session
    // key: a random one makes every bearer token fail there instead of failing the cold start.
    let jwt_secret = match secret(sdk, "JWT_SECRET").await? {
        Some(s) => s,
        None => crate::domain::password::generate(),
    };
    let super_admin = match (config::env("SUPER_ADMIN_EMAIL"), secret(sdk, "SUPER_ADMIN_PASSWORD").await?) {
        (Some(email), Some(password)) => Some(SuperAdminBootstrap { email, password, generated: false }),
        _ => None,
    };
    let config = Config {
        public_url: config::env("MIPING_PUBLIC_URL").unwrap_or_default(),
        jwt_secret,
        jwt_ttl: Config::jwt_ttl_from_env(),
        super_admin,
        meta: MetaConfig {
            app_id: config::env("META_APP_ID").unwrap_or_default(),
            app_secret: secret(sdk, "META_APP_SECRET").await?.unwrap_or_else(|| SecretString::from(String::new())),
            config_id: config::env("META_CONFIG_ID").unwrap_or_default(),
            verify_token: secret(sdk, "META_VERIFY_TOKEN").await?.unwrap_or_else(|| SecretString::from(String::new())),
            graph_version: config::env("META_GRAPH_VERSION").unwrap_or_else(|| config::DEFAULT_GRAPH_VERSION.into()),
            graph_url: config::env("META_GRAPH_URL").unwrap_or_else(|| "https://graph.facebook.com".into()),
            sdk_url: config::env("META_SDK_URL").unwrap_or_else(|| config::DEFAULT_SDK_URL.into()),
        },
        production: true,
        // Never on AWS: a Lambda in a VPC must not be steerable at private addresses.
        allow_private_callbacks: false,
        api_key_rate_limit: Config::api_key_rate_limit_from_env(),
        login_throttle: Default::default(),
        password_reset_ttl: crate::config::DEFAULT_PASSWORD_RESET_TTL,
        trust_forwarded_for: crate::config::env_bool("MIPING_TRUST_X_FORWARDED_FOR", false),
        reconcile: crate::config::reconcile_from_env(),
        send_timing: Default::default(),
    };
    crate::domain::billing::gate::set_writers(crate::config::balance_writers_from_env());
    Ok(config)
}
