//! The dashboard's own static files, compiled in: the stylesheet and the
//! scripts (no CDN; the pages' Content-Security-Policy allows only these).

use axum::Router;
use axum::http::header;
use axum::routing::get;

const SCRIPT: &str = "text/javascript; charset=utf-8";

/// Name under `/dashboard/`, content type, content.
const FILES: [(&str, &str, &str); 5] = [
    ("style.css", "text/css; charset=utf-8", include_str!("style.css")),
    ("format.js", SCRIPT, include_str!("format.js")),
    ("live.js", SCRIPT, include_str!("live.js")),
    ("labels.js", SCRIPT, include_str!("labels.js")),
    ("series_live.js", SCRIPT, include_str!("series_live.js")),
];

/// A route per file, cached by browsers for five minutes.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES.iter().fold(Router::new(), |router, &(name, content_type, content)| {
        let headers = [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=300")];
        router.route(&format!("/dashboard/{name}"), get(move || async move { (headers, content) }))
    })
}
