//! A service's API routes and their OpenAPI document from one list: groups
//! of routes (utoipa-axum's `OpenApiRouter` with `routes!`, each route
//! documented by its handler's `#[utoipa::path]`), each with the scope its
//! guard checks. The routes and their document cannot drift apart, and each
//! documented route states exactly the scope its guard enforces. (A group
//! may also hold plain `.route(...)`s that stay out of the document, such
//! as the 422 for an empty series id.)

use crate::docs::document_access;
use crate::{Access, Scope};
use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Route groups, each open to all or behind one scope.
pub struct ScopedRoutes<S> {
    groups: Vec<(Option<Scope>, OpenApiRouter<S>)>,
}

impl<S: Clone + Send + Sync + 'static> Default for ScopedRoutes<S> {
    fn default() -> Self {
        Self { groups: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> ScopedRoutes<S> {
    /// `routes`, served only to a key with `scope` (when `access` asks for keys).
    pub fn scoped(mut self, scope: Scope, routes: OpenApiRouter<S>) -> Self {
        self.groups.push((Some(scope), routes));
        self
    }

    /// `routes`, open to every caller (probes carry no key).
    pub fn open(mut self, routes: OpenApiRouter<S>) -> Self {
        self.groups.push((None, routes));
        self
    }

    /// `base` (its info, components and any paths served elsewhere) with
    /// every documented route, each stating the scope it needs.
    pub fn document(&self, base: OpenApi) -> OpenApi {
        let mut guarded = Vec::new();
        let mut spec = base;
        for (scope, routes) in &self.groups {
            let paths = routes.get_openapi().clone();
            if let Some(scope) = scope {
                guarded.extend(paths.paths.paths.keys().map(|path| (path.clone(), *scope)));
            }
            spec.merge(paths);
        }
        let guarded: Vec<(&str, Scope)> = guarded.iter().map(|(path, scope)| (path.as_str(), *scope)).collect();
        document_access(spec, &guarded)
    }

    /// The routes, each group behind `access`'s guard for its scope.
    pub fn into_router(self, access: &Access) -> Router<S> {
        self.groups.into_iter().fold(Router::new(), |router, (scope, routes)| {
            let routes = Router::from(routes);
            router.merge(match scope {
                Some(scope) => access.guard(scope, routes),
                None => routes,
            })
        })
    }
}
