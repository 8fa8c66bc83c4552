//! A minimal W3C WebDriver client (the few commands the connect page test needs) over reqwest,
//! driving Debian's `chromium` through `chromedriver`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on a free port; killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    session: Option<String>,
}

fn find(env: &str, names: &[&str]) -> String {
    if let Ok(p) = std::env::var(env) {
        return p;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate.to_string_lossy().into_owned();
            }
        }
    }
    panic!("{} not found on PATH (set {env}); infra/test.sh installs chromium and chromium-driver", names.join(" or "));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Driver {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub async fn start() -> Self {
        let driver_bin = find("CHROMEDRIVER", &["chromedriver"]);
        let browser_bin = find("CHROMIUM", &["chromium", "chromium-browser"]);
        let port = free_port();
        let child = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin}: {e}"));
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _profile: profile,
            session: None,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = driver.http.get(format!("{}/status", driver.base)).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", driver._profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": browser_bin, "args": args}
        }}});
        let v = driver.call("POST", "/session", caps).await;
        driver.session = Some(v["sessionId"].as_str().expect("a session id").to_string());
        driver
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r = req.send().await.unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn session(&self) -> &str {
        self.session.as_deref().expect("session started")
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &format!("/session/{}/url", self.session()), json!({"url": url})).await;
    }

    /// Runs `script` (a function body; `return` its value) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.call("POST", &format!("/session/{}/execute/sync", self.session()), json!({"script": script, "args": []}))
            .await
    }

    pub async fn click(&self, css: &str) {
        let found = self
            .call(
                "POST",
                &format!("/session/{}/element", self.session()),
                json!({"using": "css selector", "value": css}),
            )
            .await;
        let id = found[ELEMENT_KEY].as_str().unwrap_or_else(|| panic!("no element id for {css}: {found}")).to_string();
        self.call("POST", &format!("/session/{}/element/{id}/click", self.session()), json!({})).await;
    }

    /// Evaluates `script` until it returns `true` (or fails after `timeout`, showing `describe`).
    pub async fn wait_for(&self, script: &str, timeout: Duration, describe: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let page = self.eval("return document.body.innerText").await;
                panic!("timed out waiting for {describe}; page text: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn quit(mut self) {
        if let Some(id) = self.session.take() {
            let _ = self.http.delete(format!("{}/session/{id}", self.base)).send().await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
