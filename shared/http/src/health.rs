//! `GET /healthcheck`: the contract's figures (series trained, inference and
//! training latency) read from the shared stores, so every service tells the
//! same truth, plus the state of each dependency and of the service's
//! background work (infer's stream worker, monitor's webhook fan-out).
//! 503 when a dependency is down or that work is stuck.

use crate::LatencyRecorder;
use anomaly_core::LatencySummary;
use anomaly_store::{Backends, LatencyKind};
use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// What the healthcheck needs.
#[derive(Clone)]
pub struct HealthState {
    /// `train`, `infer` or `monitor`.
    pub service: &'static str,
    /// The storage the service works with.
    pub backends: Backends,
    /// This process's recorders, flushed before reading so its own recent
    /// calls are included.
    pub recorders: Vec<Arc<LatencyRecorder>>,
    /// What the service runs in the background, reported beside the dependencies.
    pub probes: Probes,
}

/// The background work a service's `/healthcheck` reports on.
#[derive(Clone, Default)]
pub struct Probes {
    /// The stream worker of an infer process.
    pub stream: Option<Arc<dyn StreamProbe>>,
    /// The webhook fan-out of a monitor process.
    pub webhook_fanout: Option<Arc<dyn FanoutProbe>>,
}

/// Reports on a monitor's webhook fan-out.
pub trait FanoutProbe: Send + Sync {
    /// How the fan-out stands now.
    fn report(&self) -> FanoutHealth;
}

/// Rounds of background work (a stream partition's batches, the webhook
/// fan-out's rounds) that must fail in a row before `/healthcheck` (and
/// infer's `/ready`) report it stuck.
pub const STUCK_AFTER_FAILURES: u32 = 3;

/// The webhook fan-out of the monitor answering: it follows the anomaly
/// feed and turns each anomaly into deliveries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FanoutHealth {
    /// `up`, or `stuck` when its last 3 or more rounds (read the feed,
    /// store deliveries, store the position) failed in a row: no webhook
    /// receives new anomalies until the error is fixed.
    #[schema(example = "up")]
    pub status: String,
    /// Rounds that failed in a row (0: the last one went through).
    pub failures: u32,
    /// The last failed round's error, while failing.
    pub error: Option<String>,
    /// The id of the last feed entry turned into deliveries (`ms-seq`);
    /// `null` before the first.
    #[schema(example = "1733312345678-0")]
    pub position: Option<String>,
}

/// Reports on a process's stream worker.
#[async_trait]
pub trait StreamProbe: Send + Sync {
    /// How the worker stands now, within about 2 seconds (a source that
    /// does not answer in time is reported down).
    async fn report(&self) -> StreamHealth;
}

/// The stream worker of the infer process answering.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StreamHealth {
    /// `log` (the platform's own log: Redis Streams, or the database on the
    /// embedded default) or `kafka`.
    #[schema(example = "log")]
    pub source: String,
    /// `up` when the source answers (its lag could be read; with Kafka,
    /// the brokers answered) and no partition is stuck; `stuck` when a
    /// partition's batches keep failing (see `stuck_partitions`); else `down`.
    #[schema(example = "up")]
    pub status: String,
    /// Owned partitions whose last batches all failed (3 or more in a
    /// row): their series are not being judged until the error is fixed.
    #[serde(default)]
    pub stuck_partitions: Vec<StuckPartitionHealth>,
    /// Partitions this process's worker owns.
    pub partitions_owned: usize,
    /// Entries (Kafka: messages) of the owned partitions not judged yet.
    pub lag_entries: u64,
    /// The most of them on one partition.
    pub worst_partition_lag: u64,
    /// Seconds since the worker last committed a batch (verdicts, detector
    /// states and position); `null` before its first. Growing while
    /// `lag_entries` is above 0 means the worker is stuck.
    pub last_commit_age_seconds: Option<f64>,
}

/// A partition whose batches keep failing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StuckPartitionHealth {
    /// The partition.
    pub partition: u32,
    /// Its batches that failed in a row.
    pub failures: u32,
    /// The last one's error.
    #[schema(example = "storage error: database is down")]
    pub error: String,
}

/// The healthcheck body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthReport {
    /// `ok` when every dependency answers, else `degraded`.
    #[schema(example = "ok")]
    pub status: String,
    /// The service answering.
    #[schema(example = "infer")]
    pub service: String,
    /// Number of series with at least one model.
    pub series_trained: u64,
    /// Recent successful `POST /predict` latencies, platform-wide.
    pub inference_latency_ms: LatencyFigures,
    /// Recent successful `POST /fit` latencies, platform-wide.
    pub training_latency_ms: LatencyFigures,
    /// State of each storage dependency.
    pub dependencies: Dependencies,
    /// Infer only: its stream worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamHealth>,
    /// Monitor only: its webhook fan-out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_fanout: Option<FanoutHealth>,
}

/// Mean and nearest-rank p95 of a recent window, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct LatencyFigures {
    /// Mean; 0 when there are no samples yet.
    pub avg: f64,
    /// Nearest-rank 95th percentile; 0 when there are no samples yet.
    pub p95: f64,
    /// Number of samples in the window.
    pub samples: usize,
}

impl From<LatencySummary> for LatencyFigures {
    fn from(summary: LatencySummary) -> Self {
        Self { avg: summary.avg, p95: summary.p95, samples: summary.samples }
    }
}

/// The storage dependencies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Dependencies {
    /// The SQL model store.
    pub database: DependencyState,
    /// The shared cache, bus and latency window.
    pub cache: DependencyState,
}

/// One dependency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DependencyState {
    /// `postgres`, `sqlite`, `redis` or `memory`.
    pub backend: String,
    /// `up` or `down`.
    pub status: String,
}

/// The `/healthcheck` and `/live` routes.
pub fn health_router(state: HealthState) -> Router {
    Router::new().route("/healthcheck", get(healthcheck)).route("/live", get(live)).with_state(state)
}

/// Liveness: the process serves HTTP. Asks no dependency, so an outage of
/// PostgreSQL or Redis (which restarting would not fix) never fails it; a
/// liveness probe uses this, a readiness probe `/healthcheck`.
#[utoipa::path(
    get,
    path = "/live",
    tag = "health",
    responses((status = 200, description = "The process serves requests", body = String, example = "alive"))
)]
pub async fn live() -> &'static str {
    "alive"
}

/// Health and platform-wide figures.
#[utoipa::path(
    get,
    path = "/healthcheck",
    tag = "health",
    responses(
        (status = 200, description = "All dependencies answer", body = HealthReport),
        (status = 503, description = "A dependency is down, or on infer the stream's source is down or a partition stuck, or on monitor the webhook fan-out stuck; same body with `status: degraded`", body = HealthReport),
    )
)]
pub async fn healthcheck(State(state): State<HealthState>) -> (StatusCode, Json<HealthReport>) {
    for recorder in &state.recorders {
        let _ = recorder.flush().await;
    }
    let Backends { store, cache, latency, .. } = &state.backends;
    let limit = Duration::from_secs(2);
    // The probe bounds its own reads, and knows what to report when they fail.
    let stream_report = async {
        match &state.probes.stream {
            Some(probe) => Some(probe.report().await),
            None => None,
        }
    };
    let (series, cache_up, inference, training, stream) = tokio::join!(
        tokio::time::timeout(limit, store.series_count()),
        tokio::time::timeout(limit, cache.ping()),
        tokio::time::timeout(limit, latency.summary(LatencyKind::Inference)),
        tokio::time::timeout(limit, latency.summary(LatencyKind::Training)),
        stream_report,
    );
    let series = series.ok().and_then(Result::ok);
    let cache_up = matches!(cache_up, Ok(Ok(())));
    let figures = |summary: Result<Result<LatencySummary, _>, _>| {
        LatencyFigures::from(summary.ok().and_then(Result::ok).unwrap_or_default())
    };
    let state_of = |backend: &str, up: bool| DependencyState {
        backend: backend.to_owned(),
        status: if up { "up" } else { "down" }.to_owned(),
    };
    let webhook_fanout = state.probes.webhook_fanout.as_ref().map(|probe| probe.report());
    let healthy = series.is_some()
        && cache_up
        && stream.as_ref().is_none_or(|stream| stream.status == "up")
        && webhook_fanout.as_ref().is_none_or(|fanout| fanout.status == "up");
    let report = HealthReport {
        status: if healthy { "ok" } else { "degraded" }.to_owned(),
        service: state.service.to_owned(),
        series_trained: series.unwrap_or(0),
        inference_latency_ms: figures(inference),
        training_latency_ms: figures(training),
        dependencies: Dependencies {
            database: state_of(store.backend(), series.is_some()),
            cache: state_of(cache.backend(), cache_up),
        },
        stream,
        webhook_fanout,
    };
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(report))
}
