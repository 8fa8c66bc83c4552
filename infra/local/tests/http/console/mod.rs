//! The web console over HTTP: a [`Console`] client acts as a browser without JavaScript (cookies,
//! forms with their CSRF token, redirects not followed so each answer can be checked), or as
//! console.js (`HX-Request`). Browser scenarios (real Chromium) are in `scenarios.rs`.

mod admin;
mod audit;
mod auth;
mod campaigns;
mod canned;
mod connect;
mod contacts;
mod inbox;
mod journey;
mod media;
mod media_headers;
mod members;
mod messages;
mod scenarios;
mod settings;
mod templates;

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Client, Response, StatusCode, redirect};

/// A person's browser: one cookie jar, the last page's CSRF token.
pub struct Console {
    pub base: String,
    http: Client,
    pub cookies: BTreeMap<String, String>,
    /// From the last page's `<meta name="csrf-token">`.
    pub csrf: Option<String>,
    /// Send `HX-Request: true` (as console.js does).
    pub hx: bool,
}

/// An answer, read once.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Whether the page shows `text` (HTML-escaped as the templates escape it).
    pub fn shows(&self, text: &str) -> bool {
        self.body.contains(&escape(text))
    }
    #[track_caller]
    pub fn assert_shows(&self, text: &str) {
        assert!(self.shows(text), "the page ({}) does not show {text:?}:\n{}", self.status, self.body);
    }
    /// The error shown next to the field named `name` (the `f-<name>-error` element's text).
    pub fn field_error(&self, name: &str) -> Option<String> {
        let marker = format!("id=\"f-{name}-error\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('<')? + start;
        Some(unescape(&self.body[start..end]))
    }
    /// The value of the input named `name`.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_end = self.body[at..].find('>')? + at;
        let tag = &self.body[at..tag_end];
        let v = tag.find("value=\"")? + "value=\"".len();
        let end = tag[v..].find('"')? + v;
        Some(unescape(&tag[v..end]))
    }
}

/// A form's `fields` with `key` set to `value`.
pub fn with<'a>(fields: &[(&'a str, &'a str)], key: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|&(k, v)| if k == key { (k, value) } else { (k, v) }).collect()
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

fn unescape(text: &str) -> String {
    text.replace("&#60;", "<").replace("&#62;", ">").replace("&#34;", "\"").replace("&#39;", "'").replace("&#38;", "&")
}

impl Console {
    pub fn new(base: &str) -> Self {
        let http = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
        Self { base: base.to_owned(), http, cookies: BTreeMap::new(), csrf: None, hx: false }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&mut self, r: Response) -> Page {
        for v in r.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        if let Some(at) = body.find("<meta name=\"csrf-token\" content=\"") {
            let start = at + "<meta name=\"csrf-token\" content=\"".len();
            let end = body[start..].find('"').unwrap() + start;
            self.csrf = Some(body[start..end].to_owned());
        }
        Page { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base)).header(COOKIE, self.cookie_header());
        if self.hx {
            req = req.header("hx-request", "true");
        }
        let r = req.send().await.unwrap();
        self.read(r).await
    }

    /// Posts a form with the current CSRF token (as the page's hidden `_csrf` field).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `fields` (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded_pairs(fields));
        if self.hx {
            req = req.header("hx-request", "true");
        }
        let r = req.send().await.unwrap();
        self.read(r).await
    }

    /// Posts a `multipart/form-data` form (a file upload, as a browser sends it): the current
    /// CSRF token as the `_csrf` field when `with_csrf`, then `fields`, then the file.
    pub async fn post_file(
        &mut self,
        path: &str,
        with_csrf: bool,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        self.post_file_as(path, with_csrf, fields, file, "text/csv").await
    }

    /// [`Console::post_file`] with the file part's `Content-Type`.
    pub async fn post_file_as(
        &mut self,
        path: &str,
        with_csrf: bool,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
        content_type: &str,
    ) -> Page {
        let boundary = "----miping-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = if with_csrf { vec![("_csrf", csrf.as_str())] } else { Vec::new() };
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        let (name, filename, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        if self.hx {
            req = req.header("hx-request", "true");
        }
        let r = req.send().await.unwrap();
        self.read(r).await
    }

    /// Signs in through the sign-in form; panics unless it succeeds.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.get("/").await;
        let r = self.post("/sign-in", &[("email", email), ("password", password)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "sign-in failed: {}", r.body);
        r
    }
}

fn serde_urlencoded_pairs(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
