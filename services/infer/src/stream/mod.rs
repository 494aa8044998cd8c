//! The streaming half of infer: `POST /ingest` puts points into the
//! stream's source (the partitioned log, or the Kafka topic with
//! `KAFKA_BROKERS`; see [`source`]), the worker judges them with each
//! series' online detector, `GET /stream/{series_id}` and `GET /ready`
//! tell how it goes. Every judged point is kept for `POINTS_RETENTION_DAYS`
//! ([`retention`]).

pub mod ingest;
mod judge;
mod kafka;
mod lag_minutes;
mod metrics;
mod retention;
mod source;
pub mod status;
mod worker;
mod worker_status;

pub use ingest::{BatchIngestRequest, BatchPoint, IngestAccepted, IngestRequest, ingest_many, ingest_series};
pub(crate) use metrics::StreamMetrics;
pub use status::{SeriesStreamView, StreamHealthProbe, ready, series_stream};
pub use worker_status::StreamStatus;

use crate::ModelLookup;
use crate::settings::InferSettings;
use anomaly_core::{DetectorConfig, Model};
use anomaly_http::OwnedTasks;
use anomaly_store::{Backends, StoreError};
use std::sync::Arc;
use tokio::sync::watch;

/// The detector of series that have no fitted model.
#[derive(Debug, Clone, Copy)]
pub struct StreamDefaults {
    /// The platform default detector (`STREAM_DETECTOR`).
    pub config: DetectorConfig,
}

impl StreamDefaults {
    /// The online detector `choice`: a kind with its defaults (the rolling
    /// kinds take `window` points and threshold `threshold`), or a JSON
    /// object as a fit's `detector` (`{"kind": "rule", "above": 90}`).
    pub fn new(choice: &str, window: u32, threshold: f64) -> Result<Self, anomaly_core::ValidationError> {
        let choice = choice.trim();
        let given = if choice.starts_with('{') {
            serde_json::from_str(choice).map_err(|e| {
                anomaly_core::ValidationError::InvalidDetector(format!("STREAM_DETECTOR is not a JSON object: {e}"))
            })?
        } else {
            let mut given = serde_json::Map::from_iter([("kind".to_owned(), choice.into())]);
            if matches!(choice, "rolling_zscore" | "rolling_mad") {
                given.insert("window".to_owned(), window.into());
                given.insert("threshold".to_owned(), threshold.into());
            }
            given
        };
        let config = DetectorConfig::from_json(given)?;
        let kind = config.kind();
        if config.start().is_none() {
            return Err(anomaly_core::ValidationError::InvalidDetector(format!(
                "the stream's default detector must learn online; {kind} only exists fitted"
            )));
        }
        Ok(Self { config })
    }

    pub(crate) fn model(&self) -> Model {
        self.config.start().unwrap_or_else(|| unreachable!("the stream default is an online kind"))
    }
}

/// The streaming side of one infer process: its worker and what it reports.
pub struct Stream {
    /// What the worker holds.
    pub status: Arc<StreamStatus>,
    /// Where points come from and ingested points go.
    pub(crate) source: Arc<dyn source::StreamSource>,
    /// Most log entries a partition may be behind for `/ready`.
    pub ready_max_lag: u64,
    /// Most series one ingest request may hold (`INGEST_MAX_SERIES_PER_REQUEST`).
    pub ingest_max_series: usize,
    pub(crate) metrics: StreamMetrics,
    /// The worker's task and its stop signal.
    worker: OwnedTasks,
}

/// How long a stopping worker may take to finish its batch and release its partitions.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Stream {
    /// Starts the worker over `backends`: a consumer in Kafka's group when
    /// Kafka is configured, else a worker of the platform's own log.
    pub fn start(
        backends: Backends,
        models: Arc<ModelLookup>,
        defaults: StreamDefaults,
        settings: &InferSettings,
    ) -> Result<Self, StoreError> {
        let (ready_max_lag, kafka) = (settings.ready_max_lag, &settings.kafka);
        let status = Arc::new(StreamStatus::default());
        let metrics = StreamMetrics::new();
        let worker = OwnedTasks::default();
        let stopped = worker.stopping();
        let max_states = usize::try_from(settings.stream_states_in_memory).unwrap_or(usize::MAX);
        let keep_points = settings.points_retention_days > 0;
        let history = backends.stream_points.clone();
        let judge = judge::Judge::new(
            backends.clone(),
            models,
            defaults,
            metrics.clone(),
            max_states,
            status.clone(),
            keep_points,
        );
        let (source, handle): (Arc<dyn source::StreamSource>, _) = if kafka.enabled() {
            let (ingest, handle) = kafka::start(kafka, backends, judge, status.clone(), metrics.clone(), stopped)?;
            (Arc::new(source::KafkaTopic { ingest, status: status.clone() }), handle)
        } else {
            let name = worker_name(&settings.stream_worker_id);
            let log = source::OwnLog(backends.points.clone());
            (Arc::new(log), Self::start_log_worker(backends, judge, status.clone(), metrics.clone(), stopped, name))
        };
        let ingest_max_series = usize::try_from(settings.ingest_max_series_per_request).unwrap_or(usize::MAX);
        worker.own(handle);
        if keep_points {
            let days = settings.points_retention_days;
            worker.own(tokio::spawn(retention::run(history, days, worker.stopping())));
        }
        Ok(Self { status, source, ready_max_lag, ingest_max_series, metrics, worker })
    }

    /// Stops the worker after its current batch and waits (at most 10 s)
    /// until it has committed it and released its partitions. The service
    /// runs it once its HTTP side has stopped.
    pub async fn drain(&self) {
        if !self.worker.stop(DRAIN_TIMEOUT).await {
            tracing::warn!("the stream worker did not stop in time; its leases expire on their own");
        }
    }

    fn start_log_worker(
        backends: Backends,
        judge: judge::Judge,
        status: Arc<StreamStatus>,
        metrics: StreamMetrics,
        stopped: watch::Receiver<bool>,
        name: String,
    ) -> tokio::task::JoinHandle<()> {
        let lease = backends.leases.lease();
        let lease = worker::LeaseSettings {
            worker: name,
            // Renewals well within the lease; at least every second, so a
            // joining worker gets its share quickly whatever the lease.
            round: (lease / 5).clamp(std::time::Duration::from_millis(100), std::time::Duration::from_secs(1)),
        };
        let worker = worker::Worker::new(backends, judge, status, metrics, lease);
        tokio::spawn(worker.run(stopped))
    }

    /// Asks the worker to stop after its current batch.
    pub fn stop(&self) {
        self.worker.signal();
    }
}

/// `STREAM_WORKER_ID`, or a name of this start alone.
fn worker_name(configured: &str) -> String {
    let configured = configured.trim();
    if configured.is_empty() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("{}-{nanos:x}", std::process::id())
    } else {
        configured.to_owned()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::OnlineDetector;

    #[test]
    fn the_default_is_a_kind_or_a_json_detector() {
        let rolling = StreamDefaults::new("rolling_zscore", 20, 4.0).expect("valid");
        assert_eq!(
            serde_json::to_value(rolling.config).ok(),
            Some(serde_json::json!({"kind": "rolling_zscore", "window": 20, "threshold": 4.0}))
        );
        let rule = StreamDefaults::new(r#" {"kind": "rule", "above": 90, "for": 3} "#, 50, 3.0).expect("valid");
        assert_eq!(rule.config.kind(), "rule");
        assert!(rule.model().update_at(1, 95.0).anomaly_score() > 0.0);
        for bad in ["three_sigma", "{\"kind\": \"rule\"}", "{not json", "isolation_forest"] {
            assert!(StreamDefaults::new(bad, 50, 3.0).is_err(), "{bad}");
        }
    }
}
