//! The whole platform as one local process: every route group on one port, the queue consumers
//! as in-process pollers, the embedded store under one data directory. The binary (`miping`)
//! and the HTTP tests both start it through [`start`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use miping::app::AppState;
use miping::config::{Config, SuperAdminBootstrap};
use miping::domain::auth::bootstrap_super_admin;
use miping::domain::campaigns::fanout::FanoutWorker;
use miping::http::routes;
use miping::ports::Queue;
use miping::ports::queue::QueueName;
use miping::runtime::consumer::{Consumer, PollerOptions, run_poller};
use miping::runtime::consumers::mail::MailConsumer;

pub mod server;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A change applied to the configuration read from the environment.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// Default address of the in-process Meta simulator (SPEC `MIPING_SIM_ADDR`).
pub const SIM_ADDR: &str = "127.0.0.1:3001";

pub struct Options {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Adjusts the configuration read from the environment (tests set their own super admin
    /// without touching the process environment).
    pub configure: Option<Configure>,
    /// Where the in-process Meta simulator listens; `None` when `META_GRAPH_URL` points at a
    /// real (or separately run) Graph API.
    pub simulator: Option<SocketAddr>,
    /// Run the queue consumers in-process (tests that inspect raw queue contents turn them off).
    pub consumers: bool,
    /// The consumers' threads' nice value (see [`Background`]): `MIPING_BACKGROUND_NICE`,
    /// [`DEFAULT_BACKGROUND_NICE`] unless set; 0 runs them at the server's priority (the tests).
    pub background_nice: i32,
    /// The HTTP server's timeouts (slow or idle clients are disconnected).
    pub timeouts: server::Timeouts,
    /// Wraps the queue port (fault tests put a queue that fails or stalls chosen sends in front
    /// of the embedded one).
    pub wrap_queue: Option<WrapQueue>,
    /// Wraps the table port (the hot-key benchmark counts every write through a decorator).
    pub wrap_table: Option<WrapTable>,
}

/// A change to the queue port the platform uses.
pub type WrapQueue = Box<dyn FnOnce(Arc<dyn Queue>) -> Arc<dyn Queue> + Send>;
/// A change to the table port the platform uses.
pub type WrapTable = Box<dyn FnOnce(Arc<dyn miping::ports::Table>) -> Arc<dyn miping::ports::Table> + Send>;

impl Options {
    /// `MIPING_ADDR` (default 127.0.0.1:3000) and `MIPING_DATA_DIR` (default ./.miping).
    pub fn from_env() -> Result<Self, String> {
        let addr = miping::config::env("MIPING_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        Ok(Self {
            addr: addr.parse().map_err(|e| format!("MIPING_ADDR={addr}: {e}"))?,
            data_dir: miping::config::env("MIPING_DATA_DIR").unwrap_or_else(|| ".miping".into()).into(),
            configure: None,
            simulator: match miping::config::env("META_GRAPH_URL") {
                Some(_) => None,
                None => {
                    let sim = miping::config::env("MIPING_SIM_ADDR").unwrap_or_else(|| SIM_ADDR.into());
                    Some(sim.parse().map_err(|e| format!("MIPING_SIM_ADDR={sim}: {e}"))?)
                }
            },
            consumers: true,
            background_nice: background_nice_from_env()?,
            timeouts: server::Timeouts::default(),
            wrap_queue: None,
            wrap_table: None,
        })
    }
}

/// `MIPING_BACKGROUND_NICE`, or [`DEFAULT_BACKGROUND_NICE`] unless set (the run command and the
/// benches, so a bench can compare priorities on the same build).
pub fn background_nice_from_env() -> Result<i32, String> {
    match miping::config::env("MIPING_BACKGROUND_NICE") {
        Some(v) => v.parse().map_err(|e| format!("MIPING_BACKGROUND_NICE={v}: {e}")),
        None => Ok(DEFAULT_BACKGROUND_NICE),
    }
}

/// Where the in-process simulator keeps its state: `<MIPING_DATA_DIR>/meta-sim`.
pub fn simulator_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("meta-sim")
}

/// A running platform.
pub struct Platform {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Set when this start created the super admin with a generated password: show it once.
    pub created_admin: Option<SuperAdminBootstrap>,
    /// The in-process Meta simulator, when started.
    pub simulator: Option<meta_sim::SimHandle>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    consumers: Vec<JoinHandle<()>>,
    /// Where the consumers run; dropped (its threads stopped) with the platform.
    _background: Option<Background>,
}

impl Platform {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops the pollers.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        if let Some(sim) = self.simulator {
            sim.shutdown();
        }
        let served = self.server.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        for consumer in self.consumers {
            let _ = consumer.await;
        }
        served
    }
}

impl Platform {
    /// Stops like a crashed process: the pollers and their running handlers are aborted
    /// wherever they are (mid-send included), nothing is drained. What they had received comes
    /// back after the queue's visibility timeout. For fault tests; the simulator, when
    /// in-process, is stopped as well.
    pub async fn kill(self) {
        for consumer in &self.consumers {
            consumer.abort();
        }
        self.server.abort();
        for consumer in self.consumers {
            let _ = consumer.await;
        }
        let _ = self.server.await;
        if let Some(sim) = self.simulator {
            sim.shutdown();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Embedded(#[from] miping::platform::embedded::EmbeddedError),
    #[error("bootstrap failed: {0}")]
    Bootstrap(#[from] miping::domain::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("cannot start the Meta simulator on {0}: {1}")]
    Simulator(SocketAddr, std::io::Error),
    #[error("cannot start the consumers' runtime: {0}")]
    Background(std::io::Error),
}

pub async fn start(options: Options) -> Result<Platform, StartError> {
    let mut config = miping::platform::embedded::local_config(&options.data_dir)?;
    if let Some(configure) = options.configure {
        configure(&mut config);
    }
    let listener = TcpListener::bind(options.addr).await.map_err(|e| StartError::Listen(options.addr, e))?;
    let addr = listener.local_addr().map_err(|e| StartError::Listen(options.addr, e))?;

    // The simulator signs its webhooks with our app secret and delivers them to our own
    // receiver, exactly as Meta would; its templates, registrations and media live next to our
    // data, so a restart does not forget what "Meta" holds (and a sync does not delete it).
    let simulator = match options.simulator {
        Some(sim_addr) => {
            let sim_config = meta_sim::SimConfig {
                app_id: config.meta.app_id.clone(),
                app_secret: config.meta.app_secret.expose_secret().to_string(),
                webhook_url: Some(format!("http://{addr}/webhook/meta")),
                data_dir: Some(simulator_dir(&options.data_dir)),
                ..meta_sim::SimConfig::default()
            };
            let sim = meta_sim::start(sim_config, sim_addr).await.map_err(|e| StartError::Simulator(sim_addr, e))?;
            config.meta.graph_url = sim.base_url();
            // Meta's SDK would sign up against Meta, not the simulator: the connect pages load
            // the simulator's stand-in unless a SDK was chosen (META_SDK_URL, a test's own).
            if config.meta.sdk_url == miping::config::DEFAULT_SDK_URL {
                config.meta.sdk_url = sim.sdk_url();
            }
            Some(sim)
        }
        None => None,
    };
    let mut ports = miping::platform::embedded::ports(&options.data_dir, &config.meta)?;
    // Media URLs point at this process (its real port when MIPING_ADDR asked for any), which
    // serves them under /media-files/.
    let media_base = miping::config::env("MIPING_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
    let files =
        Arc::new(miping::platform::embedded::file_storage(&options.data_dir, &media_base, ports.clock.clone())?);
    ports.storage = files.clone();
    if let Some(wrap) = options.wrap_queue {
        ports.queue = wrap(ports.queue);
    }
    if let Some(wrap) = options.wrap_table {
        ports.table = wrap(ports.table);
    }
    let state = AppState::new(ports, config);

    let mut created_admin = None;
    if let Some(admin) = &state.config.super_admin
        && bootstrap_super_admin(&state.ports, admin).await?
    {
        created_admin = Some(admin.clone());
    }

    let (shutdown, _) = watch::channel(false);
    let (background, consumers) = if options.consumers {
        let background = Background::start(options.background_nice).map_err(StartError::Background)?;
        let consumers = spawn_consumers(background.handle(), &state, &shutdown);
        (Some(background), consumers)
    } else {
        (None, Vec::new())
    };
    // The API's route groups and the console's pages on one port, as API Gateway routes them on AWS.
    let app = miping::http::layers::with_common_layers(
        routes::api(state.clone())
            .merge(miping_console::router(state.clone()))
            .merge(miping::http::media_files::router(files)),
    )
    .layer(axum::middleware::from_fn(timed_request));
    let server = tokio::spawn(server::serve(listener, app, options.timeouts, shutdown.subscribe()));
    Ok(Platform { addr, state, created_admin, simulator, shutdown, server, consumers, _background: background })
}

/// A whole request's time, for the intake benchmark's stage timings (nothing unless enabled).
async fn timed_request(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    miping::telemetry::stages::timed(miping::telemetry::stages::Stage::Request, next.run(req)).await
}

/// With `MIPING_STAGE_TIMINGS=<file>`: counts per-stage timings and writes them to the file as
/// JSON every 200 ms (`infra/bench.sh intake` reads them to say where a request's time goes).
pub fn write_stage_timings_from_env() {
    let Some(path) = miping::config::env("MIPING_STAGE_TIMINGS") else { return };
    miping::telemetry::stages::enable();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            let json = miping::telemetry::stages::snapshot_json().to_string();
            let tmp = format!("{path}.tmp");
            if std::fs::write(&tmp, json).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    });
}

/// Handlers at once per send lane (the other queues have [`PollerOptions::default`]'s 8).
const SEND_CONCURRENCY: usize = 32;

/// The queue consumers that are separate Lambdas on AWS, as in-process pollers: the send lanes
/// and the scheduler beside the server, the others on `background` (see [`Background`]).
fn spawn_consumers(
    background: &tokio::runtime::Handle,
    state: &AppState,
    shutdown: &watch::Sender<bool>,
) -> Vec<JoinHandle<()>> {
    let send_worker: Arc<dyn Consumer> = Arc::new(miping::domain::sending::worker::SendWorker {
        ports: state.ports.clone(),
        prices: (*state.prices).clone(),
        timing: state.config.send_timing,
    });
    // One poller per send lane (as one event source mapping per queue on AWS): however long
    // the bulk lane's backlog, the one-off lane has its own handlers.
    let consumers: Vec<(QueueName, Arc<dyn Consumer>)> = vec![
        (miping::queues::WEBHOOK, Arc::new(miping::domain::webhooks::process::processor(state.ports.clone()))),
        (miping::queues::MAIL, Arc::new(MailConsumer { ports: state.ports.clone() })),
        (miping::queues::SEND, send_worker.clone()),
        (miping::queues::SEND_BULK, send_worker),
        (
            miping::queues::CALLBACK,
            Arc::new(miping::domain::callbacks::worker::CallbackWorker {
                ports: state.ports.clone(),
                allow_private: state.config.allow_private_callbacks,
            }),
        ),
        (miping::queues::FANOUT, Arc::new(FanoutWorker { ports: state.ports.clone() })),
        (
            miping::queues::MEDIA,
            Arc::new(miping::runtime::consumers::media::MediaConsumer { ports: state.ports.clone() }),
        ),
    ];
    // Short long-poll waits: locally a message should move within a fraction of a second.
    let options = PollerOptions { wait: Duration::from_millis(200), ..PollerOptions::default() };
    // A send lane's handlers mostly wait (for the table, for Meta, for their permit's instant):
    // at 1,000 msg/s each permit needs a handler that has finished its last send (its writes
    // take milliseconds on a busy machine), and a permit nobody holds passes unused. Measured
    // at 1,000 msg/s (`miping-bench sending pacing`, 3 runs each, 0 refused): 16 handlers
    // 96.6–98.9% of the rate, 32 handlers 99.0–99.3%. At 80 msg/s a number has 20 permits within
    // the 250 ms a send may reserve ahead; handlers beyond that hand jobs back (99.5% either way).
    let send_options = PollerOptions { concurrency: SEND_CONCURRENCY, ..options };
    let mut handles: Vec<JoinHandle<()>> = consumers
        .into_iter()
        .map(|(queue, consumer)| {
            let poller =
                |options| run_poller(state.ports.queue.clone(), queue, consumer, options, shutdown.subscribe());
            // Sending keeps the server's priority: a send's moment is its permit's, and Meta's
            // rate window does not wait for a lower-priority thread to be scheduled.
            if [miping::queues::SEND, miping::queues::SEND_BULK].contains(&queue) {
                tokio::spawn(poller(send_options))
            } else {
                background.spawn(poller(options))
            }
        })
        .collect();
    // Releasing due messages is sending's first step: the server's priority too.
    handles.push(tokio::spawn(run_scheduler(state.ports.clone(), SCHEDULER_TICK, shutdown.subscribe())));
    handles.push(background.spawn(run_reconciler(state.ports.clone(), state.config.reconcile, shutdown.subscribe())));
    handles
}

/// The consumers' nice value in the local process: under contention Linux gives a nice-10
/// thread about a tenth of the CPU share of a nice-0 one, and all of it when nothing else wants it.
pub const DEFAULT_BACKGROUND_NICE: i32 = 10;

/// The runtime the consumers that can wait run on — webhook processing, callbacks, campaign
/// fan-out, media, mail, the reconciler — apart from the one that serves requests and sends,
/// with its threads at a lower CPU priority (a higher nice value).
///
/// Why: on AWS the receivers and the workers are separate Lambdas, each with its own CPU; here
/// they share the machine's few cores. Under a burst — Meta's status webhooks for a campaign at
/// 1,000 msg/s, an inbound storm — processing each webhook (the message, the contact, the
/// conversation, the callbacks it triggers) competed with the next deliveries for the cores, and
/// the receiver slowed to the pace of that work, when Meta only waits for a 200. Every body is
/// durable on its queue before the 200, so its processing can wait: deliveries are answered
/// first and the queues drain with whatever CPU is left, at full speed once the burst is over
/// (and with all of it whenever a core is idle). Sending is not here: pacing needs its thread
/// when its permit's moment comes. The nice value is the whole host's, so a busy neighbour
/// process delays these queues too, never the requests or the sends.
///
/// The nice value applies to each thread the runtime starts (its workers and its blocking pool:
/// on Linux a thread's nice value is its own). Raising it needs no privilege; elsewhere than on
/// Linux it is left as is.
pub struct Background {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Background {
    pub fn start(nice: i32) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("miping-background")
            .enable_all()
            .on_thread_start(move || lower_priority(nice))
            .build()?;
        Ok(Self { runtime: Some(runtime) })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("running").handle()
    }
}

impl Drop for Background {
    /// Without waiting for the tasks (a runtime cannot block inside another one's task):
    /// `Platform::stop` has already waited for them to finish.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Adds `nice` to the calling thread's nice value (at most 19), so a process already started
/// with `nice` keeps its consumers below its server.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    // SAFETY: plain system calls about the calling thread, no memory handed over.
    let done = unsafe {
        let thread = libc::gettid() as libc::id_t;
        let current = libc::getpriority(libc::PRIO_PROCESS, thread);
        libc::setpriority(libc::PRIO_PROCESS, thread, (current + nice).min(19))
    };
    if done != 0 {
        tracing::warn!(nice, error = %std::io::Error::last_os_error(), "the consumers' thread keeps its priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_: i32) {}

/// The reconciler's EventBridge schedule of AWS, as an in-process timer (every
/// `options.interval`; `MIPING_RECONCILE_INTERVAL_SECONDS`).
pub async fn run_reconciler(
    ports: miping::ports::Ports,
    options: miping::domain::reconciler::ReconcileOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(options.interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if let Err(e) = miping::domain::reconciler::run(&ports, options).await {
            tracing::warn!(error = %e, "reconciler run failed; the next run retries");
        }
        // The embedded store has no lifecycle rules: files past their plan's retention go here.
        // The sweep reads every stored file's item, and retention is counted in days, so it runs
        // at most once per MEDIA_SWEEP_EVERY rather than on every reconciler tick (an expired
        // file already answers 410 before it is deleted).
        if last_sweep.is_some_and(|at| at.elapsed() < MEDIA_SWEEP_EVERY) {
            continue;
        }
        match miping::domain::media::retention::sweep(&ports, ports.clock.now()).await {
            Ok(n) => {
                last_sweep = Some(tokio::time::Instant::now());
                if n > 0 {
                    tracing::info!(expired = n, "media past its retention deleted");
                }
            }
            Err(e) => tracing::warn!(error = %e, "media retention sweep failed; the next tick retries"),
        }
    }
}

/// How often the local process deletes media past its plan's retention.
const MEDIA_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How often the in-process scheduler looks for due messages and campaigns (the most a release
/// is late by).
pub const SCHEDULER_TICK: Duration = Duration::from_secs(1);

/// The EventBridge schedule of AWS, as an in-process timer.
pub async fn run_scheduler(ports: miping::ports::Ports, tick: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if let Err(e) = miping::domain::scheduler::release_due(&ports).await {
            tracing::warn!(error = %e, "scheduler tick failed; next tick retries");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::Background;

    fn own_nice() -> i32 {
        // SAFETY: a plain system call about the calling thread.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn the_background_threads_run_below_the_caller() {
        let caller = own_nice();
        let background = Background::start(7).expect("runtime");
        let (worker, blocking) = background.handle().block_on(async {
            let worker = tokio::spawn(async { own_nice() }).await.unwrap();
            let blocking = tokio::task::spawn_blocking(own_nice).await.unwrap();
            (worker, blocking)
        });
        let expected = (caller + 7).min(19);
        assert_eq!((worker, blocking), (expected, expected));
        assert_eq!(own_nice(), caller, "the calling thread keeps its own");

        let same = Background::start(0).expect("runtime");
        assert_eq!(same.handle().block_on(async { tokio::spawn(async { own_nice() }).await.unwrap() }), caller);
    }
}
