//! The flow of the original three-service system's own integration suite,
//! as its clients walk it: fit v1 and v2, predict by version, then read the
//! training points of each version back from `/plot` as JSON.

use blackbox_tests::*;
use serde_json::{Value, json};

/// `n` training points whose values differ from every other fit's.
fn training(n: usize, base: f64) -> (Vec<i64>, Vec<f64>) {
    let timestamps = (0..n as i64).map(|i| 1_700_000_000 + 60 * i).collect();
    let values = (0..n).map(|i| base + (i % 7) as f64 * 0.25 + i as f64 / 1000.0).collect();
    (timestamps, values)
}

fn data_points(plot: &Value) -> Vec<(i64, f64)> {
    plot["data_points"]
        .as_array()
        .expect("data_points")
        .iter()
        .map(|point| (point["timestamp"].as_i64().expect("timestamp"), point["value"].as_f64().expect("value")))
        .collect()
}

async fn the_original_suite_flow_works_unchanged(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let (v1_times, v1_values) = training(100, 10.0);
    let (v2_times, v2_values) = training(200, 50.0);
    let v1 = fit(&platform.train, "sensor-7", &json!({"timestamps": v1_times, "values": v1_values})).await;
    let v2 = fit(&platform.train, "sensor-7", &json!({"timestamps": v2_times, "values": v2_values})).await;
    for (answer, version, points) in [(&v1, "v1", 100), (&v2, "v2", 200)] {
        assert_eq!((answer["version"].as_str(), answer["points_used"].as_u64()), (Some(version), Some(points)));
        assert!(answer["timestamp"].as_str().is_some_and(|t| !t.is_empty()), "{answer}");
        assert_eq!(answer["timestamp"], answer["trained_at"], "the same instant");
    }

    let (status, v1_verdict) = predict(&platform.infer, "sensor-7", Some("v1"), 1000.0).await;
    assert_eq!((status, v1_verdict["anomaly"].as_bool()), (StatusCode::OK, Some(true)), "{v1_verdict}");
    assert_eq!(v1_verdict["model_version"], "v1");

    let monitor = &platform.monitor.url;
    for (query, version, times, values) in [
        ("series_id=sensor-7", "v2", &v2_times, &v2_values),
        ("series_id=sensor-7&version=v1", "v1", &v1_times, &v1_values),
        ("series_id=sensor-7&version=2", "v2", &v2_times, &v2_values),
    ] {
        let response = client().get(format!("{monitor}/plot?{query}")).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
        let plot: Value = response.json().await.expect("json");
        assert_eq!((plot["series_id"].as_str(), plot["model_version"].as_str()), (Some("sensor-7"), Some(version)));
        let expected: Vec<(i64, f64)> = times.iter().copied().zip(values.iter().copied()).collect();
        assert_eq!(data_points(&plot), expected, "{query}: every training point, exactly");
    }

    // Browsers and `<img>` tags still get the drawing; `format` wins.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for (accept, query, expected) in [
        (browser, "series_id=sensor-7", "image/svg+xml"),
        ("image/webp,image/*,*/*;q=0.8", "series_id=sensor-7", "image/svg+xml"),
        ("application/json", "series_id=sensor-7&format=svg", "image/svg+xml"),
        (browser, "series_id=sensor-7&format=json", "application/json"),
    ] {
        let response =
            client().get(format!("{monitor}/plot?{query}")).header("accept", accept).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
        assert!(content_type.starts_with(expected), "{accept} {query}: {content_type}");
    }
    let (status, error) = get_json(&format!("{monitor}/plot?series_id=sensor-7&format=png")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_query")));
    for (query, code) in
        [("series_id=nope", "series_not_found"), ("series_id=sensor-7&version=v3", "version_not_found")]
    {
        let (status, error) = get_json(&format!("{monitor}/plot?{query}")).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some(code)), "{query}");
    }
}

on_both_backends!(the_original_suite_flow_works_unchanged);
