//! The dashboard's pages on both backends: what each shows, its filters and
//! sorting, and HTML errors for bad input. (The browser test checks how
//! they render.)

use blackbox_tests::*;
use serde_json::json;
use std::time::{Duration, Instant};

async fn page(url: &str) -> (StatusCode, String) {
    let response = client().get(url).send().await.expect("request sent");
    let status = response.status();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("text/html"), "{url}: {content_type}");
    (status, response.text().await.expect("body"))
}

/// The series ids of the series list's rows, in order.
fn listed(html: &str) -> Vec<&str> {
    html.split("<a href=\"/dashboard/series/").skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

async fn pages_show_the_platform(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "web-2", &series_body(40)).await;
    fit(&platform.train, "web-1", &series_body(10)).await;
    fit(&platform.train, "db-1", &series_body(20)).await;
    fit(&platform.train, "db-1", &series_body(25)).await;
    for value in [10.0, 11.0, 95.0] {
        let body = json!({ "timestamp": 1_609_470_000, "value": value });
        post_json(&format!("{}/predict/web-1", platform.infer.url), &body).await;
    }
    let monitor = &platform.monitor.url;
    // The anomaly's row comes first, its series' counters within a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !page(&format!("{monitor}/dashboard/series")).await.1.contains("<span class=\"badge\">1</span>") {
        assert!(Instant::now() < deadline, "the anomaly was never counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(get_json(&format!("{monitor}/anomalies")).await.1["predictions"].as_array().map(Vec::len), Some(1));

    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let root = redirect.get(format!("{monitor}/")).send().await.expect("sent");
    assert_eq!((root.status().is_redirection(), root.headers()["location"].to_str().ok()), (true, Some("/dashboard")));

    let (status, overview) = page(&format!("{monitor}/dashboard")).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    assert!(overview.contains("Series trained</div><div class=\"value\">3<"), "{overview}");
    assert!(overview.contains("Model versions</div><div class=\"value\">4<"), "{overview}");
    assert_eq!(
        overview.matches("<svg").count(),
        6,
        "traffic, anomalies, predict and fit latency, stream points and lag"
    );
    assert_eq!(overview.matches("state up").count(), 5, "database, cache, train, infer, monitor");

    let (status, all) = page(&format!("{monitor}/dashboard/series")).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(listed(&all), ["db-1", "web-1", "web-2"]);
    let (_, by_points) = page(&format!("{monitor}/dashboard/series?sort=points_used&order=desc")).await;
    assert_eq!(listed(&by_points), ["web-2", "db-1", "web-1"]);
    let (_, filtered) = page(&format!("{monitor}/dashboard/series?filter=WEB&sort=version&order=desc")).await;
    assert_eq!(listed(&filtered), ["web-2", "web-1"], "ties by id, in the same direction");
    assert!(all.contains("<span class=\"badge\">1</span>"), "web-1's anomaly is counted: {all}");

    let (status, series) = page(&format!("{monitor}/dashboard/series/db-1?version=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(series.contains("v1: mean") && series.contains("<svg") && series.contains("selected"), "{series}");
    let (_, with_predictions) = page(&format!("{monitor}/dashboard/series/web-1")).await;
    assert!(with_predictions.contains("anomalous prediction (1)"), "{with_predictions}");

    let (_, anomalies) = page(&format!("{monitor}/dashboard/anomalies?series_id=web-1&from=2021-01-01T00:00")).await;
    assert!(anomalies.contains("1 anomalies shown") && anomalies.contains("2021-01-01 03:00:00"), "{anomalies}");
    let (_, none) = page(&format!("{monitor}/dashboard/anomalies?to=2020-12-31T23:59")).await;
    assert!(none.contains("0 anomalies shown"), "{none}");

    for (path, expected) in [
        ("/dashboard/series/nope", StatusCode::NOT_FOUND),
        ("/dashboard/series/db-1?version=v9", StatusCode::NOT_FOUND),
        ("/dashboard/series/db-1?version=x", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/series?sort=mood", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/series?order=up", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/series?page=-1", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/anomalies?from=yesterday", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/anomalies?series_id=bad%20id", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/anomalies?source=kafka", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboard/live?series_id=bad%20id", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, body) = page(&format!("{monitor}{path}")).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body.contains("class=\"error\""), "{path}: {body}");
    }
}

async fn a_page_far_past_the_end_is_empty(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;
    for page_number in ["2", "9223372036854775807", "18446744073709551615"] {
        let url = format!("{}/dashboard/series?page={page_number}", platform.monitor.url);
        let (status, html) = page(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {html}");
        assert!(listed(&html).is_empty() && html.contains("of 1"), "{url}: {html}");
    }
}

on_both_backends!(pages_show_the_platform, a_page_far_past_the_end_is_empty);
