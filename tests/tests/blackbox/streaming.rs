//! The streaming half, end to end: points ingested over HTTP are judged in
//! order by the stream worker with each series' detector (the platform
//! default, or the one of its fitted model), anomalies are stored once and
//! listed with `source=stream`, late points are skipped and counted, a
//! restarted platform resumes where the last one stopped, and states
//! beyond the in-memory bound come back from their checkpoints.

use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn ingest(infer: &Running, series: &str, body: &Value) -> Value {
    let (status, answer) = post_json(&format!("{}/ingest/{series}", infer.url), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    answer
}

/// Waits until the stream has seen `seen` points (judged + late) of `series`.
async fn stream_state(infer: &Running, series: &str, seen: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, state) = get_json(&format!("{}/stream/{series}", infer.url)).await;
        if status == StatusCode::OK
            && state["points"].as_u64().unwrap_or(0) + state["late"].as_u64().unwrap_or(0) >= seen
        {
            return state;
        }
        assert!(Instant::now() < deadline, "the stream did not see {seen} points of {series}: {status} {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stream_anomalies(monitor: &Running, series: &str) -> Vec<Value> {
    let url = format!("{}/anomalies?series_id={series}&source=stream", monitor.url);
    let (status, page) = get_json(&url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["predictions"].as_array().cloned().unwrap_or_default()
}

async fn the_default_detector_warms_up_then_flags_a_spike(env: TestEnv) {
    let platform = Platform::start(&env).await;
    // A spike during warm-up is never an anomaly.
    let answer = ingest(&platform.infer, "cpu", &calm_points(1_000_000, 30, &[20])).await;
    assert_eq!(answer, json!({"series_id": "cpu", "accepted": 30}));
    let state = stream_state(&platform.infer, "cpu", 30).await;
    assert_eq!(state["warming_up"], true, "{state}");
    assert_eq!(state["warm_up"], json!({"seen": 30, "needed": 50}));
    assert_eq!(state["detector"], json!({"kind": "rolling_zscore", "window": 50, "threshold": 3.0}));
    assert_eq!(state["model_version"], Value::Null);

    // Calm points, then one spike, then calm again: one anomaly.
    let rest = calm_points(1_000_000 + 60 * 30, 100, &[60]);
    ingest(&platform.infer, "cpu", &rest).await;
    let state = stream_state(&platform.infer, "cpu", 130).await;
    assert_eq!((state["points"].as_u64(), state["anomalies"].as_u64()), (Some(130), Some(1)), "{state}");
    assert_eq!(state["warming_up"], false);
    assert_eq!(state["last_point"], json!({"timestamp": 1_000_000 + 60 * 129, "value": 10.25}));
    let anomalies = stream_anomalies(&platform.monitor, "cpu").await;
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    let anomaly = &anomalies[0];
    assert_eq!((anomaly["timestamp"].as_i64(), anomaly["value"].as_f64()), (Some(1_000_000 + 60 * 90), Some(100.0)));
    assert_eq!((anomaly["source"].as_str(), anomaly["detector"].as_str()), (Some("stream"), Some("rolling_zscore")));
    if env.kind() == Kind::Production {
        // Published to the Redis stream {prefix}anomalies as well.
        let client = redis::Client::open(test_redis_url()).expect("redis url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("redis answers");
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(format!("{}anomalies", env.storage.redis_key_prefix))
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .expect("xrange");
        let published: Vec<Value> =
            entries.iter().filter_map(|(_, fields)| serde_json::from_str(&fields.first()?.1).ok()).collect();
        assert_eq!(published.len(), 1, "{entries:?}");
        assert_eq!(
            (published[0]["series_id"].as_str(), published[0]["timestamp"].as_i64(), published[0]["source"].as_str()),
            (Some("cpu"), Some(1_000_000 + 60 * 90), Some("stream"))
        );
    }

    // A calm series flags nothing; /anomalies without source lists both kinds.
    ingest(&platform.infer, "calm", &calm_points(0, 300, &[])).await;
    let calm = stream_state(&platform.infer, "calm", 300).await;
    assert_eq!(calm["anomalies"], 0, "{calm}");
    let (_, all) = get_json(&format!("{}/anomalies", platform.monitor.url)).await;
    assert_eq!(all["predictions"].as_array().map(Vec::len), Some(1), "{all}");
    let (status, ready) = get_json(&format!("{}/ready", platform.infer.url)).await;
    assert_eq!((status, ready["partitions_owned"].as_u64()), (StatusCode::OK, Some(16)), "{ready}");
    let metrics = client().get(format!("{}/metrics", platform.infer.url)).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    for expected in ["anomaly_stream_partitions_owned 16", "anomaly_stream_points_ingested_total 430"] {
        assert!(metrics.contains(expected), "{expected} in {metrics}");
    }
    let checkpointed = metrics
        .lines()
        .find_map(|line| line.strip_prefix("anomaly_stream_last_checkpoint_timestamp_seconds "))
        .and_then(|value| value.trim().parse::<f64>().ok());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    assert!(
        checkpointed.is_some_and(|at| at <= now && at > now - 120.0),
        "last checkpoint {checkpointed:?}, now {now}"
    );
    if env.kind() == Kind::Production {
        assert!(metrics.contains("anomaly_stream_ingest_to_verdict_seconds"), "{metrics}");
    }

    // The overview's per-minute counters: every point once, the anomaly once.
    let minutes = env.connect().await.streams.stream_minutes(0).await.expect("per-minute counters");
    let totals = minutes.iter().fold((0, 0), |(p, a), m| (p + m.points, a + m.anomalies));
    assert_eq!(totals, (430, 1), "{minutes:?}");
    let overview = client().get(format!("{}/dashboard", platform.monitor.url)).send().await.expect("overview");
    let overview = overview.text().await.expect("html");
    for chart in ["Stream: points taken in per minute", "Stream lag", "stream anomalies"] {
        assert!(overview.contains(chart), "{chart} on the overview");
    }
}

async fn a_fitted_series_streams_with_its_detector(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let mut body = calm_points(0, 60, &[]);
    body["detector"] = json!({"kind": "rolling_mad", "window": 20});
    fit(&platform.train, "fitted", &body).await;
    // The fit warmed the window up: the very first streamed spike is judged.
    ingest(&platform.infer, "fitted", &calm_points(60 * 60, 5, &[0])).await;
    let state = stream_state(&platform.infer, "fitted", 5).await;
    assert_eq!((state["model_version"].as_str(), state["warming_up"].as_bool()), (Some("v1"), Some(false)));
    assert_eq!(state["detector"]["kind"], "rolling_mad");
    let anomalies = stream_anomalies(&platform.monitor, "fitted").await;
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert_eq!(
        (anomalies[0]["model_version"].as_str(), anomalies[0]["detector"].as_str()),
        (Some("v1"), Some("rolling_mad"))
    );
    // /predict still judges against the version's frozen state.
    let (status, verdict) = predict(&platform.infer, "fitted", None, 100.0).await;
    assert_eq!((status, verdict["anomaly"].as_bool()), (StatusCode::OK, Some(true)), "{verdict}");
}

async fn late_and_repeated_points_are_skipped_and_counted(env: TestEnv) {
    let platform = Platform::start(&env).await;
    ingest(&platform.infer, "s", &calm_points(1000, 10, &[])).await;
    stream_state(&platform.infer, "s", 10).await;
    let late = json!({"timestamps": [1000, 1060, 1000 + 60 * 9, 1000 + 60 * 10], "values": [1, 2, 3, 4]});
    ingest(&platform.infer, "s", &late).await;
    let state = stream_state(&platform.infer, "s", 14).await;
    assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(11), Some(3)), "{state}");
    // One point in the single-point shape, and several series in one body, also as NDJSON.
    let (status, answer) =
        post_json(&format!("{}/ingest/s", platform.infer.url), &json!({"timestamp": "999999", "value": 5})).await;
    assert_eq!((status, answer["accepted"].as_u64()), (StatusCode::ACCEPTED, Some(1)));
    let many = json!({"points": [
        {"series_id": "a", "timestamp": 1, "value": 1.0},
        {"series_id": "b", "timestamp": 1, "value": 2.0},
        {"series_id": "a", "timestamp": 2, "value": 3.0}
    ]});
    let (status, answer) = post_json(&format!("{}/ingest", platform.infer.url), &many).await;
    assert_eq!((status, answer), (StatusCode::ACCEPTED, json!({"accepted": 3})));
    let ndjson = "{\"series_id\": \"b\", \"timestamp\": 2, \"value\": 1}\n{\"series_id\": \"b\", \"timestamp\": 3, \"value\": 1}\n";
    let response = client()
        .post(format!("{}/ingest", platform.infer.url))
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(stream_state(&platform.infer, "a", 2).await["points"], 2);
    assert_eq!(stream_state(&platform.infer, "b", 3).await["points"], 3);
}

async fn bad_ingest_input_is_422_and_appends_nothing(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let url = format!("{}/ingest/x", platform.infer.url);
    let cases = [
        (json!({"timestamps": [], "values": []}), "empty_series"),
        (json!({"timestamps": [1, 2], "values": [1]}), "length_mismatch"),
        (json!({"timestamps": [2, 1], "values": [1, 2]}), "unsorted_timestamps"),
        (json!({"timestamps": [1, 1], "values": [1, 2]}), "duplicate_timestamp"),
        (json!({"timestamps": [-1], "values": [1]}), "negative_timestamp"),
        (json!({"timestamps": [1.5], "values": [1]}), "invalid_field"),
        (json!({"timestamp": "x1", "value": 1}), "invalid_timestamp"),
        (json!({"timestamp": 1, "value": 1, "timestamps": [1], "values": [1]}), "invalid_field"),
        (json!({"timestamps": [1], "values": [1], "colour": 1}), "invalid_field"),
    ];
    for (body, code) in cases {
        let (status, error) = post_json(&url, &body).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}: {error}"
        );
    }
    let (status, error) = post_raw(&url, r#"{"timestamps": [1], "values": [1e999]}"#).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("non_finite_value")));
    let (status, error) = post_json(&format!("{}/ingest/bad%20id", platform.infer.url), &calm_points(0, 2, &[])).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_series_id")));
    let (status, error) = post_json(&format!("{}/ingest", platform.infer.url), &json!({"points": []})).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_series")));
    let mixed = json!({"points": [{"series_id": "ok", "timestamp": 1, "value": 1}, {"series_id": "x", "timestamp": 5, "value": 1}, {"series_id": "x", "timestamp": 4, "value": 1}]});
    let (status, error) = post_json(&format!("{}/ingest", platform.infer.url), &mixed).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unsorted_timestamps")),
        "{error}"
    );
    let (status, error) = post_raw(&url, vec![b' '; 2 * 1024 * 1024]).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

    // Nothing reached the stream: a valid point afterwards is the first one seen.
    ingest(&platform.infer, "x", &calm_points(0, 1, &[])).await;
    let state = stream_state(&platform.infer, "x", 1).await;
    assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(1), Some(0)));
    let (status, _) = get_json(&format!("{}/stream/ok", platform.infer.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the rejected batch appended nothing");
}

/// The anomalies (timestamp, value) the stream found for `series`.
async fn found(monitor: &Running, series: &str) -> Vec<(i64, f64)> {
    let mut anomalies: Vec<(i64, f64)> = stream_anomalies(monitor, series)
        .await
        .iter()
        .map(|a| (a.get("timestamp").and_then(Value::as_i64).unwrap_or(-1), a["value"].as_f64().unwrap_or(f64::NAN)))
        .collect();
    anomalies.sort_by_key(|a| a.0);
    anomalies
}

/// Points in a noisy series with spikes.
const NOISY_POINTS: usize = 800;

/// A noisy series with spikes, in 8 parts of 100 points.
fn noisy_parts() -> Vec<Value> {
    let values: Vec<f64> = (0..NOISY_POINTS)
        .map(|i| 10.0 + ((i * 7919) % 13) as f64 / 4.0 + if i % 97 == 50 { 40.0 } else { 0.0 })
        .collect();
    (0..8)
        .map(|part| {
            let range = part * 100..(part + 1) * 100;
            json!({ "timestamps": range.clone().map(|i| 60 * i as i64).collect::<Vec<_>>(), "values": values[range].to_vec() })
        })
        .collect()
}

/// The anomalies an uninterrupted platform with the default settings finds
/// in the noisy series.
async fn noisy_reference(kind: Kind) -> Vec<(i64, f64)> {
    let reference_env = TestEnv::new(kind).await;
    let reference = Platform::start(&reference_env).await;
    for part in &noisy_parts() {
        ingest(&reference.infer, "r", part).await;
    }
    stream_state(&reference.infer, "r", NOISY_POINTS as u64).await;
    let expected = found(&reference.monitor, "r").await;
    assert!(expected.len() >= 5, "the spikes are found: {expected:?}");
    expected
}

async fn a_restarted_platform_resumes_with_the_same_verdicts(env: TestEnv) {
    let (n, parts) = (NOISY_POINTS, noisy_parts());
    let expected = noisy_reference(env.kind()).await;

    // Stopped after each few parts, started again on the same storage.
    for (first, last) in [(0, 3), (3, 5), (5, 8)] {
        let platform = Platform::start(&env).await;
        for part in &parts[first..last] {
            ingest(&platform.infer, "r", part).await;
        }
        if last < 8 {
            // Some of it judged, maybe not all: the next platform goes on.
            stream_state(&platform.infer, "r", 100 * first as u64 + 1).await;
        } else {
            stream_state(&platform.infer, "r", n as u64).await;
            assert_eq!(found(&platform.monitor, "r").await, expected, "same anomalies as an uninterrupted run");
            let state = stream_state(&platform.infer, "r", n as u64).await;
            assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(n as u64), Some(0)));
        }
        drop(platform);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Six series streamed in turns through a worker that keeps three states
/// in memory: the others are dropped between batches and read again from
/// their checkpoints, and every series gets the verdicts of a worker that
/// kept them all.
async fn states_beyond_the_memory_bound_come_back_from_their_checkpoints(env: TestEnv) {
    let expected = noisy_reference(env.kind()).await;
    let backends = env.connect().await;
    let settings = infer::InferSettings { stream_states_in_memory: 3, ..infer_settings("rolling_zscore") };
    let infer = run(infer::build(backends.clone(), &settings, &http_args()).await.expect("infer binds"));
    let monitor = start_monitor(backends).await;
    let series: Vec<String> = (0..6).map(|i| format!("bounded-{i}")).collect();
    for part in &noisy_parts() {
        for id in &series {
            ingest(&infer, id, part).await;
        }
    }
    for id in &series {
        let state = stream_state(&infer, id, NOISY_POINTS as u64).await;
        assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(NOISY_POINTS as u64), Some(0)), "{id}");
        assert_eq!(found(&monitor, id).await, expected, "{id}: the verdicts of a worker that kept every state");
    }
    let metrics =
        client().get(format!("{}/metrics", infer.url)).send().await.expect("scraped").text().await.expect("text");
    let in_memory = metrics
        .lines()
        .find_map(|line| line.strip_prefix("anomaly_stream_states_in_memory "))
        .and_then(|value| value.trim().parse::<f64>().ok());
    assert!(in_memory.is_some_and(|count| count <= 3.0), "at most 3 states kept: {in_memory:?}");
}

on_both_backends!(
    the_default_detector_warms_up_then_flags_a_spike,
    a_fitted_series_streams_with_its_detector,
    late_and_repeated_points_are_skipped_and_counted,
    bad_ingest_input_is_422_and_appends_nothing,
    a_restarted_platform_resumes_with_the_same_verdicts,
    states_beyond_the_memory_bound_come_back_from_their_checkpoints,
);

/// `anomaly replay` of a NAB file: every point reaches the stream, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nab_file_replays_into_the_stream() {
    use anomaly_cli::replay::{ReplayOptions, ReplayTarget, replay};
    use anomaly_cli::series_file;
    let env = TestEnv::new(Kind::Embedded).await;
    let platform = Platform::start(&env).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dataset/art_daily_jumpsup.csv");
    let series = series_file::read(&path, series_file::series_id_of(&path)).expect("reads the NAB file");
    assert_eq!(series.series_id, "art_daily_jumpsup");
    let options = ReplayOptions {
        target: ReplayTarget::Http { url: platform.infer.url.clone(), api_key: None },
        rate: None,
        speedup: None,
        batch: 500,
    };
    let summary =
        replay(std::slice::from_ref(&series), &options, &indicatif::ProgressBar::hidden()).await.expect("replayed");
    assert_eq!(summary.points, series.values.len() as u64);
    let state = stream_state(&platform.infer, "art_daily_jumpsup", summary.points).await;
    assert_eq!((state["points"].as_u64(), state["late"].as_u64()), (Some(summary.points), Some(0)), "{state}");
}

/// A worker killed between its commit and its trim leaves judged entries in
/// the log: whoever takes the partition trims them at once, so they never
/// count as lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judged_entries_left_untrimmed_are_trimmed_when_the_partition_is_taken() {
    use anomaly_store::{Checkpoint, POINT_LOG, StreamPoint};
    let env = TestEnv::new(Kind::Production).await;
    let backends = env.connect().await;
    let series = anomaly_core::SeriesId::parse("cpu").expect("valid");
    let partition = anomaly_core::partition_of(&series, backends.points.partitions());
    let mut last = anomaly_store::LogPosition::START;
    for timestamp in [60, 120, 180] {
        let point = StreamPoint { series_id: series.clone(), timestamp, value: 1.0 };
        last = backends.points.append(partition, &[point]).await.expect("appended");
    }
    // As a worker that committed these three and died before its trim.
    let checkpoint = Checkpoint { log: POINT_LOG.into(), partition, epoch: 1, last_entry: last, ..Default::default() };
    assert!(backends.streams.commit(&checkpoint).await.expect("committed"));
    assert_eq!(backends.points.entries_after(partition, last).await.expect("lag"), 3, "untrimmed");

    let infer = start_infer(env.connect().await).await;
    wait_until("the partitions taken", 15, async || owned(&infer.url).await == 16).await;
    let (status, ready) = get_json(&format!("{}/ready", infer.url)).await;
    assert_eq!((status, ready["lag_entries"].as_u64()), (StatusCode::OK, Some(0)), "{ready}");
    let (status, _) = get_json(&format!("{}/stream/cpu", infer.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "judged before: not judged again");
}
