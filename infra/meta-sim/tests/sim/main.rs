//! The simulator over HTTP, one test binary: Graph conventions, webhooks, media, customers'
//! messages, persistence across restarts, the rate limiter's accept log, and the Facebook JS
//! SDK stand-in in headless Chromium.

#![allow(dead_code)]

mod common;
mod graph_api;
mod inbound;
mod media;
mod persistence;
mod sdk_browser;
mod throughput;
mod webhooks;

/// The WebDriver client the local process's connect-page test uses (one copy in the repo).
#[path = "../../../local/tests/http/connect_support/webdriver.rs"]
mod webdriver;
