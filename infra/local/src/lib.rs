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
use miping::domain::welcome_mail::MailConsumer;
use miping::http::routes;
use miping::runtime::consumer::{PollerOptions, run_poller};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Options {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Adjusts the configuration read from the environment (tests set their own super admin
    /// without touching the process environment).
    pub configure: Option<Box<dyn FnOnce(&mut Config) + Send>>,
}

impl Options {
    /// `MIPING_ADDR` (default 127.0.0.1:3000) and `MIPING_DATA_DIR` (default ./.miping).
    pub fn from_env() -> Result<Self, String> {
        let addr = miping::config::env("MIPING_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        Ok(Self {
            addr: addr.parse().map_err(|e| format!("MIPING_ADDR={addr}: {e}"))?,
            data_dir: miping::config::env("MIPING_DATA_DIR").unwrap_or_else(|| ".miping".into()).into(),
            configure: None,
        })
    }
}

/// A running platform.
pub struct Platform {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Set when this start created the super admin with a generated password: show it once.
    pub created_admin: Option<SuperAdminBootstrap>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    consumers: Vec<JoinHandle<()>>,
}

impl Platform {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops the pollers.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        let served = self.server.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        for consumer in self.consumers {
            let _ = consumer.await;
        }
        served
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Embedded(#[from] miping::platform::embedded::EmbeddedError),
    #[error("bootstrap failed: {0}")]
    Bootstrap(#[from] miping::http::ApiError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

pub async fn start(options: Options) -> Result<Platform, StartError> {
    let (ports, mut config) = miping::platform::embedded::local_state(&options.data_dir)?;
    if let Some(configure) = options.configure {
        configure(&mut config);
    }
    let state = AppState::new(ports, config);

    let mut created_admin = None;
    if let Some(admin) = &state.config.super_admin {
        if bootstrap_super_admin(&state.ports, admin).await? {
            created_admin = Some(admin.clone());
        }
    }

    let listener = TcpListener::bind(options.addr).await.map_err(|e| StartError::Listen(options.addr, e))?;
    let addr = listener.local_addr().map_err(|e| StartError::Listen(options.addr, e))?;
    let (shutdown, mut stop) = watch::channel(false);
    // The queue consumers, in-process (each is its own Lambda on AWS).
    let mail = Arc::new(MailConsumer { ports: state.ports.clone() });
    let consumers = vec![tokio::spawn(run_poller(
        state.ports.queue.clone(),
        miping::queues::MAIL,
        mail,
        PollerOptions { wait: Duration::from_millis(200), ..PollerOptions::default() },
        stop.clone(),
    ))];
    let app = routes::all(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Platform { addr, state, created_admin, shutdown, server, consumers })
}
