//! A server that binds when built and serves when run, so a caller (or a
//! test on port 0) knows the address before requests arrive. Every router
//! gets the same outer layers: body limit, body timeout, tracing, JSON 404;
//! a stop waits for requests in flight at most `SHUTDOWN_TIMEOUT`.

use crate::HttpArgs;
use crate::error::{method_not_allowed, route_not_found};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

/// A bound listener and the router it will serve.
pub struct Server {
    listener: TcpListener,
    router: Router,
    shutdown_timeout: Duration,
}

impl Server {
    /// Binds `host:port` (port 0 picks a free one) for `router`, adding the
    /// shared layers. Per-request trace spans cost about 8% of predict
    /// throughput, so the trace layer is added only when the log filter
    /// enables them (`RUST_LOG=tower_http=debug`).
    pub async fn bind(host: &str, port: u16, router: Router, http: &HttpArgs) -> std::io::Result<Self> {
        let listener = TcpListener::bind((host, port)).await?;
        let mut router = router
            .fallback(route_not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(http.max_body_bytes))
            .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(http.request_body_timeout)));
        if tracing::enabled!(target: "tower_http::trace", tracing::Level::DEBUG) {
            router = router.layer(TraceLayer::new_for_http());
        }
        Ok(Self { listener, router, shutdown_timeout: Duration::from_secs(http.shutdown_timeout) })
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
    /// flight for at most the shutdown timeout; connections still open then
    /// are left to the process' exit.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let stopping = Arc::new(Notify::new());
        let signal = stopping.clone();
        let graceful = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            signal.notify_one();
        });
        let deadline = async {
            stopping.notified().await;
            tokio::time::sleep(self.shutdown_timeout).await;
        };
        tokio::select! {
            result = graceful.into_future() => result,
            () = deadline => {
                tracing::warn!(timeout = ?self.shutdown_timeout, "requests still in flight at the shutdown deadline; closing");
                Ok(())
            }
        }
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
