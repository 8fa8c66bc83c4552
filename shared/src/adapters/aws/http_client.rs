//! The AWS SDK's HTTP client: the reqwest client (hyper 1, rustls on aws-lc-rs) that every
//! function already links for Meta's API and S3, plugged into the SDK through its `HttpClient`
//! trait instead of the SDK's own stack. That stack carried a second hyper connector, its own
//! rustls configuration and HTTP/2 (h2 alone ~0.35 MB of code) in every Lambda binary (SPEC:
//! <= 12 MB) to talk to services that answer small JSON bodies over HTTP/1.1.
//!
//! Errors are classified the way the SDK's retry strategy reads them: no connection or a broken
//! one is `io` and a timeout is `timeout` (both retried), the rest `other` (not retried).

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The SDK's default connect timeout (aws-config's `TimeoutConfig` default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

#[derive(Clone, Debug)]
pub struct ReqwestHttpClient {
    client: reqwest::Client,
}

impl ReqwestHttpClient {
    pub fn new() -> Result<Self, reqwest::Error> {
        Ok(Self { client: reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build()? })
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector { client: self.client.clone(), read_timeout: settings.read_timeout() })
    }
}

#[derive(Debug)]
struct Connector {
    client: reqwest::Client,
    /// The SDK's read timeout when one is configured (none by default), applied to the whole
    /// exchange: every body this platform sends or receives through the SDK is small.
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (client, read_timeout) = (self.client.clone(), self.read_timeout);
        HttpConnectorFuture::new(async move {
            let request = request.try_into_http1x().map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            // Every SDK call this platform makes has an in-memory body: S3's streams go through
            // `adapters::aws::s3`, not the SDK.
            let body = body.bytes().map(bytes::Bytes::copy_from_slice).ok_or_else(|| {
                ConnectorError::user("a streaming request body cannot be sent through this client".into())
            })?;
            let mut sending = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body);
            if let Some(timeout) = read_timeout {
                sending = sending.timeout(timeout);
            }
            let response = sending.send().await.map_err(classify)?;
            let (status, headers) = (response.status(), response.headers().clone());
            let bytes = response.bytes().await.map_err(classify)?;
            let mut answer = http::Response::new(SdkBody::from(bytes));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn classify(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    //! The SDK's requests on the wire, read by a bare TCP listener: what AWS receives.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::Credentials;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_types::retry::RetryConfig;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use crate::platform::aws::assemble;

    /// One HTTP/1.1 request: its head (lower-cased) and body.
    async fn read_request(socket: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = socket.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the client closed before sending a whole request");
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().expect("content-length"));
            if buf.len() >= end + 4 + length {
                return (head, buf[end + 4..end + 4 + length].to_vec());
            }
        }
    }

    fn dynamodb(endpoint: String, attempts: u32) -> aws_sdk_dynamodb::Client {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let sdk = assemble(
            credentials,
            "eu-west-1".into(),
            Some(endpoint),
            RetryConfig::standard().with_max_attempts(attempts).with_initial_backoff(std::time::Duration::ZERO),
        )
        .expect("sdk config");
        aws_sdk_dynamodb::Client::new(&sdk)
    }

    const ITEM: &[u8] = br#"{"Item":{"PK":{"S":"a"},"note":{"S":"hello"}}}"#;

    fn answer(body: &[u8]) -> Vec<u8> {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body].concat()
    }

    #[tokio::test]
    async fn a_call_goes_out_signed_with_one_length_and_its_answer_is_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let request = read_request(&mut socket).await;
            socket.write_all(&answer(ITEM)).await.unwrap();
            request
        });
        let got = dynamodb(endpoint, 1)
            .get_item()
            .table_name("t")
            .key("PK", AttributeValue::S("a".into()))
            .send()
            .await
            .expect("the answer is read");
        assert_eq!(got.item().and_then(|i| i.get("note")), Some(&AttributeValue::S("hello".into())));

        let (head, body) = server.await.unwrap();
        assert!(head.starts_with("post / http/1.1"), "{head}");
        assert_eq!(head.matches("content-length:").count(), 1, "one Content-Length: {head}");
        assert!(head.contains("x-amz-target: dynamodb_20120810.getitem"), "{head}");
        assert!(head.contains("authorization: aws4-hmac-sha256 credential=akidexample/"), "{head}");
        assert!(head.contains("/eu-west-1/dynamodb/aws4_request"), "signed for the region: {head}");
        assert!(head.contains("x-amz-security-token: token"), "{head}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["TableName"], "t");
    }

    #[tokio::test]
    async fn a_dropped_connection_is_retried_as_the_sdk_retries_io_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
                tokio::spawn(async move {
                    read_request(&mut socket).await;
                    // The first request gets no answer: the connection just closes.
                    if !first {
                        socket.write_all(&answer(ITEM)).await.unwrap();
                    }
                });
            }
        });
        let got = dynamodb(endpoint.clone(), 3)
            .get_item()
            .table_name("t")
            .key("PK", AttributeValue::S("a".into()))
            .send()
            .await;
        assert!(got.is_ok(), "retried after the dropped connection: {got:?}");
        assert_eq!(connections.load(Ordering::SeqCst), 2);

        // Without retries the same drop is the caller's error, as a dispatch failure.
        connections.store(0, Ordering::SeqCst);
        let once =
            dynamodb(endpoint, 1).get_item().table_name("t").key("PK", AttributeValue::S("a".into())).send().await;
        let error = once.expect_err("no answer, no retry");
        assert!(matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(ref e) if e.is_io()), "{error:?}");
    }
}
