//! The monitor service's API: its routes, each with the scope it needs,
//! and the OpenAPI document generated from the same list.

use crate::MonitorState;
use crate::api::{events, labels, models, mutes, plot, points, predictions, webhooks};
use anomaly_http::{Scope, ScopedRoutes};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "monitor",
        description = "Plots, model listings, the live feed of anomalies, webhooks and platform health."
    ),
    paths(anomaly_http::health::healthcheck, anomaly_http::health::live),
    components(schemas(anomaly_http::ErrorBody))
)]
struct MonitorApi;

/// The JSON routes: reads need the read scope (when reads need a key at
/// all), labels the write scope, webhooks and mutes the admin scope.
pub(crate) fn api_routes() -> ScopedRoutes<MonitorState> {
    let reads = OpenApiRouter::new()
        .routes(routes!(plot::plot))
        .routes(routes!(models::list_models))
        .routes(routes!(models::series_models))
        .routes(routes!(predictions::series_predictions))
        .routes(routes!(predictions::anomalies))
        .routes(routes!(points::series_points))
        .routes(routes!(points::point_summary))
        .routes(routes!(events::events));
    let writes = OpenApiRouter::new().routes(routes!(labels::set_label, labels::clear_label));
    let admin = OpenApiRouter::new()
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(mutes::list, mutes::create))
        .routes(routes!(mutes::end));
    ScopedRoutes::default().scoped(Scope::Read, reads).scoped(Scope::Write, writes).scoped(Scope::Admin, admin)
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().document(MonitorApi::openapi())
}
