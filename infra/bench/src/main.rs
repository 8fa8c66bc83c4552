//! `miping-bench <benchmark> [args]`: the figures the README quotes (not pass/fail tests).
//!
//! - `coldstart`: every Lambda binary's size, exec→ready time and RSS (Lambda Runtime API emulator).
//! - `webhooks`: the webhook receiver's throughput and latency on the local process.
//! - `import`: a generated 100k-row contact CSV imported through the local process.
//! - `fanout`: a 100k-recipient campaign's fan-out on the local process's embedded store.

mod coldstart;
mod fanout;
mod import;
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
            eprintln!("       miping-bench fanout [--recipients N]");
            std::process::ExitCode::from(2)
        }
    }
}
