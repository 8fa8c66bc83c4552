//! The local process's HTTP/1.1 server: hyper with the limits a server facing the network needs,
//! which `axum::serve` does not set (API Gateway gives the Lambdas the same for free):
//!
//! - a header-read timeout, which is also the keep-alive idle timeout (hyper starts it whenever
//!   it waits for a request head), so a client that sends half a header (slowloris) or sits on
//!   an idle connection is disconnected;
//! - a body idle timeout (no body bytes for that long ends the request);
//! - the peer address as axum's `ConnectInfo` (the sign-in throttle counts by it);
//! - the SPEC error body on what hyper answers by itself before any router sees the request: 400
//!   for an unparsable request line or header (invalid bytes, a raw `<` in the path), 414 for a
//!   too long URI, 431 for too large headers. hyper writes those as a bare head with
//!   `content-length: 0`; [`JsonParseErrors`] replaces exactly that head (the router's own error
//!   answers always have a JSON body) with the same status and the JSON body.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use miping::http::ApiError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The server's timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a request's head, and for the next request on an idle keep-alive connection.
    pub header_read: Duration,
    /// Between two pieces of a request body.
    pub body_idle: Duration,
    /// How long a shutdown waits for requests in flight.
    pub drain: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(30),
            drain: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` turns true, then stops accepting and lets the
/// requests in flight finish (for at most `timeouts.drain`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => break,
        };
        let _ = stream.set_nodelay(true);
        let body_idle = timeouts.body_idle;
        let service = app.clone().map_request(move |req: http::Request<Incoming>| {
            let mut req = req.map(|body| axum::body::Body::new(TimeoutBody::new(body_idle, body)));
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let connection =
            http.serve_connection(TokioIo::new(JsonParseErrors::new(stream)), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(timeouts.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after the shutdown drain time were cut");
    }
    Ok(())
}

/// A connection whose writes pass through, except hyper's bare answer to a request it could
/// not parse, which becomes the SPEC error body.
pub struct JsonParseErrors<S> {
    inner: S,
    /// A replacement answer still being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> JsonParseErrors<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, pending: None }
    }
}

/// The replacement for `head` when it is hyper's automatic parse-error answer.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.1 ").or_else(|| text.strip_prefix("HTTP/1.0 "))?;
    let status: u16 = rest.get(..3)?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431) {
        return None;
    }
    // Exactly a head without a body: hyper's own answer (the router never writes an empty error).
    let end = text.find("\r\n\r\n")?;
    if end + 4 != text.len() {
        return None;
    }
    let lines: Vec<String> = text[..end].lines().skip(1).map(str::to_ascii_lowercase).collect();
    if !lines.iter().any(|l| l.replace(' ', "") == "content-length:0")
        || lines.iter().any(|l| l.starts_with("content-type:"))
    {
        return None;
    }
    let status = http::StatusCode::from_u16(status).ok()?;
    let error = ApiError::from_status(status);
    let body = serde_json::json!({"error": {"code": error.code, "message": error.message, "details": []}}).to_string();
    let date = text[..end].lines().find(|l| l.to_ascii_lowercase().starts_with("date:"));
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    if let Some(date) = date {
        out.push_str(date);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<S: AsyncWrite + Unpin> JsonParseErrors<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonParseErrors<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        // hyper writes a head in one piece (this writer is not vectored, so it flattens).
        if let Some(answer) = replacement(buf) {
            self.pending = Some((answer, 0));
            // Whatever is not out yet goes with the next flush.
            if let Poll::Ready(Err(e)) = self.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_parse_error_answers_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 04:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(bare).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{out}");
        assert!(out.contains("content-type: application/json\r\n") && out.contains("date: Sun, 06 Dec"));
        let body: serde_json::Value = serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "header_fields_too_large");

        // The router's own error answers (with their JSON body), other statuses, partial writes.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ours).is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement(with_body).is_none());
        assert!(replacement(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
        assert!(replacement(b"{\"error\": 1}").is_none());
    }
}
