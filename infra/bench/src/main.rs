//! `miping-bench <benchmark> [args]`: the figures the README quotes (not pass/fail tests).
//!
//! - `coldstart`: every Lambda binary's size, exec→ready time and RSS (Lambda Runtime API emulator).
//! - `webhooks`: the webhook receiver's throughput and latency on the local process.
//! - `import`: a generated 100k-row contact CSV imported through the local process.
//! - `sending`: one number paced at 80 and 1,000 msg/s; a tenant's one-off latency while
//!   another runs a big campaign.
//! - `fanout`: a 100k-recipient campaign's fan-out on the local process's embedded store.
//! - `login`: `/health` latency alone and during a sign-in storm (argon2 concurrency bound).
//! - `console`: each console page's latency at 8 signed-in users, and a first visit's bytes.
//! - `inbox`: a customer's message from the simulated webhook to the open inbox's polled fragment.
//! - `hotkeys`: one tenant at 1,000 msg/s with its webhooks; the busiest item keys and the busiest
//!   partitions of the table and of each index, counted on the table port.
//! - `media`: inbound photos from the webhook to a stored file; a 100 MB document's upload.
//! - `intake`: req/s, latency and per-stage timings of `POST /messages`, `POST /api/v1/trigger-message`
//!   and `POST /webhook/meta` on the release `miping` process; then SIGKILL, restart, count survivors.

mod api;
mod coldstart;
mod console;
mod fanout;
mod hotkeys;
mod http1;
mod import;
mod inbox;
mod intake;
mod login;
mod media;
mod sending;
mod webhooks;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("coldstart") => coldstart::run(args).await,
        Some("webhooks") => webhooks::run(args).await,
        Some("import") => match import::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench import: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("sending") => match sending::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench sending: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("login") => login::run(args).await,
        Some("console") => match console::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench console: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("inbox") => match inbox::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench inbox: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("hotkeys") => match hotkeys::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench hotkeys: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("media") => match media::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench media: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("intake") => match intake::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench intake: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some("fanout") => match fanout::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("miping-bench fanout: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: miping-bench coldstart [--bin-dir DIR] [--runs N] [FUNCTION...]");
            eprintln!("       miping-bench webhooks [--seconds N] [--clients N]");
            eprintln!("       miping-bench import [--rows N]");
            eprintln!(
                "       miping-bench sending pacing [--rate R] [--messages N] | fairness [--backlog N] [--seconds S]"
            );
            eprintln!("       miping-bench fanout [--recipients N]");
            eprintln!("       miping-bench login [--seconds N] [--logins N]");
            eprintln!("       miping-bench console [--seconds N] [--users N]");
            eprintln!("       miping-bench inbox [--messages N] [--customers N]");
            eprintln!("       miping-bench hotkeys [--rate R] [--messages N]");
            eprintln!("       miping-bench media [--images N] [--document-mb N]");
            eprintln!("       miping-bench intake [--seconds N] [--connections C] [--bin PATH]");
            std::process::ExitCode::from(2)
        }
    }
}

/// The local process on a fresh store in `dir`, without the simulator or the queue consumers:
/// the benchmarks that measure one path (import, fan-out, webhook receipt) keep the 2 cores for it.
async fn bare_platform(dir: &std::path::Path) -> Result<miping_local::Platform, String> {
    let options = miping_local::Options {
        addr: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        data_dir: dir.to_path_buf(),
        configure: None,
        simulator: None,
        consumers: false,
        background_nice: miping_local::background_nice_from_env()?,
        timeouts: Default::default(),
        wrap_queue: None,
        wrap_table: None,
    };
    miping_local::start(options).await.map_err(|e| e.to_string())
}
