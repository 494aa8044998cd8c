//! The train service's API: its routes, each with the scope it needs, and
//! the OpenAPI document generated from the same list.

use crate::{TrainState, delete, fit};
use anomaly_http::extract::empty_series_id;
use anomaly_http::{Scope, ScopedRoutes};
use axum::routing::post;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "train", description = "Fits per-series anomaly models and stores them as versions; deletes series."),
    paths(anomaly_http::health::healthcheck, anomaly_http::health::live),
    components(schemas(anomaly_http::ErrorBody, anomaly_http::ModelDescription))
)]
struct TrainApi;

/// The routes: fits need the write scope, deletes the admin scope.
/// `/fit/` answers the empty id's 422.
pub(crate) fn api_routes() -> ScopedRoutes<Arc<TrainState>> {
    let writes = OpenApiRouter::new().routes(routes!(fit::fit)).route("/fit/", post(empty_series_id));
    let deletes = OpenApiRouter::new().routes(routes!(delete::delete_series));
    ScopedRoutes::default().scoped(Scope::Write, writes).scoped(Scope::Admin, deletes)
}

/// The OpenAPI document served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().document(TrainApi::openapi())
}
