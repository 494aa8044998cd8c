//! What every service shares at the HTTP edge: the error type and its JSON
//! body, extractors that turn bad input into clear 422s, the latency
//! recorder, metrics, the healthcheck, configuration, tracing, API docs, and a server
//! that binds first and serves later (so tests start it on port 0).

pub mod access;
pub mod body_guard;
pub mod config;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod idle_watch;
pub mod latency;
pub mod metrics;
pub mod model_description;
pub mod owned_tasks;
pub mod request_metrics;
pub mod scoped_routes;
pub mod server;
pub mod standalone;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod testing;

pub use access::{Access, Scope};
pub use config::{HttpArgs, StorageArgs};
pub use error::{ApiError, ErrorBody};
pub use extract::{
    ApiBytes, ApiJson, ApiQuery, BodyFormat, JsonBytes, JsonOrNdjsonBytes, SeriesIdParam, SeriesIdPath, SeriesIdText,
};
pub use health::{
    FanoutHealth, FanoutProbe, HealthState, Probes, STUCK_AFTER_FAILURES, StreamHealth, StreamProbe,
    StuckPartitionHealth, health_router,
};
pub use latency::LatencyRecorder;
pub use model_description::ModelDescription;
pub use owned_tasks::OwnedTasks;
pub use scoped_routes::ScopedRoutes;
pub use server::{Server, shutdown_signal};

use anomaly_store::Backends;
use std::sync::Arc;

/// A service's full router: its own `routes` plus `/healthcheck` (reporting
/// as `service`, flushing `recorders` first, and on `probes`),
/// `/metrics`, `/docs` and `/openapi.json`, every route counted and timed
/// in the metrics.
pub fn service_router(
    service: &'static str,
    routes: axum::Router,
    backends: Backends,
    recorders: Vec<Arc<LatencyRecorder>>,
    probes: Probes,
    spec: utoipa::openapi::OpenApi,
) -> axum::Router {
    routes
        .merge(health_router(HealthState { service, backends: backends.clone(), recorders, probes }))
        .merge(metrics::metrics_router(backends))
        .merge(docs::docs_router(spec))
        .layer(request_metrics::RequestMetricsLayer::new(service))
}
