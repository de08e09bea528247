//! carebank-relay: the HTTP sync server. Devices sync their circle's documents through it;
//! it authenticates every request by the device's signature and serves a circle only to the
//! circle's enrolled, unrevoked devices. Its data lives in SQLite (default) or PostgreSQL.
//!
//! [`serve`] runs it until a shutdown future completes; [`spawn`] runs it on a thread of its
//! own (tests, and the command line's `carebank serve`).

mod args;
mod backend;
mod circles;
mod connections;
mod district;
mod district_page;
mod docs;
mod error;
mod pool;
mod server;
mod state;
#[cfg(test)]
mod testing;
mod tls;
mod trust;

pub use args::{RelayArgs, init_logging};
pub use backend::{Appended, Backend, MonthCloseRow, PostgresBackend, SqliteBackend, TrustRecord};
pub use error::RelayError;
pub use state::AuthPolicy;
pub use tls::TlsFiles;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use tokio::net::TcpListener;

use crate::connections::{ConnectionLimits, Plain};
use crate::pool::Pool;
use crate::server::{AppState, BodyLimits, router};
use crate::state::Relay;
use crate::tls::Tls;

/// Connections to PostgreSQL each relay instance keeps open (SQLite has one).
const POSTGRES_CONNECTIONS: usize = 4;

/// How to run a relay.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where to listen (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Where the SQLite database lives (ignored with a database URL).
    pub data_dir: PathBuf,
    /// A PostgreSQL URL; SQLite in `data_dir` when absent.
    pub database_url: Option<String>,
    /// Circles to serve, each with its centre key (registered on start, kept in the database).
    pub circles: Vec<(Id, PublicKey)>,
    /// The largest request body accepted (413 past it, or at once when declared larger).
    pub max_body_bytes: usize,
    /// How far a request's time may be from the relay's clock.
    pub max_skew_ms: i64,
    /// The longest wait for a request's head, counted from when the connection starts waiting
    /// for it: its opening, or its previous answer (so it is also how long a keep-alive
    /// connection may sit idle). The connection is closed past it.
    pub header_timeout: Duration,
    /// The longest pause in a request body (408, and the connection closed, past it).
    pub body_idle_timeout: Duration,
    /// The longest a whole request body may take to arrive (408 past it).
    pub body_timeout: Duration,
    /// Connections open at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Sync requests handled at once; further ones are shed with 503 and `Retry-After: 1`.
    pub max_requests: usize,
    /// Serve HTTPS with this certificate and key; plain HTTP when absent (behind a terminator).
    pub tls: Option<TlsFiles>,
    /// The province roots whose district officials may collect their districts' month closes.
    pub province_roots: Vec<PublicKey>,
}

impl RelayConfig {
    /// Defaults: a 32 MiB body limit, 5 minutes of clock skew, 10 s to send a request head
    /// (and idle keep-alive connections closed after 10 s), a body that pauses 30 s or takes
    /// over 15 minutes refused, 512 connections and 64 sync requests at once.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> RelayConfig {
        RelayConfig {
            listen,
            data_dir,
            database_url: None,
            circles: Vec::new(),
            max_body_bytes: 32 * 1024 * 1024,
            max_skew_ms: 5 * 60 * 1000,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(15 * 60),
            max_connections: 512,
            max_requests: 64,
            tls: None,
            province_roots: Vec::new(),
        }
    }
}

/// Opens the database the configuration names and registers its circles (blocking).
fn open_pool(config: &RelayConfig) -> Result<Pool, RelayError> {
    let backends: Vec<Box<dyn Backend>> = match &config.database_url {
        Some(url) => (0..POSTGRES_CONNECTIONS)
            .map(|_| Ok(Box::new(PostgresBackend::connect(url)?) as Box<dyn Backend>))
            .collect::<Result<_, RelayError>>()?,
        None => vec![Box::new(SqliteBackend::open(&config.data_dir)?)],
    };
    let pool = Pool::new(backends)?;
    for (circle, centre) in &config.circles {
        pool.get()?.register_circle(*circle, *centre)?;
    }
    Ok(pool)
}

/// Binds the listener and opens the database; returns the bound address and the server future,
/// which runs until `shutdown` completes, then finishes the requests in flight.
pub async fn bind(
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, impl Future<Output = Result<(), RelayError>>), RelayError> {
    let tls = config.tls.as_ref().map(Tls::load).transpose()?;
    let opened = config.clone();
    let pool = tokio::task::spawn_blocking(move || open_pool(&opened))
        .await
        .map_err(|e| RelayError::Internal(format!("worker: {e}")))??;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| RelayError::Config(format!("listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| RelayError::Config(e.to_string()))?;
    let policy = AuthPolicy {
        max_skew_ms: config.max_skew_ms,
    };
    let app = AppState {
        relay: Arc::new(
            Relay::new(pool, policy).with_province_roots(config.province_roots.clone()),
        ),
        body: BodyLimits {
            max_bytes: config.max_body_bytes,
            idle: config.body_idle_timeout,
            total: config.body_timeout,
        },
        requests: Arc::new(tokio::sync::Semaphore::new(config.max_requests.max(1))),
    };
    let limits = ConnectionLimits {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
    };
    let routes = router(app);
    let backend_name = if config.database_url.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, backend = backend_name, "relay listening");
    let server = async move {
        match tls {
            Some(tls) => connections::serve(listener, tls, routes, limits, shutdown).await?,
            None => connections::serve(listener, Plain, routes, limits, shutdown).await?,
        }
        tracing::info!("relay stopped");
        Ok(())
    };
    Ok((addr, server))
}

/// Runs a relay until `shutdown` completes (the entry point `carebank serve` calls).
pub async fn serve(
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let (_, server) = bind(config, shutdown).await?;
    server.await
}

/// A relay running on a thread of its own.
pub struct RelayHandle {
    addr: SocketAddr,
    scheme: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), RelayError>>>,
    runtime: Option<tokio::runtime::Handle>,
}

/// Starts a relay on its own thread and runtime; returns once it listens.
pub fn spawn(config: RelayConfig) -> Result<RelayHandle, RelayError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| RelayError::Internal(format!("runtime: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = runtime.handle().clone();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            match bind(config, shutdown).await {
                Ok((addr, server)) => {
                    let _ = ready_tx.send(Ok(addr));
                    tokio::select! {
                        done = server => done,
                        _ = killed => Ok(()),
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    Err(e)
                }
            }
        })
    });
    let addr = ready_rx
        .recv()
        .map_err(|_| RelayError::Internal("the relay thread ended".into()))?
        .map_err(RelayError::Config)?;
    Ok(RelayHandle {
        addr,
        scheme,
        stop: Some(stop),
        kill: Some(kill),
        thread: Some(thread),
        runtime: Some(handle),
    })
}

impl RelayHandle {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for clients (`https://` when it serves TLS: its certificate must name
    /// the address).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops gracefully: requests in flight finish, then the thread ends.
    pub fn stop(mut self) -> Result<(), RelayError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join()
    }

    /// Stops abruptly, as a crash would: connections are dropped mid-request and nothing is
    /// finished (what was committed to the database stays).
    pub fn kill(mut self) -> Result<(), RelayError> {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.join()
    }

    fn join(&mut self) -> Result<(), RelayError> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| RelayError::Internal("the relay thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.runtime.take();
        let _ = self.join();
    }
}

/// Completes on Ctrl-C or SIGTERM: what a relay run from a terminal or a service manager stops on.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
