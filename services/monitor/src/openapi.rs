//! The monitor service's OpenAPI document, generated from the handlers.

use anomaly_http::Scope;
use anomaly_http::docs::document_access;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "monitor",
        description = "Plots, model listings, the live feed of anomalies, webhooks and platform health."
    ),
    paths(
        crate::api::plot::plot,
        crate::api::models::list_models,
        crate::api::models::series_models,
        crate::api::predictions::series_predictions,
        crate::api::predictions::anomalies,
        crate::api::events::events,
        crate::api::webhooks::create,
        crate::api::webhooks::list,
        crate::api::webhooks::delete,
        crate::api::webhooks::test,
        crate::api::webhooks::deliveries,
        anomaly_http::health::healthcheck,
        anomaly_http::health::live
    ),
    components(schemas(anomaly_http::ErrorBody))
)]
struct MonitorApi;

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let guarded = [
        ("/plot", Scope::Read),
        ("/models", Scope::Read),
        ("/models/{series_id}", Scope::Read),
        ("/series/{series_id}/predictions", Scope::Read),
        ("/anomalies", Scope::Read),
        ("/events", Scope::Read),
        ("/webhooks", Scope::Admin),
        ("/webhooks/{id}", Scope::Admin),
        ("/webhooks/{id}/test", Scope::Admin),
        ("/webhooks/{id}/deliveries", Scope::Admin),
    ];
    document_access(MonitorApi::openapi(), &guarded)
}
