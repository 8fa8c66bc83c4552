//! The moto server the test command (`infra/test.sh`) starts on loopback.

/// SDK configuration pointing at moto through the standard `AWS_ENDPOINT_URL`.
/// Panics with instructions when it is not set: an AWS adapter test that cannot reach its
/// emulator must fail, not pass silently.
pub async fn sdk_config() -> aws_types::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "AWS adapter tests need a moto server on loopback: run them through infra/test.sh \
         (or start `moto_server -H 127.0.0.1 -p 5000` and export AWS_ENDPOINT_URL=http://127.0.0.1:5000)"
    );
    // Dummy credentials: moto accepts any. Set only when absent so a developer's own stay untouched.
    for (k, v) in [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_REGION", "us-east-1")] {
        if std::env::var_os(k).is_none() {
            // SAFETY: set before any client is built; every test sets the same values.
            unsafe { std::env::set_var(k, v) };
        }
    }
    // moto answers an occasional 500 when many requests race (its state is not fully
    // thread-safe); the production default of 3 attempts is too few for parallel test runs.
    // Through the platform's own builder, so the tests exercise the HTTP client and the
    // environment the Lambdas use.
    crate::platform::aws::sdk_config_with(aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(10))
        .expect("SDK configuration for moto")
}
