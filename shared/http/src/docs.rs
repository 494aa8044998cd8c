//! `/docs` (Swagger UI, vendored: nothing is fetched) and `/openapi.json`,
//! and what every document states about keys and content types.

use crate::Scope;
use axum::Router;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa_swagger_ui::SwaggerUi;

/// Serves `spec` at `/openapi.json` and Swagger UI at `/docs`.
pub fn docs_router(spec: OpenApi) -> Router {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", spec))
}

/// `spec` stating what the access layer and the body extractors enforce:
/// the `api_key` bearer scheme; on each operation under the paths of
/// `guarded`, the scope it needs and its 401/403 answers; on every
/// operation with a body, the 415 for a body not declared as JSON.
pub(crate) fn document_access(mut spec: OpenApi, guarded: &[(&str, Scope)]) -> OpenApi {
    let components = spec.components.get_or_insert_with(Default::default);
    let mut scheme = Http::new(HttpAuthScheme::Bearer);
    scheme.description = Some(
        "An API key from API_KEYS (`Authorization: Bearer <key>`, or as the HTTP Basic password). Needed only when \
         keys are configured: `write` for fits and ingest, `admin` for webhooks and deletions, and any key for \
         reads when READ_REQUIRES_KEY=true."
            .into(),
    );
    components.security_schemes.insert("api_key".into(), SecurityScheme::Http(scheme).into());
    for (path, item) in spec.paths.paths.iter_mut() {
        let scope = guarded.iter().find(|(guarded_path, _)| guarded_path == path).map(|(_, scope)| *scope);
        for operation in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            if operation.request_body.is_some() {
                add_error(
                    operation,
                    "415",
                    "The body's Content-Type is not one of those the request body lists (`unsupported_media_type`)",
                );
            }
            if let Some(scope) = scope {
                document_scope(operation, scope);
            }
        }
    }
    spec
}

fn document_scope(operation: &mut Operation, scope: Scope) {
    let needed = SecurityRequirement::new("api_key", [scope.name()]);
    // Reads are open unless READ_REQUIRES_KEY=true: the empty requirement says "or none".
    let requirements = if scope == Scope::Read { vec![SecurityRequirement::default(), needed] } else { vec![needed] };
    operation.security = Some(requirements);
    let when = if scope == Scope::Read { "READ_REQUIRES_KEY=true and no" } else { "API keys are configured and no" };
    add_error(operation, "401", &format!("{when} known key was sent (`unauthorized`)"));
    if scope > Scope::Read {
        add_error(operation, "403", &format!("The key lacks the {} scope (`forbidden`)", scope.name()));
    }
}

fn add_error(operation: &mut Operation, status: &str, description: &str) {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let response = ResponseBuilder::new().description(description).content("application/json", content).build();
    operation.responses.responses.entry(status.to_owned()).or_insert(response.into());
}
