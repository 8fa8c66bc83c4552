//! A local SMTP server for tests: it speaks enough of RFC 5321 (EHLO/HELO, AUTH PLAIN, MAIL,
//! RCPT, DATA, RSET, NOOP, QUIT) for a real client to deliver, and keeps what it received, so
//! the SMTP mailer's conformance runs against a socket, not a mock of lettre. No TLS: the
//! client's TLS modes are checked by their URL handling only.
//!
//! ```ignore
//! let sink = SmtpSink::start(SinkOptions::default()).await;
//! let mailer = SmtpMailer::new(&sink.url().into(), "a@example.com")?;
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::mailer::{MailReader, SentEmail};
use crate::adapters::embedded::outbox::parse_email;

/// One message as the sink received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The user that authenticated for it, if any.
    pub user: Option<String>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
}

impl Received {
    /// The header block (up to the first empty line), as text.
    pub fn headers(&self) -> String {
        let text = String::from_utf8_lossy(&self.data);
        text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
    }
}

#[derive(Clone, Debug, Default)]
pub struct SinkOptions {
    /// When set, AUTH PLAIN is required before MAIL, with exactly this user and password.
    pub credentials: Option<(String, String)>,
    /// Recipients containing this are refused with 550 (a permanent failure).
    pub refuse_recipients_containing: Option<String>,
}

pub struct SmtpSink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Listens on a free loopback port until dropped.
    pub async fn start(options: SinkOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let options = Arc::new(options);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, options) = (store.clone(), options.clone());
                tokio::spawn(async move {
                    // A client that goes away mid-conversation is no sink failure.
                    let _ = session(stream, &options, &store).await;
                });
            }
        });
        Self { addr, received, task }
    }

    /// `smtp://127.0.0.1:{port}` (no credentials).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// One email per envelope recipient, read from the DATA as a mail client would.
#[async_trait]
impl MailReader for SmtpSink {
    async fn delivered(&self) -> Vec<SentEmail> {
        self.received()
            .into_iter()
            .flat_map(|message| {
                let parsed = parse_email(&message.data).expect("the sink received something that is not an email");
                message.rcpt_to.into_iter().map(move |to| SentEmail {
                    to,
                    subject: parsed.subject.clone(),
                    text: parsed.text.clone(),
                })
            })
            .collect()
    }
}

async fn session(stream: TcpStream, options: &SinkOptions, store: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 miping-sink ESMTP\r\n").await?;
    let mut user: Option<String> = None;
    let mut envelope: Option<(String, Vec<String>)> = None;
    loop {
        let line = read_line(&mut lines).await?;
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => "250-miping-sink\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 OK".into(),
            "HELO" | "NOOP" => "250 OK".into(),
            "RSET" => {
                envelope = None;
                "250 OK".into()
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            "AUTH" => {
                let initial = arg.strip_prefix("PLAIN").map(str::trim);
                match initial {
                    None => "504 Only AUTH PLAIN".into(),
                    Some(response) => {
                        let response = if response.is_empty() {
                            write.write_all(b"334 \r\n").await?;
                            read_line(&mut lines).await?
                        } else {
                            response.to_owned()
                        };
                        match check_plain(&response, options) {
                            Some(name) => {
                                user = Some(name);
                                "235 2.7.0 Authentication successful".into()
                            }
                            None => "535 5.7.8 Authentication credentials invalid".into(),
                        }
                    }
                }
            }
            "MAIL" if options.credentials.is_some() && user.is_none() => "530 5.7.0 Authentication required".into(),
            "MAIL" => {
                envelope = Some((address(arg), Vec::new()));
                "250 OK".into()
            }
            "RCPT" => match envelope.as_mut() {
                None => "503 MAIL first".into(),
                Some(_)
                    if options.refuse_recipients_containing.as_ref().is_some_and(|bad| arg.contains(bad.as_str())) =>
                {
                    "550 5.1.1 Mailbox unavailable".into()
                }
                Some((_, rcpt)) => {
                    rcpt.push(address(arg));
                    "250 OK".into()
                }
            },
            "DATA" => match envelope.take() {
                Some((mail_from, rcpt_to)) if !rcpt_to.is_empty() => {
                    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                    let data = read_data(&mut lines).await?;
                    let message = Received { user: user.clone(), mail_from, rcpt_to, data };
                    store.lock().unwrap_or_else(|p| p.into_inner()).push(message);
                    "250 OK queued".into()
                }
                _ => "503 RCPT first".into(),
            },
            _ => "502 Command not implemented".into(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// `FROM:<a@b> SIZE=1` / `TO:<a@b>` → `a@b`.
fn address(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_owned()
}

/// `base64(authzid \0 user \0 password)` against the expected credentials; the user if they match.
fn check_plain(response: &str, options: &SinkOptions) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD.decode(response.trim()).ok()?;
    let mut parts = decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
    let (_authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    match &options.credentials {
        Some((u, p)) if *u == user && *p == password => Some(user),
        Some(_) => None,
        None => Some(user),
    }
}

async fn read_line(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<String> {
    let mut raw = Vec::new();
    if lines.read_until(b'\n', &mut raw).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_owned())
}

/// Lines up to `.` alone, with the leading dot of dot-stuffed lines removed (RFC 5321 4.5.2).
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let mut raw = Vec::new();
        if lines.read_until(b'\n', &mut raw).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if raw == b".\r\n" {
            return Ok(data);
        }
        data.extend_from_slice(raw.strip_prefix(b".").unwrap_or(&raw));
    }
}
