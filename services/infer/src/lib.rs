//! The infer service: `POST /predict/{series_id}` answers from a process-local
//! cache, backed by the shared cache, backed by the database (a background
//! task keeps the local cache honest by listening to invalidations), and
//! records its verdicts in the prediction history. Its streaming half
//! ([`stream`]) judges the points of `POST /ingest` (or of a Kafka topic)
//! with each series' online detector.

mod history;
mod invalidation;
mod local_cache;
mod lookup;
mod openapi;
mod predict;
mod settings;
pub mod stream;
mod timestamp_field;
mod wire;

pub use history::{HistoryLimits, HistoryRecorder};
pub use local_cache::LocalCache;
pub use lookup::ModelLookup;
pub use openapi::openapi;
pub use predict::predict;
pub use settings::{InferSettings, KafkaSettings};
pub use stream::{Stream, StreamDefaults};
pub use wire::{PredictRequest, PredictResponse};

use anomaly_http::{Access, HttpArgs, LatencyRecorder, Server, service_router};
use anomaly_store::{Backends, LatencyKind};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// What the infer handlers share (behind one `Arc`).
pub struct InferState {
    /// Models through the cache layers.
    pub models: Arc<ModelLookup>,
    /// The stream worker of this process.
    pub stream: Stream,
    /// Latency of successful predictions.
    pub recorder: Arc<LatencyRecorder>,
    /// Storage, for the healthcheck.
    pub backends: Backends,
    /// Where verdicts go for the dashboard.
    pub history: HistoryRecorder,
    /// The API keys: an anomalous predict alerts (feed, webhooks) only
    /// when its caller's key may write. Open until [`router`] sets them.
    pub access: Access,
}

impl InferState {
    /// State over `backends`; starts the invalidation listener, the latency
    /// flusher and the stream worker. Fails on invalid stream defaults or
    /// Kafka settings.
    pub fn new(backends: Backends, settings: &InferSettings) -> std::io::Result<Self> {
        let invalid = |what: &str, error: String| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {error}"))
        };
        let local = Arc::new(LocalCache::new(settings.local_cache_capacity, backends.bus.sends_heartbeats()));
        invalidation::spawn_listener(backends.bus.subscribe(), Arc::downgrade(&local), backends.clone());
        let recorder =
            LatencyRecorder::start(LatencyKind::Inference, backends.latency.clone(), Duration::from_millis(200));
        let limits = HistoryLimits {
            max_rows: settings.prediction_history_max_rows,
            max_rows_per_second: settings.prediction_history_max_rate,
        };
        let history = HistoryRecorder::start(backends.predictions.clone(), backends.anomaly_feed.clone(), limits);
        let models = Arc::new(ModelLookup::new(local, backends.clone()));
        let defaults =
            StreamDefaults::new(&settings.stream_detector, settings.detector_window_size, settings.z_score_threshold)
                .map_err(|e| invalid("stream defaults", e.to_string()))?;
        let stream = Stream::start(backends.clone(), models.clone(), defaults, settings)
            .map_err(|e| invalid("kafka", e.to_string()))?;
        Ok(Self { models, stream, recorder, backends, history, access: Access::open() })
    }
}

/// All routes of the infer service, guarded by `access` (the list and
/// the scopes: [`openapi::api_routes`]).
pub fn router(state: InferState, access: &Access) -> Router {
    shared_router(Arc::new(InferState { access: access.clone(), ..state }), access)
}

/// [`router`] over state the caller keeps a handle on.
fn shared_router(state: Arc<InferState>, access: &Access) -> Router {
    let (backends, recorder) = (state.backends.clone(), state.recorder.clone());
    let probe: Arc<dyn anomaly_http::StreamProbe> = Arc::new(stream::StreamHealthProbe(state.clone()));
    let routes = openapi::api_routes().into_router(access).with_state(state);
    let probes = anomaly_http::Probes { stream: Some(probe), ..Default::default() };
    service_router("infer", routes, backends, vec![recorder], probes, openapi())
}

/// Binds the infer service on `settings.infer_port` (0 picks a free port).
/// Once it has stopped serving, it drains its stream worker (the batch in
/// hand committed, the partitions released), then writes the prediction
/// history still kept and the last predict latencies.
pub async fn build(backends: Backends, settings: &InferSettings, http: &HttpArgs) -> std::io::Result<Server> {
    let access = Access::from_args(http).map_err(std::io::Error::other)?;
    let state = Arc::new(InferState { access: access.clone(), ..InferState::new(backends, settings)? });
    let server = Server::bind(&http.host, settings.infer_port, shared_router(state.clone(), &access), http).await?;
    Ok(server.after_stop(move || async move {
        state.stream.drain().await;
        state.history.drain().await;
        if let Err(error) = state.recorder.flush().await {
            tracing::warn!(%error, "the last predict latencies were not written");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_core::{DetectorConfig, ModelParams, SeriesId, Threshold, TrainingSeries};
    use anomaly_http::testing::post_json as call;
    use anomaly_store::StorageConfig;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn predicts_from_the_store_and_sees_the_next_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backends = Backends::connect(&StorageConfig::embedded(dir.path().join("t.db"))).await.expect("storage");
        let app = router(
            InferState::new(
                backends.clone(),
                &InferSettings {
                    infer_port: 0,
                    local_cache_capacity: 10,
                    prediction_history_max_rows: 100,
                    prediction_history_max_rate: 100,
                    stream_detector: "novelty".into(),
                    detector_window_size: 50,
                    z_score_threshold: 3.0,
                    ready_max_lag: 1000,
                    ingest_max_series_per_request: 10_000,
                    stream_states_in_memory: 1000,
                    points_retention_days: 7,
                    stream_worker_id: String::new(),
                    kafka: Default::default(),
                },
            )
            .expect("valid settings"),
            &Access::open(),
        );
        let body = r#"{"timestamp": "10", "value": 2.5}"#;
        let (status, error) = call(app.clone(), "/predict/s", body).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("series_not_found")));

        let id = SeriesId::parse("s").expect("valid");
        let series = TrainingSeries::new(vec![1, 2, 3], vec![1.0, 2.0, 3.0], 1).expect("valid");
        for threshold in [3.0, 0.5] {
            let config = DetectorConfig::ThreeSigma(anomaly_core::ThreeSigmaParams {
                threshold: Threshold::new(threshold).expect("valid"),
                direction: Default::default(),
            });
            let params = ModelParams::fit(&config, &series).expect("fits");
            // As train does: commit, cache, publish. (Infer's outbox repair
            // may have cached v1 as latest meanwhile; v2 takes its place.)
            let record = backends.store.insert_next_version(&id, &params, series.clone()).await.expect("stored");
            backends.cache.put_latest(&record).await.expect("cached");
            backends.bus.publish(&id, anomaly_store::Change::NewVersion).await.expect("published");
            tokio::task::yield_now().await;
        }
        let (status, verdict) = call(app.clone(), "/predict/s?version=1", body).await;
        assert_eq!((status, verdict["anomaly"].as_bool()), (StatusCode::OK, Some(false)), "{verdict}");
        let (_, verdict) = call(app, "/predict/s", body).await;
        assert_eq!(
            (verdict["model_version"].as_str(), verdict["anomaly"].as_bool()),
            (Some("v2"), Some(true)),
            "{verdict}"
        );
    }
}
