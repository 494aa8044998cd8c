//! `/plot` draws a stored version; `/docs` and `/openapi.json` are served by
//! every service.

use blackbox_tests::*;
use serde_json::json;

async fn plot_draws_a_stored_version(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let mut body = series_body(50);
    body["values"][20] = json!(99.0);
    fit(&platform.train, "cpu", &body).await;
    fit(&platform.train, "cpu", &series_body(8)).await;

    for (query, title) in [("series_id=cpu", "cpu v2 (8 points)"), ("series_id=cpu&version=1", "cpu v1 (50 points)")] {
        let response =
            client().get(format!("{}/plot?{query}&format=svg", platform.monitor.url)).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let svg = response.text().await.expect("svg");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(title), "{query}");
    }
    let v1 = client()
        .get(format!("{}/plot?series_id=cpu&version=v1&format=svg", platform.monitor.url))
        .send()
        .await
        .expect("sent");
    assert!(v1.text().await.expect("svg").contains("outside the band (1)"));

    for (query, status, code) in [
        ("series_id=nope", StatusCode::NOT_FOUND, "series_not_found"),
        ("series_id=cpu&version=v3", StatusCode::NOT_FOUND, "version_not_found"),
        ("", StatusCode::UNPROCESSABLE_ENTITY, "invalid_series_id"),
        ("series_id=cpu&version=x", StatusCode::UNPROCESSABLE_ENTITY, "invalid_version"),
    ] {
        let (got, error) = get_json(&format!("{}/plot?{query}", platform.monitor.url)).await;
        assert_eq!((got, error["error"].as_str()), (status, Some(code)), "{query}: {error}");
    }
}

async fn every_service_serves_its_docs(env: TestEnv) {
    let platform = Platform::start(&env).await;
    for (service, path) in
        [(&platform.train, "/fit/{series_id}"), (&platform.infer, "/predict/{series_id}"), (&platform.monitor, "/plot")]
    {
        let (status, spec) = get_json(&format!("{}/openapi.json", service.url)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(spec["paths"][path].is_object(), "{path} in {spec}");
        assert!(spec["paths"]["/healthcheck"].is_object());
        let page = client().get(format!("{}/docs/", service.url)).send().await.expect("sent");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.expect("html").contains("swagger"), "Swagger UI page");
    }
}

on_both_backends!(plot_draws_a_stored_version, every_service_serves_its_docs);
