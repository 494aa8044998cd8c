//! Infer records its verdicts in the background; monitor serves them as
//! `GET /series/{series_id}/predictions` and `GET /anomalies`.

use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Polls `url` until its `predictions` hold `count` entries (the history is
/// written asynchronously, in batches).
async fn wait_for_predictions(url: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, page) = get_json(url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let predictions = page["predictions"].as_array().cloned().unwrap_or_default();
        if predictions.len() >= count || Instant::now() > deadline {
            assert_eq!(predictions.len(), count, "{url}: {page}");
            return predictions;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn verdicts_are_recorded_and_served(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "cpu", &series_body(30)).await;
    fit(&platform.train, "mem", &series_body(30)).await;
    let points = [(100, 10.0), (200, 11.0), (300, 50.0), (400, 9.0), (500, -40.0)];
    for (timestamp, value) in points {
        let body = json!({ "timestamp": timestamp.to_string(), "value": value });
        let (status, verdict) = post_json(&format!("{}/predict/cpu", platform.infer.url), &body).await;
        assert_eq!(status, StatusCode::OK, "{verdict}");
    }
    let body = json!({ "timestamp": 250, "value": 99.0 });
    post_json(&format!("{}/predict/mem", platform.infer.url), &body).await;

    let monitor = &platform.monitor.url;
    let all = wait_for_predictions(&format!("{monitor}/series/cpu/predictions"), 5).await;
    let timestamps: Vec<_> = all.iter().map(|p| p["timestamp"].as_i64()).collect();
    assert_eq!(timestamps, [Some(500), Some(400), Some(300), Some(200), Some(100)], "newest first");
    let flags: Vec<_> = all.iter().map(|p| p["anomaly"].as_bool()).collect();
    assert_eq!(flags, [Some(true), Some(false), Some(true), Some(false), Some(false)]);
    assert_eq!((all[0]["value"].as_f64(), all[0]["model_version"].as_str()), (Some(-40.0), Some("v1")));
    assert!(all[0]["score"].as_f64().is_some_and(|z| z < -3.0), "{}", all[0]);
    let graded: Vec<bool> = all.iter().map(|p| p["anomaly_score"].as_f64().is_some_and(|s| s >= 0.5)).collect();
    assert_eq!(graded, [true, false, true, false, false], "flagged exactly from 0.5");

    let ranged = wait_for_predictions(&format!("{monitor}/series/cpu/predictions?from=200&to=400&limit=2"), 2).await;
    let timestamps: Vec<_> = ranged.iter().map(|p| p["timestamp"].as_i64()).collect();
    assert_eq!(timestamps, [Some(400), Some(300)]);

    let anomalies = wait_for_predictions(&format!("{monitor}/anomalies"), 3).await;
    let seen: Vec<_> = anomalies.iter().map(|p| (p["series_id"].as_str(), p["timestamp"].as_i64())).collect();
    assert_eq!(seen, [(Some("cpu"), Some(500)), (Some("cpu"), Some(300)), (Some("mem"), Some(250))]);
    let of_mem = wait_for_predictions(&format!("{monitor}/anomalies?series_id=mem"), 1).await;
    assert_eq!(of_mem[0]["value"].as_f64(), Some(99.0));
    wait_for_predictions(&format!("{monitor}/anomalies?from=260&to=400"), 1).await;
}

async fn bad_history_queries_get_a_422_or_404(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "cpu", &series_body(5)).await;
    let monitor = &platform.monitor.url;
    for (query, code) in [
        ("series/cpu/predictions?from=5&to=4", "invalid_range"),
        ("series/cpu/predictions?limit=0", "invalid_limit"),
        ("series/cpu/predictions?limit=10001", "invalid_limit"),
        ("series/cpu/predictions?from=yesterday", "invalid_query"),
        ("series/bad%20id/predictions", "invalid_series_id"),
        ("anomalies?series_id=bad%20id", "invalid_series_id"),
        ("anomalies?to=-1&from=0", "invalid_range"),
    ] {
        let (status, error) = get_json(&format!("{monitor}/{query}")).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{query}");
    }
    let (status, error) = get_json(&format!("{monitor}/series/nope/predictions")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("series_not_found")));
}

/// A clean stop (SIGTERM) right after a burst of predicts writes every
/// verdict still kept in memory: the counters hold each one answered.
async fn a_clean_stop_loses_no_recorded_prediction(env: TestEnv) {
    let platform = PlatformProcess::start(&env).await;
    let (status, answer) = post_json(&format!("{}/fit/cpu", platform.train), &series_body(30)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let url = format!("{}/predict/cpu", platform.infer);
    let body = json!({"timestamp": "1609459500", "value": 10.0});
    let answered = 2_000;
    for chunk in 0..answered / 50 {
        let calls = (0..50).map(|_| post_json(&url, &body));
        for (status, verdict) in futures::future::join_all(calls).await {
            assert_eq!(status, StatusCode::OK, "chunk {chunk}: {verdict}");
        }
    }
    let exited = tokio::task::spawn_blocking(move || platform.terminate()).await.expect("joined");
    assert_eq!(exited, Some(0), "exit status 0 after SIGTERM");

    let backends = env.connect().await;
    let series = anomaly_core::SeriesId::parse("cpu").expect("valid");
    let activity = backends.predictions.series_activity(std::slice::from_ref(&series)).await.expect("read");
    assert_eq!(activity.first().map(|a| a.predictions), Some(answered), "{activity:?}");
}

on_both_backends!(
    verdicts_are_recorded_and_served,
    bad_history_queries_get_a_422_or_404,
    a_clean_stop_loses_no_recorded_prediction
);
