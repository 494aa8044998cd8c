//! The infer service's OpenAPI document, generated from the handlers.

use anomaly_http::Scope;
use anomaly_http::docs::document_access;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "infer",
        description = "Judges points against the fitted models, and streams of points with online detectors."
    ),
    paths(
        crate::predict::predict,
        crate::stream::ingest::ingest_series,
        crate::stream::ingest::ingest_many,
        crate::stream::status::series_stream,
        crate::stream::status::ready,
        anomaly_http::health::healthcheck,
        anomaly_http::health::live
    ),
    components(schemas(anomaly_http::ErrorBody))
)]
struct InferApi;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let guarded = [
        ("/predict/{series_id}", Scope::Read),
        ("/stream/{series_id}", Scope::Read),
        ("/ingest/{series_id}", Scope::Write),
        ("/ingest", Scope::Write),
    ];
    document_access(InferApi::openapi(), &guarded)
}
