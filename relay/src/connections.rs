//! Serving connections with hyper (HTTP/1.1): at most so many open at once (more wait in the
//! listen backlog), a bound on reading a request head that also closes keep-alive connections
//! left idle, and a graceful stop that closes idle connections at once and lets requests in
//! flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use crate::RelayError;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// The longest wait for a request's head, from when the connection starts waiting for it
    /// (its opening, or the previous answer on a keep-alive connection).
    pub header_timeout: Duration,
}

/// Turns an accepted TCP stream into the stream HTTP is read from (TLS or not).
pub trait Accept: Clone + Send + Sync + 'static {
    /// The stream HTTP is spoken on.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Wraps `tcp`; an error drops the connection.
    fn accept(&self, tcp: TcpStream) -> impl Future<Output = std::io::Result<Self::Stream>> + Send;
}

/// Plain HTTP.
#[derive(Clone)]
pub struct Plain;

impl Accept for Plain {
    type Stream = TcpStream;

    async fn accept(&self, tcp: TcpStream) -> std::io::Result<TcpStream> {
        Ok(tcp)
    }
}

/// Serves `routes` on `listener` until `shutdown` completes, then closes idle connections and
/// waits for the requests in flight.
pub async fn serve<A: Accept>(
    listener: TcpListener,
    accept: A,
    routes: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RelayError> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot
                .map_err(|_| RelayError::Internal("connection slots closed".into()))?,
        };
        let tcp = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(
            tcp,
            accept.clone(),
            routes.clone(),
            limits.header_timeout,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection until it closes, or `stopping` turns true and it finishes what it
/// is answering.
async fn connection<A: Accept>(
    tcp: TcpStream,
    accept: A,
    routes: Router,
    header_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = tcp.set_nodelay(true);
    let stream = tokio::select! {
        _ = stopping.wait_for(|s| *s) => return,
        stream = tokio::time::timeout(header_timeout, accept.accept(tcp)) => match stream {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "connection refused before HTTP");
                return;
            }
            Err(_) => return,
        },
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(routes));
    tokio::pin!(conn);
    tokio::select! {
        done = conn.as_mut() => {
            if let Err(e) = done {
                tracing::debug!(error = %e, "connection ended");
            }
            return;
        }
        _ = stopping.wait_for(|s| *s) => {}
    }
    // Closes it now if idle, after the answer in flight otherwise.
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended");
    }
}
