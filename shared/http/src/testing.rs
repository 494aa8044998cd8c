//! Helpers for handler tests on a router (feature `test-util`).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// POSTs `body` as JSON to `uri` on `router` without a server; returns the status
/// and the JSON answer.
pub async fn post_json(router: Router, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("valid request");
    let response = router.oneshot(request).await.expect("routers are infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body read").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}
