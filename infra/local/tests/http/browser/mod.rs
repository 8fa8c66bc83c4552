//! Runs the console's browser scenarios from Rust integration tests: `infra/browser-tests/<name>.mjs`,
//! plain Node scripts driving Debian's Chromium through playwright-core (see that folder's
//! README). A test starts what the scenario needs (usually the local platform), then:
//!
//! ```ignore
//! mod browser;
//! let dir = miping::platform::embedded::outbox_dir(&tp.data_dir);
//! browser::run_scenario("console-signin", &[("BASE_URL", &tp.base), ("OUTBOX_DIR", dir.to_str().unwrap())])
//!     .await
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! The scenario's output is printed (shown by the test harness on failure or with `--nocapture`);
//! screenshots go to `BROWSER_TEST_ARTIFACTS` when set, else `target/tmp/browser-artifacts/<name>`.
//! `infra/test.sh` installs the npm packages before the suite; for a plain `cargo test` this
//! installs them (`npm ci`) when they are missing or older than `package-lock.json`.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `infra/browser-tests`.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../browser-tests")
}

/// Runs `node <name>.mjs` in `infra/browser-tests` with `env`; Err carries the scenario's output.
/// Blocking work runs off the async runtime, so a platform served by this test keeps answering.
pub async fn run_scenario(name: &str, env: &[(&str, &str)]) -> Result<(), String> {
    let name = name.to_string();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || run_blocking(&name, &env))
        .await
        .map_err(|e| format!("scenario task failed: {e}"))?
}

fn run_blocking(name: &str, env: &[(String, String)]) -> Result<(), String> {
    let dir = scenarios_dir();
    ensure_installed(&dir)?;
    let artifacts = std::env::var_os("BROWSER_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts").join(name));
    let output = Command::new("node")
        .arg(dir.join(format!("{name}.mjs")))
        .current_dir(&dir)
        .env("BROWSER_TEST_ARTIFACTS", &artifacts)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|e| format!("cannot run node (is Node.js installed? infra/test.sh installs it): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("browser scenario {name} failed ({}):\n{stdout}\n{stderr}", output.status))
    }
}

/// `npm ci` unless `node_modules` was installed from the current `package-lock.json` (the stamp
/// file holds a copy of it, as infra/test.sh writes it). A file lock serialises the test
/// processes nextest runs in parallel, so only one of them installs.
fn ensure_installed(dir: &Path) -> Result<(), String> {
    let lock_file = dir.join("package-lock.json");
    let stamp = dir.join("node_modules/.miping-lock");
    let current = || -> bool {
        match (std::fs::read(&lock_file), std::fs::read(&stamp)) {
            (Ok(lock), Ok(installed)) => lock == installed,
            _ => false,
        }
    };
    if current() {
        return Ok(());
    }
    let guard = File::create(std::env::temp_dir().join("miping-browser-tests-npm.lock"))
        .map_err(|e| format!("cannot create the npm install lock: {e}"))?;
    guard.lock().map_err(|e| format!("cannot take the npm install lock: {e}"))?;
    if current() {
        return Ok(());
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run npm (is it installed? infra/test.sh installs it): {e}"))?;
    if !status.success() {
        return Err(format!("npm ci in {} failed ({status})", dir.display()));
    }
    std::fs::copy(&lock_file, &stamp).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(())
}
