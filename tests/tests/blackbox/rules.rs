//! The `rule` detector end to end: fitted per series, it judges predicts
//! and the stream with its bounds, `for` and `rate`; as the stream default
//! (`STREAM_DETECTOR` as JSON) it judges series nobody fitted; bad rules
//! are 422 with nothing stored.

use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Streams `values` of `series`, one point every `step` seconds from `start`.
async fn stream(platform: &Platform, series: &str, start: i64, step: i64, values: &[f64]) {
    let timestamps: Vec<i64> = (0..values.len() as i64).map(|i| start + step * i).collect();
    let body = json!({"timestamps": timestamps, "values": values});
    let (status, answer) = post_json(&format!("{}/ingest/{series}", platform.infer.url), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

/// The times of the stream's anomalies of `series` once it judged `seen` points.
async fn flagged_times(platform: &Platform, series: &str, seen: u64) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, state) = get_json(&format!("{}/stream/{series}", platform.infer.url)).await;
        if state["points"].as_u64() >= Some(seen) {
            break;
        }
        assert!(Instant::now() < deadline, "the stream did not judge {seen} points of {series}: {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("{}/anomalies?series_id={series}&source=stream", platform.monitor.url);
    let (_, page) = get_json(&url).await;
    let mut times: Vec<i64> = page["predictions"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|row| row["timestamp"].as_i64().expect("timestamp"))
        .collect();
    times.sort_unstable();
    times
}

fn fit_body(detector: Value) -> Value {
    json!({"timestamps": [0, 60, 120], "values": [50.0, 51.0, 49.0], "detector": detector})
}

async fn rules_judge_predicts_and_the_stream(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let answer = fit(&platform.train, "temp", &fit_body(json!({"kind": "rule", "above": 90, "below": 10}))).await;
    assert_eq!(answer["detector"], json!({"kind": "rule", "above": 90.0, "below": 10.0, "for": 1, "rate": null}));
    for (value, anomaly) in [(50.0, false), (90.0, false), (90.5, true), (9.0, true), (10.0, false)] {
        let (status, verdict) = predict(&platform.infer, "temp", None, value).await;
        assert_eq!((status, verdict["anomaly"].as_bool()), (StatusCode::OK, Some(anomaly)), "{value}: {verdict}");
        let graded = verdict["anomaly_score"].as_f64().expect("graded");
        assert_eq!(graded >= 0.5, anomaly, "{value}: {verdict}");
    }

    // `for`: three breaches in a row.
    fit(&platform.train, "held", &fit_body(json!({"kind": "rule", "above": 90, "for": 3}))).await;
    let values = [95.0, 95.0, 50.0, 95.0, 96.0, 97.0, 98.0, 50.0, 99.0];
    stream(&platform, "held", 1000, 60, &values).await;
    assert_eq!(flagged_times(&platform, "held", 9).await, [1000 + 5 * 60, 1000 + 6 * 60]);

    // `rate`: faster than 2 units a second, either way, per the points' own times.
    fit(&platform.train, "rate", &fit_body(json!({"kind": "rule", "rate": 2}))).await;
    stream(&platform, "rate", 1000, 10, &[49.0, 60.0, 90.0, 91.0, 60.0, 60.0]).await;
    // From the fit's last point (120, 49): 0 over 880 s; +11 over 10 s; +30; +1; -31; 0.
    assert_eq!(flagged_times(&platform, "rate", 6).await, [1020, 1040]);
}

async fn a_rule_can_be_the_stream_default(env: TestEnv) {
    let platform = Platform::start_detecting(&env, r#"{"kind": "rule", "above": 100}"#).await;
    stream(&platform, "unfitted", 0, 1, &[1.0, 150.0, 2.0, 101.0]).await;
    assert_eq!(flagged_times(&platform, "unfitted", 4).await, [1, 3]);
    let (_, state) = get_json(&format!("{}/stream/unfitted", platform.infer.url)).await;
    assert_eq!((state["detector"]["kind"].as_str(), state["warming_up"].as_bool()), (Some("rule"), Some(false)));
}

async fn bad_rules_are_422_and_store_nothing(env: TestEnv) {
    let platform = Platform::start(&env).await;
    for detector in [
        json!({"kind": "rule"}),
        json!({"kind": "rule", "for": 2}),
        json!({"kind": "rule", "above": 10, "below": 20}),
        json!({"kind": "rule", "rate": 0}),
        json!({"kind": "rule", "above": 1, "for": 0}),
        json!({"kind": "rule", "above": "hot"}),
        json!({"kind": "rule", "above": 1, "window": 5}),
    ] {
        let (status, error) = post_json(&format!("{}/fit/bad", platform.train.url), &fit_body(detector.clone())).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_detector")),
            "{detector}: {error}"
        );
    }
    let (status, _) = get_json(&format!("{}/models/bad", platform.monitor.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored");
}

on_both_backends!(
    rules_judge_predicts_and_the_stream,
    a_rule_can_be_the_stream_default,
    bad_rules_are_422_and_store_nothing
);
