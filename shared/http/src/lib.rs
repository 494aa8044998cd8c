//! What every service shares at the HTTP edge: the error type and its JSON
//! body, extractors that turn bad input into clear 422s, the latency
//! recorder, the healthcheck, configuration, tracing, API docs, and a server
//! that binds first and serves later (so tests start it on port 0).

pub mod config;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod latency;
pub mod model_description;
pub mod server;
pub mod standalone;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod testing;

pub use config::{HttpArgs, StorageArgs};
pub use error::{ApiError, ErrorBody};
pub use extract::{ApiBytes, ApiJson, ApiQuery, SeriesIdPath};
pub use health::{HealthState, health_router};
pub use latency::LatencyRecorder;
pub use model_description::ModelDescription;
pub use server::{Server, shutdown_signal};

use anomaly_store::Backends;
use std::sync::Arc;

/// A service's full router: its own `routes` plus `/healthcheck` (reporting
/// as `service`, flushing `recorders` first), `/docs` and `/openapi.json`.
pub fn service_router(
    service: &'static str,
    routes: axum::Router,
    backends: Backends,
    recorders: Vec<Arc<LatencyRecorder>>,
    spec: utoipa::openapi::OpenApi,
) -> axum::Router {
    routes.merge(health_router(HealthState { service, backends, recorders })).merge(docs::docs_router(spec))
}
