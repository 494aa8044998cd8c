//! The infer service's OpenAPI document, generated from the handlers.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "infer", description = "Judges points against the fitted models."),
    paths(crate::predict::predict, anomaly_http::health::healthcheck),
    components(schemas(anomaly_http::ErrorBody))
)]
struct InferApi;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    InferApi::openapi()
}
