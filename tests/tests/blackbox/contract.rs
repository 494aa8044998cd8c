//! The public contract: fit answers, predict verdicts, version selection,
//! 404s, directions and thresholds, on PostgreSQL + Redis and on the
//! embedded default.

use blackbox_tests::*;
use serde_json::json;

async fn fit_then_predict_follows_the_contract(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let answer = fit(&platform.train, "cpu.host-1", &series_body(30)).await;
    assert_eq!(answer["series_id"], "cpu.host-1");
    assert_eq!(answer["version"], "v1");
    assert_eq!(answer["model_version"], "v1");
    assert_eq!(answer["points_used"], 30);
    assert_eq!(answer["mean"], 10.0);
    assert_eq!(answer["threshold"], 3.0);
    assert_eq!(answer["direction"], "two_sided");
    assert!(answer["trained_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{answer}");

    let (status, verdict) = predict(&platform.infer, "cpu.host-1", None, 25.5).await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["anomaly"], true);
    assert_eq!(verdict["model_version"], "v1");
    assert_eq!(verdict["timestamp"], "1609459500");
    let (_, normal) = predict(&platform.infer, "cpu.host-1", None, 10.5).await;
    assert_eq!(normal["anomaly"], false);
    assert!(normal["score"].as_f64().is_some_and(|z| z > 0.0 && z < 1.0), "{normal}");
    // Graded: flagged from 0.5, normal below it, higher for stronger evidence.
    let graded = |v: &serde_json::Value| v["anomaly_score"].as_f64().expect("anomaly_score");
    assert!(graded(&verdict) >= 0.5 && graded(&verdict) <= 1.0, "{verdict}");
    assert!(graded(&normal) >= 0.0 && graded(&normal) < 0.5, "{normal}");
    let (_, stronger) = predict(&platform.infer, "cpu.host-1", None, 250.0).await;
    assert!(graded(&stronger) > graded(&verdict), "{stronger} against {verdict}");
}

async fn timestamp_may_be_an_integer(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(10)).await;
    for timestamp in [json!(1609459500), json!(1609459500.0)] {
        let body = json!({"timestamp": timestamp, "value": 10.0});
        let (status, verdict) = post_json(&format!("{}/predict/s", platform.infer.url), &body).await;
        assert_eq!(status, StatusCode::OK, "{verdict}");
        assert_eq!(verdict["timestamp"], "1609459500");
    }
}

async fn each_fit_creates_the_next_version_and_any_can_be_selected(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let mut body = series_body(9);
    fit(&platform.train, "s", &body).await;
    body["threshold"] = json!(1.0);
    let second = fit(&platform.train, "s", &body).await;
    assert_eq!(second["version"], "v2");

    // 11.5 is 1.84 std from the mean 10 (std 0.816): normal at k=3, anomalous at k=1.
    for (selector, version, anomaly) in
        [("v1", "v1", false), ("V1", "v1", false), ("1", "v1", false), ("v2", "v2", true)]
    {
        let (status, verdict) = predict(&platform.infer, "s", Some(selector), 11.5).await;
        assert_eq!(status, StatusCode::OK, "{selector}: {verdict}");
        assert_eq!(
            (verdict["model_version"].as_str(), verdict["anomaly"].as_bool()),
            (Some(version), Some(anomaly)),
            "{selector}"
        );
    }
    let (_, latest) = predict(&platform.infer, "s", None, 11.5).await;
    assert_eq!(latest["model_version"], "v2");
}

async fn unknown_series_and_versions_are_404(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let (status, error) = predict(&platform.infer, "never-fitted", None, 1.0).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("series_not_found")), "{error}");
    let (status, error) = predict(&platform.infer, "never-fitted", Some("v1"), 1.0).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("series_not_found")), "{error}");
    fit(&platform.train, "s", &series_body(5)).await;
    let (status, error) = predict(&platform.infer, "s", Some("v2"), 1.0).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("version_not_found")), "{error}");
    let (status, error) = get_json(&format!("{}/no/such/route", platform.train.url)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("route_not_found")), "{error}");
    let (status, error) = get_json(&format!("{}/fit/s", platform.train.url)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")),
        "{error}"
    );
}

async fn directions_follow_the_reference_model(env: TestEnv) {
    let platform = Platform::start(&env).await;
    for direction in ["upper", "lower", "two_sided"] {
        let mut body = series_body(9);
        body["direction"] = json!(direction);
        let answer = fit(&platform.train, direction, &body).await;
        assert_eq!(answer["direction"], direction);
    }
    let verdict = |series: &'static str, value: f64| {
        let infer = &platform.infer;
        async move { predict(infer, series, None, value).await.1["anomaly"].as_bool() }
    };
    assert_eq!(verdict("upper", 20.0).await, Some(true));
    assert_eq!(verdict("upper", 0.0).await, Some(false));
    assert_eq!(verdict("lower", 0.0).await, Some(true));
    assert_eq!(verdict("lower", 20.0).await, Some(false));
    assert_eq!(verdict("two_sided", 0.0).await, Some(true));
    assert_eq!(verdict("two_sided", 20.0).await, Some(true));
}

async fn large_offsets_with_small_spread_fit_exactly(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let body = json!({"timestamps": [1, 2, 3, 4], "values": [1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0]});
    let answer = fit(&platform.train, "big", &body).await;
    assert_eq!(answer["mean"], 1e9 + 10.0);
    assert!((answer["std"].as_f64().unwrap_or(0.0) - 22.5f64.sqrt()).abs() < 1e-6, "{answer}");
    let (_, verdict) = predict(&platform.infer, "big", None, 1e9 + 30.0).await;
    assert_eq!(verdict["anomaly"], true, "{verdict}");
}

on_both_backends!(
    fit_then_predict_follows_the_contract,
    timestamp_may_be_an_integer,
    each_fit_creates_the_next_version_and_any_can_be_selected,
    unknown_series_and_versions_are_404,
    directions_follow_the_reference_model,
    large_offsets_with_small_spread_fit_exactly,
);
