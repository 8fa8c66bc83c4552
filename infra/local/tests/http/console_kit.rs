//! The console's front-end kit (shared/console: console.js, console.css, styleguide.html) in
//! headless Chromium, and the browser-test harness itself. What the kit scenario checks is listed
//! at the top of infra/browser-tests/kit.mjs (it serves the styleguide with fake fragment
//! endpoints; no platform needed).

#[tokio::test]
async fn console_kit_in_chromium() {
    crate::browser::run_scenario("kit", &[]).await.unwrap_or_else(|e| panic!("{e}"));
}

/// The harness's outbox reader (how scenarios read the emails the local platform writes).
#[tokio::test]
async fn browser_harness_reads_the_outbox() {
    crate::browser::run_scenario("lib.test", &[]).await.unwrap_or_else(|e| panic!("{e}"));
}
