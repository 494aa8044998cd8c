//! Every class of bad input gets a 4xx with a stable machine code, and a
//! rejected fit stores nothing.

use blackbox_tests::*;
use serde_json::{Value, json};

fn fit_cases() -> Vec<(&'static str, String, &'static str)> {
    let ok_ts = "[1, 2, 3]";
    let with = |ts: &str, vs: &str| format!(r#"{{"timestamps": {ts}, "values": {vs}}}"#);
    vec![
        ("malformed json", r#"{"timestamps": [1, 2"#.to_owned(), "malformed_json"),
        ("not json", "timestamps=1".to_owned(), "malformed_json"),
        ("empty body", String::new(), "malformed_json"),
        ("missing values", r#"{"timestamps": [1, 2, 3]}"#.to_owned(), "missing_field"),
        ("missing timestamps", r#"{"values": [1, 2, 3]}"#.to_owned(), "missing_field"),
        ("values are strings", with(ok_ts, r#"["1", "2", "3"]"#), "invalid_field"),
        ("values contain null", with(ok_ts, "[1, null, 3]"), "invalid_field"),
        ("timestamps are floats", with("[1.5, 2, 3]", "[1, 2, 3]"), "invalid_field"),
        ("body is an array", "[1, 2, 3]".to_owned(), "invalid_field"),
        ("empty arrays", with("[]", "[]"), "empty_series"),
        ("length mismatch", with(ok_ts, "[1, 2]"), "length_mismatch"),
        ("too few points", with("[1, 2]", "[1, 2]"), "too_few_points"),
        ("value out of f64 range", with(ok_ts, "[1, 1e999, 3]"), "non_finite_value"),
        ("constant series", with(ok_ts, "[5, 5, 5]"), "constant_series"),
        ("overflowing spread", with(ok_ts, "[1.7e308, -1.7e308, 0]"), "values_out_of_range"),
        ("unsorted timestamps", with("[1, 3, 2]", "[1, 2, 3]"), "unsorted_timestamps"),
        ("duplicate timestamps", with("[1, 2, 2]", "[1, 2, 3]"), "duplicate_timestamp"),
        ("negative timestamp", with("[-1, 2, 3]", "[1, 2, 3]"), "negative_timestamp"),
        (
            "zero threshold",
            r#"{"timestamps": [1, 2, 3], "values": [1, 2, 3], "threshold": 0}"#.to_owned(),
            "invalid_threshold",
        ),
        (
            "negative threshold",
            r#"{"timestamps": [1, 2, 3], "values": [1, 2, 3], "threshold": -2}"#.to_owned(),
            "invalid_threshold",
        ),
        (
            "string threshold",
            r#"{"timestamps": [1, 2, 3], "values": [1, 2, 3], "threshold": "3"}"#.to_owned(),
            "invalid_field",
        ),
        (
            "huge threshold",
            r#"{"timestamps": [1, 2, 3], "values": [1, 2, 3], "threshold": 1e999}"#.to_owned(),
            "non_finite_value",
        ),
        (
            "unknown direction",
            r#"{"timestamps": [1, 2, 3], "values": [1, 2, 3], "direction": "up"}"#.to_owned(),
            "invalid_direction",
        ),
    ]
}

async fn every_bad_fit_is_422_and_stores_nothing(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let url = format!("{}/fit/victim", platform.train.url);
    for (case, body, code) in fit_cases() {
        let (status, error) = post_raw(&url, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {error}");
        assert_eq!(error["error"], code, "{case}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}: {error}");
    }
    let (status, _) = predict(&platform.infer, "victim", None, 1.0).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a rejected fit must store nothing");
    let (_, health) = get_json(&format!("{}/healthcheck", platform.monitor.url)).await;
    assert_eq!(health["series_trained"], 0, "{health}");
}

async fn bad_series_ids_are_422(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let body = series_body(3);
    let long = "a".repeat(129);
    for id in ["", "has%20space", "slash%2Fin", "%C3%BC", long.as_str()] {
        for url in [format!("{}/fit/{id}", platform.train.url), format!("{}/predict/{id}", platform.infer.url)] {
            let (status, error) = post_json(&url, &body).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {error}");
            assert_eq!(error["error"], "invalid_series_id", "{url}: {error}");
        }
    }
    fit(&platform.train, &"a".repeat(128), &body).await;
}

async fn bad_predictions_are_422(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;
    let url = format!("{}/predict/s", platform.infer.url);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("letters", json!({"timestamp": "abc", "value": 1.0}), "invalid_timestamp"),
        ("negative string", json!({"timestamp": "-5", "value": 1.0}), "invalid_timestamp"),
        ("negative integer", json!({"timestamp": -5, "value": 1.0}), "invalid_timestamp"),
        ("float", json!({"timestamp": 1.5, "value": 1.0}), "invalid_timestamp"),
        ("null", json!({"timestamp": null, "value": 1.0}), "invalid_timestamp"),
        ("missing value", json!({"timestamp": "1"}), "missing_field"),
        ("missing timestamp", json!({"value": 1.0}), "missing_field"),
        ("string value", json!({"timestamp": "1", "value": "1.0"}), "invalid_field"),
    ];
    for (case, body, code) in cases {
        let (status, error) = post_json(&url, &body).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{case}: {error}"
        );
    }
    let (status, error) = post_raw(&url, r#"{"timestamp": "1", "value": 1e999}"#).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("non_finite_value")),
        "{error}"
    );
    for version in ["v0", "abc", "-1", "v1.5"] {
        let (status, error) = predict(&platform.infer, "s", Some(version), 1.0).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_version")),
            "{version}: {error}"
        );
    }
}

async fn oversized_bodies_are_413(env: TestEnv) {
    let platform = Platform::start(&env).await;
    // The tests' limit is 1 MiB; this is about 2 MiB.
    let body = series_body(100_000);
    let (status, error) = post_json(&format!("{}/fit/big", platform.train.url), &body).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{error}"
    );
    let (status, _) = predict(&platform.infer, "big", None, 1.0).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A client still sending when the server answers gets the answer, not
    // a reset connection: the server reads up to twice the limit to its
    // end, whether it answered for the body's size or before reading it.
    let big = || vec![b' '; 2 * 1024 * 1024];
    for _ in 0..10 {
        let (status, error) = post_raw(&format!("{}/fit/big", platform.train.url), big()).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
        let (status, error) = post_raw(&format!("{}/fit/bad%20id", platform.train.url), big()).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_series_id")));
        let response = client().post(format!("{}/fit/big", platform.train.url)).body(big()).send().await;
        let status = response.expect("answered, not reset").status();
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "no Content-Type");
    }
}

async fn the_minimum_of_points_is_configurable(env: TestEnv) {
    let train = start_train_with(env.connect().await, 10).await;
    let (status, error) = post_json(&format!("{}/fit/s", train.url), &series_body(9)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_few_points")),
        "{error}"
    );
    assert!(error["message"].as_str().is_some_and(|m| m.contains("at least 10")), "{error}");
    fit(&train, "s", &series_body(10)).await;
}

/// Past `INGEST_MAX_SERIES_PER_REQUEST` series an ingest is refused whole
/// (422 `too_many_series`) and nothing of it is judged; at the bound it is
/// accepted.
async fn an_ingest_of_too_many_series_is_422_and_appends_nothing(env: TestEnv) {
    let settings = infer::InferSettings { ingest_max_series_per_request: 5, ..infer_settings("rolling_zscore") };
    let infer = run(infer::build(env.connect().await, &settings, &http_args()).await.expect("binds"));
    let points = |series: usize| {
        let points: Vec<Value> =
            (0..series).map(|s| json!({"series_id": format!("s{s}"), "timestamp": 60, "value": 1.0})).collect();
        json!({ "points": points })
    };
    let (status, error) = post_json(&format!("{}/ingest", infer.url), &points(6)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_many_series")),
        "{error}"
    );
    assert!(error["message"].as_str().is_some_and(|m| m.contains("INGEST_MAX_SERIES_PER_REQUEST")), "{error}");
    let (status, answer) = post_json(&format!("{}/ingest", infer.url), &points(5)).await;
    assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::ACCEPTED, Some(5)), "{answer}");
    wait_until("the five series judged", 15, async || {
        get_json(&format!("{}/stream/s4", infer.url)).await.0 == StatusCode::OK
    })
    .await;
    let (status, _) = get_json(&format!("{}/stream/s5", infer.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing of the refused request was appended");
}

on_both_backends!(
    an_ingest_of_too_many_series_is_422_and_appends_nothing,
    every_bad_fit_is_422_and_stores_nothing,
    bad_series_ids_are_422,
    bad_predictions_are_422,
    oversized_bodies_are_413,
    the_minimum_of_points_is_configurable,
);
