//! `kill -9` of the platform process mid-stream, then a restart: the
//! verdicts equal those of an uninterrupted run, point for point, and so
//! do the stored points (each once, none without its verdict); and a
//! restart under another `STREAM_DETECTOR` keeps the detector of series
//! already streaming. The platform runs as a real process (the `platform`
//! binary the workspace build produces) on the test's storage.

use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn ingest(infer: &str, series: &str, body: &Value) {
    let (status, answer) = post_json(&format!("{infer}/ingest/{series}"), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

/// Waits until `series` has `points` judged points; returns its state.
async fn judged(infer: &str, series: &str, points: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, state) = get_json(&format!("{infer}/stream/{series}")).await;
        if status == StatusCode::OK && state["points"].as_u64() >= Some(points) {
            return state;
        }
        assert!(Instant::now() < deadline, "{points} points of {series} judged: {status} {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn anomalies(monitor: &str, series: &str) -> Vec<(i64, f64, Option<f64>)> {
    let (status, page) = get_json(&format!("{monitor}/anomalies?series_id={series}&source=stream&limit=10000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut found: Vec<_> = page["predictions"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|a| {
                    (a["timestamp"].as_i64().unwrap_or(-1), a["value"].as_f64().unwrap_or(0.0), a["score"].as_f64())
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|a| a.0);
    found
}

/// The stored points of `series`: (time, value, anomaly, warming up), newest first.
async fn stored_points(monitor: &str, series: &str) -> Vec<(i64, f64, bool, bool)> {
    let (status, page) = get_json(&format!("{monitor}/series/{series}/points?limit=10000")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["points"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let flag = |name: &str| p[name].as_bool().unwrap_or_default();
            (
                p["timestamp"].as_i64().unwrap_or(-1),
                p["value"].as_f64().unwrap_or(0.0),
                flag("anomaly"),
                flag("warming_up"),
            )
        })
        .collect()
}

async fn killed_and_restarted_gives_identical_verdicts(env: TestEnv) {
    // Three series, 12 parts of 250 points each, with spikes and a level shift.
    let parts: Vec<Vec<(String, Value)>> = (0..12)
        .map(|part| {
            ["a", "b", "c"]
                .iter()
                .enumerate()
                .map(|(s, series)| {
                    let range = part * 250..(part + 1) * 250;
                    let values: Vec<f64> = range
                        .clone()
                        .map(|i| {
                            let noise = ((i * 7919 + s * 104_729) % 17) as f64 / 5.0;
                            let spike = if (i + 31 * s) % 211 == 0 { 25.0 } else { 0.0 };
                            let shift = if i > 1800 + 100 * s { 8.0 } else { 0.0 };
                            50.0 + noise + spike + shift
                        })
                        .collect();
                    let timestamps: Vec<i64> = range.map(|i| 1_600_000_000 + 60 * i as i64).collect();
                    ((*series).to_owned(), json!({ "timestamps": timestamps, "values": values }))
                })
                .collect()
        })
        .collect();
    let total = 12 * 250;

    let reference_env = TestEnv::new(env.kind()).await;
    let reference = Platform::start(&reference_env).await;
    for part in &parts {
        for (series, body) in part {
            ingest(&reference.infer.url, series, body).await;
        }
    }
    let mut expected = Vec::new();
    let mut expected_points = Vec::new();
    for series in ["a", "b", "c"] {
        judged(&reference.infer.url, series, total).await;
        expected.push(anomalies(&reference.monitor.url, series).await);
        expected_points.push(stored_points(&reference.monitor.url, series).await);
    }
    assert!(expected_points.iter().all(|points| points.len() == total as usize), "every point is stored");
    assert!(expected.iter().all(|found| found.len() >= 5), "the spikes are found: {expected:?}");

    // The first 7 parts of every series in one body, with 40,000 points of
    // other series, so the worker is still judging when the process dies.
    let first = PlatformProcess::start(&env).await;
    let mut bulk = Vec::new();
    for part in &parts[..7] {
        for (series, body) in part {
            let points = body["timestamps"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(body["values"].as_array().into_iter().flatten());
            bulk.extend(points.map(|(t, v)| json!({"series_id": series, "timestamp": t, "value": v})));
        }
    }
    for filler in 0..400 {
        bulk.extend((0..100).map(|i| json!({"series_id": format!("filler{filler}"), "timestamp": i, "value": i % 7})));
    }
    let (status, answer) = post_json(&format!("{}/ingest", first.infer), &json!({ "points": bulk })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    first.kill();
    let second = PlatformProcess::start(&env).await;
    for part in &parts[7..] {
        for (series, body) in part {
            ingest(&second.infer, series, body).await;
        }
    }
    let (_, filler) = get_json(&format!("{}/stream/filler399", second.infer)).await;
    eprintln!("judged of the last filler series right after the restart: {}", filler["points"]);
    for ((series, expected), expected_points) in ["a", "b", "c"].into_iter().zip(&expected).zip(&expected_points) {
        let state = judged(&second.infer, series, total).await;
        assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(total), Some(0)), "{series}: {state}");
        assert_eq!(&anomalies(&second.monitor, series).await, expected, "{series}: same verdicts as uninterrupted");
        let points = stored_points(&second.monitor, series).await;
        assert!(&points == expected_points, "{series}: every point stored exactly once, with the same verdict");
    }
}

on_both_backends!(
    killed_and_restarted_gives_identical_verdicts,
    a_new_stream_detector_applies_to_series_that_start_after_it
);

/// When the series of the detector test start.
const T0: i64 = 1_600_000_000;

async fn a_new_stream_detector_applies_to_series_that_start_after_it(env: TestEnv) {
    let first = PlatformProcess::start(&env).await;
    ingest(&first.infer, "kept", &calm_points(T0, 60, &[])).await;
    let state = judged(&first.infer, "kept", 60).await;
    assert_eq!(state["detector"]["kind"], "rolling_zscore", "{state}");
    first.terminate();

    let second = PlatformProcess::start_with(&env, &[("STREAM_DETECTOR", "novelty")]).await;
    ingest(&second.infer, "kept", &calm_points(T0 + 60 * 60, 10, &[])).await;
    ingest(&second.infer, "started_later", &calm_points(T0, 10, &[])).await;
    let kept = judged(&second.infer, "kept", 70).await;
    assert_eq!(kept["detector"]["kind"], "rolling_zscore", "its state carries its detector: {kept}");
    assert_eq!(kept["warming_up"], false, "and what it learnt: {kept}");
    let later = judged(&second.infer, "started_later", 10).await;
    assert_eq!(later["detector"]["kind"], "novelty", "{later}");
}

/// 100 series with `points` points each from `start`, as one many-series body.
fn many_series(start: i64, points: i64) -> Value {
    let rows: Vec<Value> = (0..points)
        .flat_map(|t| {
            (0..100).map(move |s| json!({"series_id": format!("m{s}"), "timestamp": start + t, "value": (s + t) % 5}))
        })
        .collect();
    json!({ "points": rows })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_the_partitions_and_one_takes_over_when_the_other_dies() {
    let env = TestEnv::new(Kind::Production).await;
    let fast = [("STREAM_LEASE_MS", "1000")];
    let first = PlatformProcess::start_with(&env, &fast).await;
    let second = PlatformProcess::start_with(&env, &fast).await;
    wait_until("the 16 partitions split 8 and 8", 20, async || {
        owned(&first.infer).await == 8 && owned(&second.infer).await == 8
    })
    .await;

    let (status, answer) = post_json(&format!("{}/ingest", first.infer), &many_series(0, 30)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    for s in 0..100 {
        let state = judged(&second.infer, &format!("m{s}"), 30).await;
        assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(30), Some(0)), "judged once: {state}");
    }

    first.kill();
    wait_until("the survivor owns all 16 partitions", 20, async || owned(&second.infer).await == 16).await;
    let (status, answer) = post_json(&format!("{}/ingest", second.infer), &many_series(30, 20)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    for s in 0..100 {
        let state = judged(&second.infer, &format!("m{s}"), 50).await;
        assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(50), Some(0)), "nothing lost: {state}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_hands_the_partitions_over_at_once() {
    let env = TestEnv::new(Kind::Production).await;
    // Leases of 60 s: only a release, not an expiry, can move them in time.
    let slow = [("STREAM_LEASE_MS", "60000")];
    let first = PlatformProcess::start_with(&env, &slow).await;
    let second = PlatformProcess::start_with(&env, &slow).await;
    wait_until("the 16 partitions split 8 and 8", 30, async || {
        owned(&first.infer).await == 8 && owned(&second.infer).await == 8
    })
    .await;
    let (status, answer) = post_json(&format!("{}/ingest", first.infer), &many_series(0, 30)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");

    let exited = tokio::task::spawn_blocking(move || first.terminate()).await.expect("joined");
    assert_eq!(exited, Some(0), "exit status 0 after SIGTERM");
    wait_until("the survivor owns all 16 partitions long before the leases expire", 20, async || {
        owned(&second.infer).await == 16
    })
    .await;
    for s in 0..100 {
        let state = judged(&second.infer, &format!("m{s}"), 30).await;
        assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(30), Some(0)), "{state}");
    }
}

/// With `STREAM_WORKER_ID`, a process killed and restarted under the same
/// name takes its partitions back at once instead of waiting for its old
/// leases to expire, and resumes where its last commit left off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_the_same_worker_id_takes_its_partitions_back_at_once() {
    let env = TestEnv::new(Kind::Production).await;
    // Leases of 60 s: only the name can bring them back in time.
    let named = [("STREAM_LEASE_MS", "60000"), ("STREAM_WORKER_ID", "infer-0")];
    let first = PlatformProcess::start_with(&env, &named).await;
    wait_until("the worker owns the 16 partitions", 20, async || owned(&first.infer).await == 16).await;
    let (status, answer) = post_json(&format!("{}/ingest", first.infer), &many_series(0, 30)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    first.kill();

    let second = PlatformProcess::start_with(&env, &named).await;
    wait_until("the restart owns the 16 partitions long before the leases expire", 20, async || {
        owned(&second.infer).await == 16
    })
    .await;
    let (status, answer) = post_json(&format!("{}/ingest", second.infer), &many_series(30, 20)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    for s in 0..100 {
        let state = judged(&second.infer, &format!("m{s}"), 50).await;
        assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(50), Some(0)), "nothing lost: {state}");
    }
}
