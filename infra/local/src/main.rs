//! `miping`: the platform as one local process (see the crate docs and README).

use std::io::IsTerminal;
use std::process::ExitCode;

use secrecy::ExposeSecret;

/// mimalloc rather than glibc's malloc: a request allocates and frees many small blocks on
/// whichever worker thread runs it, and other threads (the SQLite writer, the consumers) free
/// some of them; with glibc malloc/free were ~15% of the instructions per accepted message.
/// Measured side by side (README → Intake): 8-17% more requests per second on the three intake
/// routes, 10-18% less user CPU per request. Only this long-running binary: the Lambdas serve one
/// request at a time and keep the system allocator (no C allocator in their build).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    miping::telemetry::init_local_logs(!std::io::stdout().is_terminal());
    let options = match miping_local::Options::from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("miping: {e}");
            return ExitCode::from(2);
        }
    };
    miping_local::write_stage_timings_from_env();
    // libphonenumber builds its metadata on the first parse (~1.3 G instructions, a second or
    // more): here, beside the start-up, rather than inside the first request that names a phone.
    // Only this long-running process: a Lambda's cold start must not pay for it.
    tokio::task::spawn_blocking(miping::domain::phone::warm);
    let data_dir = options.data_dir.clone();
    let platform = match miping_local::start(options).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("miping: {e}");
            return ExitCode::FAILURE;
        }
    };

    println!("Miping is running at {}", platform.base_url());
    println!("  data:   {}", data_dir.display());
    match &platform.simulator {
        Some(sim) => {
            println!("  Meta:   built-in simulator at {} (webhooks signed and delivered here)", sim.base_url());
            println!("          its state: {}", miping_local::simulator_dir(&data_dir).display());
            println!("          Facebook SDK stand-in: {}", sim.sdk_url())
        }
        None => println!("  Meta:   {}", platform.state.config.meta.graph_url),
    }
    match miping::config::env("SMTP_URL") {
        // Not the URL itself: it holds the password.
        Some(_) => println!("  emails: sent through the SMTP server of SMTP_URL"),
        None => println!("  emails: {}", miping::platform::embedded::outbox_dir(&data_dir).display()),
    }
    println!("  media:  {}", miping::platform::embedded::media_dir(&data_dir).display());
    if let Some(admin) = &platform.created_admin {
        println!("  super admin created: {}", admin.email);
        if admin.generated {
            // Printed once, on the console of the person who started it; never logged.
            println!("  one-time password:   {}   (you will be asked to change it)", admin.password.expose_secret());
        }
    } else if let Some(admin) = &platform.state.config.super_admin {
        println!("  super admin: {}", admin.email);
    }
    println!(
        "  log in: curl -s {}/auth/login -H 'content-type: application/json' -d '{{\"email\":\"…\",\"password\":\"…\"}}'",
        platform.base_url()
    );

    let _ = tokio::signal::ctrl_c().await;
    println!("shutting down");
    match platform.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("miping: {e}");
            ExitCode::FAILURE
        }
    }
}
