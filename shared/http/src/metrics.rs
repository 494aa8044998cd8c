//! Prometheus metrics: one recorder per process (the `metrics` crate's
//! global, rendered by `metrics-exporter-prometheus`), `GET /metrics`, and
//! the gauges read at scrape time (connection pools).
//!
//! Handles taken before [`install`] would be no-ops, so every state that
//! registers metrics calls it first. The three services of the embedded
//! platform share one process, so each of their `/metrics` shows all three;
//! the `service` label tells them apart.

use anomaly_store::Backends;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Histogram buckets of every `*_seconds` metric: 50 µs to 30 s (the
/// seconds range for the stream's ingest-to-verdict and webhook delivery).
const SECONDS_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5,
    5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets, so memory
/// stays flat between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once) and returns its handle.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        // Fails only for an empty bucket list, which SECONDS_BUCKETS is not.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no metrics upkeep thread; histograms fold at scrape time only");
        }
        handle
    })
}

/// The `/metrics` route over `backends` (whose pool usage it reports).
pub fn metrics_router(backends: Backends) -> Router {
    install();
    Router::new().route("/metrics", get(render)).with_state(backends)
}

/// The Prometheus text exposition of this process's metrics.
async fn render(State(backends): State<Backends>) -> impl IntoResponse {
    for pool in backends.pool_usage() {
        for (state, value) in [("open", pool.open), ("idle", pool.idle), ("max", pool.max)] {
            metrics::gauge!("anomaly_pool_connections", "pool" => pool.pool, "state" => state).set(value as f64);
        }
    }
    let text = install().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}
