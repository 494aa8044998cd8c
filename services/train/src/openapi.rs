//! The train service's OpenAPI document, generated from the handlers.

use anomaly_http::Scope;
use anomaly_http::docs::document_access;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "train", description = "Fits per-series anomaly models and stores them as versions; deletes series."),
    paths(
        crate::fit::fit,
        crate::delete::delete_series,
        anomaly_http::health::healthcheck,
        anomaly_http::health::live
    ),
    components(schemas(anomaly_http::ErrorBody, anomaly_http::ModelDescription))
)]
struct TrainApi;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    document_access(TrainApi::openapi(), &[("/fit/{series_id}", Scope::Write), ("/models/{series_id}", Scope::Admin)])
}
