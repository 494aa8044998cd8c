//! The train service: `POST /fit/{series_id}` validates a series, fits the
//! model, stores it as the next version, writes it to the shared cache and
//! announces it to every infer replica, then answers.
//! `DELETE /models/{series_id}` removes a series the same way.

mod cache_repairer;
mod delete;
mod fit;
mod fit_budget;
mod openapi;
mod settings;
mod wire;

pub use cache_repairer::{CacheRepairer, REPAIR_EVERY};
pub use delete::delete_series;
pub use fit::fit;
pub use fit_budget::{FitBudget, FitReservation};
pub use openapi::openapi;
pub use settings::TrainSettings;
pub use wire::{FitRequest, FitResponse};

use anomaly_http::{Access, HttpArgs, LatencyRecorder, Server, service_router};
use anomaly_store::{Backends, LatencyKind};
use axum::Router;
use std::sync::Arc;
use std::time::Duration;

/// What the train handlers share (behind one `Arc`).
pub struct TrainState {
    /// Storage.
    pub backends: Backends,
    /// Fewest points a fit accepts.
    pub min_training_points: usize,
    /// Latency of successful fits.
    pub recorder: Arc<LatencyRecorder>,
    /// `anomaly_fits_total`: models stored.
    pub fits: metrics::Counter,
    /// `anomaly_fit_points_total`: training points of the stored models.
    pub fit_points: metrics::Counter,
    /// Finishes cache writes and announcements that failed after a commit.
    pub repairer: CacheRepairer,
    /// Bytes of fit bodies allowed in flight.
    pub fit_budget: FitBudget,
}

impl TrainState {
    /// State over `backends`, for bodies of at most `max_body_bytes`;
    /// starts the latency flusher and the cache repairer.
    pub fn new(backends: Backends, settings: &TrainSettings, max_body_bytes: usize) -> Self {
        anomaly_http::metrics::install();
        let recorder =
            LatencyRecorder::start(LatencyKind::Training, backends.latency.clone(), Duration::from_millis(200));
        Self {
            repairer: CacheRepairer::start(backends.clone()),
            backends,
            min_training_points: settings.min_training_points as usize,
            fit_budget: FitBudget::new(settings.fit_max_bytes_in_flight, max_body_bytes),
            recorder,
            fits: metrics::counter!("anomaly_fits_total"),
            fit_points: metrics::counter!("anomaly_fit_points_total"),
        }
    }
}

/// All routes of the train service, guarded by `access` (the list and
/// the scopes: [`openapi::api_routes`]).
pub fn router(state: TrainState, access: &Access) -> Router {
    let (backends, recorder) = (state.backends.clone(), state.recorder.clone());
    let routes = openapi::api_routes().into_router(access).with_state(Arc::new(state));
    service_router("train", routes, backends, vec![recorder], Default::default(), openapi())
}

/// Binds the train service on `settings.train_port` (0 picks a free port);
/// once it has stopped serving, it writes the last fit latencies.
pub async fn build(backends: Backends, settings: &TrainSettings, http: &HttpArgs) -> std::io::Result<Server> {
    let access = Access::from_args(http).map_err(std::io::Error::other)?;
    let state = TrainState::new(backends, settings, http.max_body_bytes);
    let recorder = state.recorder.clone();
    let server = Server::bind(&http.host, settings.train_port, router(state, &access), http).await?;
    Ok(server.after_stop(move || async move {
        if let Err(error) = recorder.flush().await {
            tracing::warn!(%error, "the last fit latencies were not written");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomaly_http::testing::post_json as call;
    use anomaly_store::StorageConfig;
    use axum::http::StatusCode;

    async fn app(dir: &tempfile::TempDir) -> Router {
        let backends = Backends::connect(&StorageConfig::embedded(dir.path().join("t.db"))).await.expect("storage");
        let settings = TrainSettings { train_port: 0, min_training_points: 3, fit_max_bytes_in_flight: 1 << 20 };
        router(TrainState::new(backends, &settings, 1 << 20), &Access::open())
    }

    #[tokio::test]
    async fn fits_store_successive_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = app(&dir).await;
        let body = r#"{"timestamps": [1, 2, 3], "values": [1, 2, 3]}"#;
        let (status, first) = call(app.clone(), "/fit/s", body).await;
        assert_eq!((status, first["version"].as_str()), (StatusCode::OK, Some("v1")));
        let (_, second) = call(app, "/fit/s", body).await;
        assert_eq!(second["version"], "v2");
        assert_eq!(second["mean"], 2.0);
    }

    #[tokio::test]
    async fn a_bad_fit_names_the_defect() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (status, error) =
            call(app(&dir).await, "/fit/s", r#"{"timestamps": [1, 2, 3], "values": [4, 4, 4]}"#).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("constant_series")));
    }
}
