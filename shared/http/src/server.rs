//! A server that binds when built and serves when run, so a caller (or a
//! test on port 0) knows the address before requests arrive. Every router
//! gets the same outer layers: the body's bounds (size and time, one
//! wrapper), tracing, JSON 404.
//! Connections are served by hyper's HTTP/1 connection, closed when they
//! ask nothing for the header-read timeout (see [`crate::idle_watch`]), and
//! capped in number; a stop waits for requests in flight at most
//! `SHUTDOWN_TIMEOUT`, then runs the service's own stopping tasks (drain
//! its workers, flush its queues).

use crate::HttpArgs;
use crate::body_guard::guard;
use crate::error::{method_not_allowed, route_not_found};
use crate::idle_watch::{Activity, Watched};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::trace::TraceLayer;

/// Work a service finishes once its HTTP side has stopped.
type AfterStop = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A bound listener and the router it will serve.
pub struct Server {
    listener: TcpListener,
    router: Router,
    shutdown_timeout: Duration,
    header_read_timeout: Duration,
    max_connections: usize,
    /// Run in order after the last request in flight (drain a worker, flush a queue).
    after_stop: Vec<AfterStop>,
}

impl Server {
    /// Binds `host:port` (port 0 picks a free one) for `router`, adding the
    /// shared layers. Per-request trace spans cost about 8% of predict
    /// throughput, so the trace layer is added only when the log filter
    /// enables them (`RUST_LOG=tower_http=debug`).
    pub async fn bind(host: &str, port: u16, router: Router, http: &HttpArgs) -> std::io::Result<Self> {
        let listener = TcpListener::bind((host, port)).await?;
        let mut router = router.fallback(route_not_found).method_not_allowed_fallback(method_not_allowed).layer(
            tower::util::MapRequestLayer::new(guard(
                http.max_body_bytes,
                Duration::from_secs(http.request_body_timeout),
            )),
        );
        if tracing::enabled!(target: "tower_http::trace", tracing::Level::DEBUG) {
            router = router.layer(TraceLayer::new_for_http());
        }
        Ok(Self {
            listener,
            router,
            shutdown_timeout: Duration::from_secs(http.shutdown_timeout),
            header_read_timeout: Duration::from_secs(http.header_read_timeout),
            max_connections: usize::try_from(http.max_connections).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS),
            after_stop: Vec::new(),
        })
    }

    /// Has [`Server::run`] await `task` once the HTTP side has stopped (no
    /// request in flight any more), after the tasks added before it: how a
    /// service drains what its requests left queued.
    pub fn after_stop<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.after_stop.push(Box::new(move || Box::pin(task())));
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The URL to reach it from this machine (`0.0.0.0` shown as `127.0.0.1`).
    pub fn url(&self) -> std::io::Result<String> {
        let mut addr = self.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Ok(format!("http://{addr}"))
    }

    /// Serves until `shutdown` completes, then finishes the requests in
    /// flight for at most the shutdown timeout (connections still open then
    /// are left to the process' exit), then runs the [`Server::after_stop`]
    /// tasks in order.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        // HTTP/1 only (HTTP/2 reaches services through a proxy anyway), and
        // no upgrades (no route asks for one): hyper's own HTTP/1
        // connection, without hyper-util's version detection and upgrade
        // wrapper around it. No timer: see `crate::idle_watch`.
        let builder = http1::Builder::new();
        let graceful = GracefulShutdown::new();
        let open = Arc::new(Semaphore::new(self.max_connections));
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            // Past the cap, stop accepting: clients wait in the listen queue.
            let permit = tokio::select! {
                permit = open.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
                () = &mut shutdown => break,
            };
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors or a connection reset before
                        // it was accepted: not fatal; wait a moment and go on.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let activity = Arc::new(Activity::default());
            let service = TowerToHyperService::new(Watched::new(self.router.clone(), activity.clone()));
            let (builder, watcher, silence) = (builder.clone(), graceful.watcher(), self.header_read_timeout);
            tokio::spawn(async move {
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                // A connection that asks nothing for the header-read timeout
                // is dropped, which closes it.
                tokio::select! {
                    _ = watcher.watch(connection) => {}
                    () = activity.silent_for(silence) => {}
                }
                drop(permit);
            });
        }
        drop(self.listener);
        tracing::info!("shutdown: no new connections; finishing requests in flight");
        if tokio::time::timeout(self.shutdown_timeout, graceful.shutdown()).await.is_err() {
            tracing::warn!(timeout = ?self.shutdown_timeout, "requests still in flight at the shutdown deadline; closing");
        }
        for task in self.after_stop {
            task().await;
        }
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
