//! The live feed `GET /events` (Server-Sent Events) on both backends: a
//! streamed spike reaches every client, anomalous predictions join the
//! feed, filters hold, a reconnect with `Last-Event-ID` resumes without
//! gaps or repeats, a client following one series gets a verdict per
//! judged point, a client that never reads holds up nobody, and clients
//! past `SSE_MAX_CLIENTS` are told to retry.

use anomaly_store::FeedAnomaly;
use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Long enough for any loaded machine; the feed answers in milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

async fn ingest(infer: &Running, series: &str, body: &Value) {
    let (status, answer) = post_json(&format!("{}/ingest/{series}", infer.url), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

/// The next anomaly, passing over the verdicts a client following one
/// series also gets.
async fn next_anomaly(client: &mut SseClient) -> SseEvent {
    loop {
        let event = client.next_within(PATIENCE).await.expect("an event within the patience");
        if event.event != "verdict" {
            assert_eq!(event.event, "anomaly", "{event:?}");
            return event;
        }
    }
}

async fn a_streamed_spike_reaches_clients_and_a_reconnect_resumes(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let events = format!("{}/events", platform.monitor.url);
    let mut everything = SseClient::connect(&events, None).await;
    let mut other_series = SseClient::connect(&format!("{events}?series_id=other"), None).await;

    let sent = Instant::now();
    ingest(&platform.infer, "cpu", &calm_points(1_000_000, 60, &[55])).await;
    let first = next_anomaly(&mut everything).await;
    println!("ingest to SSE event: {:?}", sent.elapsed());
    let anomaly = first.json();
    assert_eq!(
        (anomaly["series_id"].as_str(), anomaly["timestamp"].as_i64(), anomaly["value"].as_f64()),
        (Some("cpu"), Some(1_000_000 + 60 * 55), Some(100.0)),
        "{anomaly}"
    );
    assert_eq!((anomaly["source"].as_str(), anomaly["detector"].as_str()), (Some("stream"), Some("rolling_zscore")));
    assert_eq!(anomaly["anomaly"], true);
    // The same JSON as the listing (which has it once the batch is
    // committed: the feed is published first, so that it is never lost).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_, listed) = get_json(&format!("{}/anomalies?series_id=cpu", platform.monitor.url)).await;
        if !listed["predictions"][0].is_null() {
            assert_eq!(listed["predictions"][0], anomaly);
            break;
        }
        assert!(Instant::now() < deadline, "the anomaly was never listed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Two more spikes; a client resuming after the first gets exactly those.
    ingest(&platform.infer, "cpu", &calm_points(1_000_000 + 60 * 60, 40, &[10, 30])).await;
    let later = [next_anomaly(&mut everything).await, next_anomaly(&mut everything).await];
    let first_id = first.id.as_deref().expect("anomalies carry an id");
    let mut resumed = SseClient::connect(&events, Some(first_id)).await;
    for expected in &later {
        let event = next_anomaly(&mut resumed).await;
        assert_eq!((&event.id, &event.data), (&expected.id, &expected.data));
    }
    assert_eq!(resumed.next_within(Duration::from_millis(300)).await, None, "nothing repeated");

    // The series filter let none of cpu's through.
    ingest(&platform.infer, "other", &calm_points(2_000_000, 60, &[55])).await;
    let only = next_anomaly(&mut other_series).await.json();
    assert_eq!((only["series_id"].as_str(), only["timestamp"].as_i64()), (Some("other"), Some(2_000_000 + 60 * 55)));
}

async fn anomalous_predictions_join_the_feed_and_sources_filter(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "p1", &series_body(50)).await;
    let events = format!("{}/events", platform.monitor.url);
    let mut predicts = SseClient::connect(&format!("{events}?source=predict"), None).await;
    let mut streams = SseClient::connect(&format!("{events}?source=stream"), None).await;

    let (status, verdict) = predict(&platform.infer, "p1", None, 1e6).await;
    assert_eq!((status, &verdict["anomaly"]), (StatusCode::OK, &json!(true)), "{verdict}");
    let anomaly = next_anomaly(&mut predicts).await.json();
    assert_eq!(
        (anomaly["series_id"].as_str(), anomaly["source"].as_str(), anomaly["model_version"].as_str()),
        (Some("p1"), Some("predict"), Some("v1")),
        "{anomaly}"
    );
    assert_eq!(anomaly["value"], 1e6);

    ingest(&platform.infer, "cpu", &calm_points(1_000_000, 60, &[55])).await;
    let first_on_stream = next_anomaly(&mut streams).await.json();
    assert_eq!(first_on_stream["source"], "stream", "the predict anomaly was filtered out: {first_on_stream}");
}

/// A client following one series gets `event: verdict` for each point the
/// stream judges from when its watch is seen (within a second) on: every
/// point once, in order, the spike flagged, and nothing of other series.
async fn a_client_following_a_series_gets_its_verdicts(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let mut client = SseClient::connect(&format!("{}/events?series_id=watched", platform.monitor.url), None).await;
    // Points one at a time until the first verdict: the workers have seen the watch.
    let mut next = 1_000_000;
    let first = loop {
        ingest(&platform.infer, "watched", &json!({"timestamp": next, "value": 10.0})).await;
        next += 60;
        if let Some(event) = client.next_within(Duration::from_millis(300)).await {
            break event;
        }
        assert!(next < 1_000_000 + 60 * 60, "no verdict while the series is followed");
    };
    assert_eq!(first.event, "verdict", "{first:?}");
    assert_eq!(first.id, None, "verdicts are not resumable: no id");
    let verdict = first.json();
    assert_eq!((verdict["series_id"].as_str(), verdict["value"].as_f64()), (Some("watched"), Some(10.0)), "{verdict}");
    assert_eq!((verdict["warming_up"].as_bool(), verdict["anomaly"].as_bool()), (Some(true), Some(false)));
    assert_eq!((verdict["detector"].as_str(), &verdict["model_version"]), (Some("rolling_zscore"), &Value::Null));
    let mut last = verdict["timestamp"].as_i64().expect("timestamp");
    // Points already judged before the watch was seen gave none: catch up to `next`.
    while last + 60 < next {
        last = client.next_within(PATIENCE).await.expect("verdict").json()["timestamp"].as_i64().expect("timestamp");
    }

    ingest(&platform.infer, "elsewhere", &calm_points(next, 60, &[55])).await;
    ingest(&platform.infer, "watched", &calm_points(next, 60, &[55])).await;
    let (mut verdicts, mut anomalies) = (Vec::new(), Vec::new());
    while verdicts.len() < 60 || anomalies.is_empty() {
        let event = client.next_within(PATIENCE).await.expect("a verdict per point");
        let data = event.json();
        assert_eq!(data["series_id"], "watched", "{data}");
        match event.event.as_str() {
            "verdict" => verdicts.push(data),
            "anomaly" => anomalies.push(data),
            other => panic!("unexpected event {other}"),
        }
    }
    let times: Vec<i64> = verdicts.iter().map(|v| v["timestamp"].as_i64().expect("timestamp")).collect();
    assert_eq!(times, (0..60).map(|i| next + 60 * i).collect::<Vec<_>>(), "every point once, in order");
    let flagged: Vec<i64> =
        verdicts.iter().filter(|v| v["anomaly"] == true).map(|v| v["timestamp"].as_i64().unwrap_or(0)).collect();
    assert_eq!(flagged, [next + 60 * 55], "the spike, and only the spike");
    let spike = &verdicts[55];
    assert!(spike["score"].as_f64().is_some_and(|score| score > 3.0) && spike["warming_up"] == false, "{spike}");
    assert!(spike["anomaly_score"].as_f64().is_some_and(|s| (0.5..=1.0).contains(&s)), "{spike}");
    assert!(anomalies[0]["anomaly_score"].as_f64().is_some_and(|s| (0.5..=1.0).contains(&s)), "{}", anomalies[0]);
    assert_eq!(
        (anomalies[0]["timestamp"].as_i64(), anomalies[0]["value"].as_f64()),
        (Some(next + 60 * 55), Some(100.0))
    );
    assert_eq!(client.next_within(Duration::from_millis(300)).await, None, "nothing more");
}

async fn bad_feed_requests_are_422(env: TestEnv) {
    let platform = Platform::start(&env).await;
    for query in ["?series_id=a/b", "?source=kafka"] {
        let (status, body) = get_json(&format!("{}/events{query}", platform.monitor.url)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
    let answer = client()
        .get(format!("{}/events", platform.monitor.url))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = answer.json().await.expect("json error");
    assert_eq!(body["error"], "invalid_last_event_id", "{body}");
}

fn feed_anomaly(i: i64) -> FeedAnomaly {
    FeedAnomaly {
        // Long ids make big events: the kernel's socket buffers (megabytes)
        // fill sooner, so the stalled client does fall behind.
        series_id: format!("load-{}", "x".repeat(120)),
        timestamp: i,
        value: i as f64,
        score: Some(5.0),
        anomaly_score: Some(0.9),
        detector: Some("novelty".into()),
        model_version: None,
        recorded_at_ms: 0,
        source: "stream".into(),
    }
}

/// Reads `total` anomalies (and any `lagged` notices) from `client`;
/// returns their timestamps and how many `lagged` notices came.
async fn read_all(client: &mut SseClient, total: usize) -> (Vec<i64>, usize) {
    let (mut timestamps, mut lagged) = (Vec::new(), 0);
    while timestamps.len() < total {
        let event = client.next_within(PATIENCE).await.expect("the client keeps getting events");
        match event.event.as_str() {
            "lagged" => lagged += 1,
            "anomaly" => timestamps.push(event.json()["timestamp"].as_i64().expect("timestamp")),
            other => panic!("unexpected event {other}"),
        }
    }
    (timestamps, lagged)
}

/// 200 idle clients (following a quiet series) and one that never reads: a
/// reading client still gets every anomaly in order, and the one that
/// stalled is told it lagged and then gets what it missed, in order.
async fn a_client_that_never_reads_holds_up_nobody(env: TestEnv) {
    let backends = env.process_backends().await;
    let monitor = start_monitor(backends.clone()).await;
    let events = format!("{}/events", monitor.url);
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(SseClient::connect(&format!("{events}?series_id=quiet"), None).await);
    }
    let mut stalled = SseClient::connect_with_small_window(&events).await;
    let mut reader = SseClient::connect(&events, None).await;

    let total = 20_000;
    let reading = tokio::spawn(async move { read_all(&mut reader, total).await });
    for chunk in (0..total as i64).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<_> = chunk.iter().copied().map(feed_anomaly).collect();
        backends.anomaly_feed.publish(&batch).await.expect("published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (seen, _) = tokio::time::timeout(PATIENCE, reading).await.expect("read in time").expect("joined");
    assert_eq!(seen, (0..total as i64).collect::<Vec<_>>(), "every anomaly, in order");

    // The stalled client now reads: told it lagged, then nothing lost.
    let (caught_up, lagged) = read_all(&mut stalled, total).await;
    assert!(lagged >= 1, "the stalled client fell behind the buffer and was told so");
    assert_eq!(caught_up, (0..total as i64).collect::<Vec<_>>(), "what it missed was replayed in order");
    drop(idle);
}

/// Past `SSE_MAX_CLIENTS` a new live-feed client is told to come back
/// (503 with `Retry-After`) while pages and the API still answer, and a
/// client that leaves frees its place.
async fn live_feed_clients_past_the_cap_are_told_to_retry(env: TestEnv) {
    let settings =
        monitor::MonitorSettings { sse_max_clients: 3, ..monitor_settings("http://127.0.0.1:9", "http://127.0.0.1:9") };
    let monitor = start_monitor_with(env.process_backends().await, settings).await;
    let events = format!("{}/events", monitor.url);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(SseClient::connect(&events, None).await);
    }
    let refused = client().get(&events).send().await.expect("answered");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "too_many_event_clients", "{body}");
    let (status, _) = get_json(&format!("{}/models", monitor.url)).await;
    assert_eq!(status, StatusCode::OK, "the API still answers");
    let page = client().get(format!("{}/dashboard", monitor.url)).send().await.expect("answered");
    assert_eq!(page.status(), StatusCode::OK, "pages still answer");

    drop(held.pop());
    wait_until("a place freed by a client that left", 20, async || {
        client().get(&events).send().await.is_ok_and(|response| response.status() == StatusCode::OK)
    })
    .await;
}

on_both_backends!(
    live_feed_clients_past_the_cap_are_told_to_retry,
    a_streamed_spike_reaches_clients_and_a_reconnect_resumes,
    anomalous_predictions_join_the_feed_and_sources_filter,
    a_client_following_a_series_gets_its_verdicts,
    bad_feed_requests_are_422,
    a_client_that_never_reads_holds_up_nobody,
);
