//! The infer service's API: its routes, each with the scope it needs, and
//! the OpenAPI document generated from the same list.

use crate::InferState;
use crate::predict;
use crate::stream::{ingest, status};
use anomaly_http::extract::empty_series_id;
use anomaly_http::{Scope, ScopedRoutes};
use axum::routing::post;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "infer",
        description = "Judges points against the fitted models, and streams of points with online detectors."
    ),
    paths(anomaly_http::health::healthcheck, anomaly_http::health::live),
    components(schemas(anomaly_http::ErrorBody))
)]
struct InferApi;

/// The routes: ingest needs the write scope, predictions and stream states
/// the read scope (when reads need a key at all); `/ready` is open, as
/// probes carry no key. `/predict/` and `/ingest/` answer the empty id's 422.
pub(crate) fn api_routes() -> ScopedRoutes<Arc<InferState>> {
    let reads = OpenApiRouter::new()
        .routes(routes!(predict::predict))
        .route("/predict/", post(empty_series_id))
        .routes(routes!(status::series_stream));
    let writes = OpenApiRouter::new()
        .routes(routes!(ingest::ingest_series))
        .route("/ingest/", post(empty_series_id))
        .routes(routes!(ingest::ingest_many));
    let probes = OpenApiRouter::new().routes(routes!(status::ready));
    ScopedRoutes::default().scoped(Scope::Read, reads).scoped(Scope::Write, writes).open(probes)
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().document(InferApi::openapi())
}
