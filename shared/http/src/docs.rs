//! `/docs` (Swagger UI, vendored: nothing is fetched) and `/openapi.json`.

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Serves `spec` at `/openapi.json` and Swagger UI at `/docs`.
pub fn docs_router(spec: OpenApi) -> Router {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", spec))
}
