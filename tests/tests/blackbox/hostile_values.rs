//! Stored extremes reach every reader: predictions at ±f64::MAX and a
//! version with a huge threshold (stored before thresholds were bounded)
//! must leave the series page, `/plot`, the listings and the overview
//! answering, and no thread spinning afterwards. Fits with such a
//! threshold are now refused.

use anomaly_core::{Direction, ModelParams, SeriesId, TrainingSeries};
use blackbox_tests::*;
use serde_json::json;
use std::time::Duration;

/// CPU time this test process has used so far (user + system), from /proc.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which ends with ')'): utime is the 14th field, stime the 15th.
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

async fn get_within(url: &str) -> (StatusCode, String) {
    let response = client()
        .get(url)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url} answers within 20 s: {e}"));
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn poisoned_series_still_draw(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "p1", &series_body(10)).await;
    for (timestamp, value) in [(10, f64::MAX), (20, 1e308), (30, -1e308), (40, -f64::MAX), (50, 5e-324)] {
        let body = json!({ "timestamp": timestamp, "value": value });
        let (status, verdict) = post_json(&format!("{}/predict/p1", platform.infer.url), &body).await;
        assert_eq!(status, StatusCode::OK, "{verdict}");
    }
    let huge = json!({ "timestamps": [1, 2, 3], "values": [1, 2, 3], "threshold": 1e308 });
    let (status, error) = post_json(&format!("{}/fit/p2", platform.train.url), &huge).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_threshold")));

    // A version stored before the bound existed.
    let backends = env.connect().await;
    let series = TrainingSeries::new(vec![1, 2, 3], vec![1.0, 2.0, 3.0], 1).expect("valid");
    let params = ModelParams::three_sigma(2.0, 0.8, 1e308, Direction::TwoSided, 3).expect("valid");
    let id = SeriesId::parse("p2").expect("valid");
    backends.store.insert_next_version(&id, &params, series).await.expect("stored");

    let monitor = &platform.monitor.url;
    // The history is written in the background: wait for the five rows.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while get_json(&format!("{monitor}/series/p1/predictions")).await.1["predictions"]
        .as_array()
        .is_none_or(|rows| rows.len() < 5)
    {
        assert!(std::time::Instant::now() < deadline, "predictions recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in [
        "/dashboard/series/p1",
        "/plot?series_id=p1",
        "/plot?series_id=p1&format=svg",
        "/dashboard/series/p2",
        "/plot?series_id=p2",
        "/plot?series_id=p2&format=svg",
        "/dashboard",
        "/dashboard/series",
        "/dashboard/anomalies",
        "/anomalies",
        "/models",
    ] {
        let (status, body) = get_within(&format!("{monitor}{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {}", &body[..body.len().min(300)]);
    }
    let (_, page) = get_within(&format!("{monitor}/dashboard/series/p1")).await;
    assert!(page.contains("<svg"), "the chart is drawn");

    // Nothing keeps drawing once the answers are in: an idle second costs
    // a small fraction of a core (a spinning thread would cost all of one).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = process_cpu();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = process_cpu() - before;
    assert!(used < Duration::from_millis(1000), "{used:?} of CPU in 2 s of idling: a thread is still busy");
}

on_both_backends!(poisoned_series_still_draw);
