//! The stream's history: every point the stream judges is stored with its
//! verdict in the batch's commit, and read back through monitor's
//! `GET /series/{id}/points` (filters, keyset pages, CSV) and
//! `/points/summary` (buckets computed in the database); a delete takes
//! the points with it, and retention drops old days whole.

use anomaly_core::{ModelVersion, SeriesId};
use anomaly_store::{Buckets, Checkpoint, JudgedPoint, PointQuery, unix_day, unix_millis};
use blackbox_tests::*;
use serde_json::{Value, json};
use std::borrow::Cow;

const START: i64 = 1_000_000;

async fn points_of(monitor: &Running, query: &str) -> (StatusCode, Value) {
    get_json(&format!("{}/series/{query}", monitor.url)).await
}

/// Streams 130 points of `cpu` (a spike at index 90) and waits until the
/// stream has judged them all.
async fn stream_cpu(platform: &Platform) {
    let (status, answer) =
        post_json(&format!("{}/ingest/cpu", platform.infer.url), &calm_points(START, 130, &[90])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    wait_until("130 points judged", 15, async || {
        get_json(&format!("{}/stream/cpu", platform.infer.url)).await.1["points"].as_u64() == Some(130)
    })
    .await;
}

async fn streamed_points_are_kept_with_their_verdicts(env: TestEnv) {
    let platform = Platform::start(&env).await;
    stream_cpu(&platform).await;
    let (_, state) = get_json(&format!("{}/stream/cpu", platform.infer.url)).await;

    let (status, page) = points_of(&platform.monitor, "cpu/points").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let points = page["points"].as_array().expect("points").clone();
    assert_eq!(points.len() as u64, state["points"].as_u64().expect("counted"), "as many as the stream counted");
    assert_eq!(page["next_after"], Value::Null, "one page");
    let timestamps: Vec<i64> = points.iter().map(|p| p["timestamp"].as_i64().expect("ts")).collect();
    assert_eq!(timestamps, (0..130).rev().map(|i| START + 60 * i).collect::<Vec<_>>(), "newest first, each once");
    let anomalies: Vec<&Value> = points.iter().filter(|p| p["anomaly"] == true).collect();
    assert_eq!(anomalies.len() as u64, state["anomalies"].as_u64().expect("counted"));
    assert_eq!(
        (anomalies[0]["timestamp"].as_i64(), anomalies[0]["value"].as_f64()),
        (Some(START + 60 * 90), Some(100.0))
    );
    let warming = points.iter().filter(|p| p["warming_up"] == true).count();
    assert_eq!(warming, 50, "the first window of the rolling default warms up");
    let oldest = points.last().expect("points");
    assert_eq!((oldest["score"].clone(), oldest["detector"].as_str()), (Value::Null, Some("rolling_zscore")));
    assert_eq!(oldest["model_version"], Value::Null);
    assert!(oldest["judged_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{oldest}");
    let newest = &points[0];
    assert!(newest["score"].as_f64().is_some(), "{newest}");
    assert_eq!(oldest["anomaly_score"].as_f64(), Some(0.0), "warming up: no evidence");
    for point in &points {
        let graded = point["anomaly_score"].as_f64().expect("graded");
        assert_eq!(graded >= 0.5, point["anomaly"] == true, "{point}");
    }

    // Keyset pages of 50: every point once, in order.
    let mut paged = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let query = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let (status, page) = points_of(&platform.monitor, &format!("cpu/points?limit=50{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["points"].as_array().expect("points").iter().map(|p| p["timestamp"].as_i64().expect("ts")));
        match page["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, timestamps);

    // Filters.
    let count = async |query: &str| {
        let (status, page) = points_of(&platform.monitor, &format!("cpu/points?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        page["points"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(count("anomaly=true").await, 1);
    assert_eq!(count("anomaly=false").await, 129);
    assert_eq!(count("min_value=50").await, 1);
    assert_eq!(count("max_value=10").await, points.iter().filter(|p| p["value"].as_f64() <= Some(10.0)).count());
    assert_eq!(count(&format!("from={}&to={}", START + 60 * 10, START + 60 * 19)).await, 10);
    assert_eq!(count(&format!("from={}&anomaly=true&min_value=99&max_value=101", START + 60 * 90)).await, 1);

    // CSV, by parameter and by Accept, streamed as the same rows.
    let csv =
        client().get(format!("{}/series/cpu/points?format=csv", platform.monitor.url)).send().await.expect("sent");
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.expect("csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,value,score,anomaly,warming_up,detector,model_version,judged_at"));
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert_eq!(rows.len(), 130);
    assert!(rows.iter().all(|row| row.len() == 8), "{text}");
    let spike = rows.iter().find(|row| row[3] == "true").expect("the anomaly");
    assert_eq!((spike[0].parse::<i64>().ok(), spike[1].parse::<f64>().ok()), (Some(START + 60 * 90), Some(100.0)));
    assert_eq!(rows.iter().map(|row| row[0].parse::<i64>().expect("ts")).collect::<Vec<_>>(), timestamps);
    let by_accept = client()
        .get(format!("{}/series/cpu/points?limit=3", platform.monitor.url))
        .header("accept", "text/csv")
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("csv");
    assert_eq!(by_accept.lines().count(), 4, "a header and the 3 rows asked for: {by_accept}");

    // The summary agrees with a plain computation over the rows.
    let (status, summary) = points_of(&platform.monitor, "cpu/points/summary?buckets=7").await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!((summary["from"].as_i64(), summary["to"].as_i64()), (Some(START), Some(START + 60 * 129)));
    let buckets = summary["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 7, "{summary}");
    for bucket in buckets {
        let (from, to) = (bucket["from"].as_i64().expect("from"), bucket["to"].as_i64().expect("to"));
        let inside: Vec<&Value> =
            points.iter().filter(|p| (from..=to).contains(&p["timestamp"].as_i64().expect("ts"))).collect();
        let values: Vec<f64> = inside.iter().map(|p| p["value"].as_f64().expect("value")).collect();
        assert_eq!(bucket["count"].as_u64(), Some(values.len() as u64), "{bucket}");
        assert_eq!(bucket["min"].as_f64(), values.iter().copied().reduce(f64::min), "{bucket}");
        assert_eq!(bucket["max"].as_f64(), values.iter().copied().reduce(f64::max), "{bucket}");
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((bucket["mean"].as_f64().expect("mean") - mean).abs() < 1e-9, "{bucket} vs {mean}");
        let flagged = inside.iter().filter(|p| p["anomaly"] == true).count() as u64;
        assert_eq!(bucket["anomalies"].as_u64(), Some(flagged), "{bucket}");
    }

    // A series never streamed has no points.
    let (status, page) = points_of(&platform.monitor, "quiet/points").await;
    assert_eq!((status, page), (StatusCode::OK, json!({"points": [], "next_after": null})));
    let (status, summary) = points_of(&platform.monitor, "quiet/points/summary").await;
    assert_eq!((status, summary["buckets"].clone()), (StatusCode::OK, json!([])));

    // A delete takes the points with it.
    fit(&platform.train, "cpu", &series_body(60)).await;
    let (status, answer) = delete(&format!("{}/models/cpu", platform.train.url), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (_, page) = points_of(&platform.monitor, "cpu/points").await;
    assert_eq!(page["points"], json!([]), "deleted with the series");
}

async fn bad_point_queries_are_422(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let cases = [
        ("cpu/points?from=10&to=5", "invalid_range"),
        ("cpu/points?min_value=inf", "non_finite_value"),
        ("cpu/points?max_value=NaN", "non_finite_value"),
        ("cpu/points?limit=0", "invalid_limit"),
        ("cpu/points?limit=10001", "invalid_limit"),
        ("cpu/points?format=xml", "invalid_query"),
        ("cpu/points?anomaly=maybe", "invalid_query"),
        ("cpu/points?after=soon", "invalid_query"),
        ("cpu/points/summary?buckets=0", "invalid_limit"),
        ("cpu/points/summary?buckets=2001", "invalid_limit"),
        ("cpu/points/summary?from=10&to=5", "invalid_range"),
        ("has%20space/points", "invalid_series_id"),
    ];
    for (query, code) in cases {
        let (status, error) = points_of(&platform.monitor, query).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{query}: {error}"
        );
    }
}

fn judged(series: &str, timestamp: i64, value: f64, judged_at_ms: i64) -> JudgedPoint {
    JudgedPoint {
        series_id: SeriesId::parse(series).expect("valid"),
        timestamp,
        value,
        score: Some(1.0),
        anomaly_score: Some(0.25),
        anomaly: false,
        warming_up: false,
        detector: Cow::Borrowed("novelty"),
        version: ModelVersion::new(2),
        judged_at_ms,
    }
}

async fn retention_drops_old_days_and_keeps_the_rest(env: TestEnv) {
    let backends = env.connect().await;
    let day_ms = 86_400_000;
    let now = unix_millis();
    let old = judged("r", 1, 1.0, now - 10 * day_ms);
    let recent = judged("r", 2, 2.0, now - 3 * day_ms);
    let today = judged("r", 3, 3.0, now);
    for (epoch, point) in [old, recent, today].into_iter().enumerate() {
        let checkpoint = Checkpoint {
            log: "retention-test".into(),
            epoch: epoch as u64 + 1,
            judged: vec![point],
            ..Default::default()
        };
        assert!(backends.streams.commit(&checkpoint).await.expect("committed"));
    }
    let query = PointQuery::newest(SeriesId::parse("r").expect("valid"), 10);
    let stored = backends.stream_points.points(&query).await.expect("read");
    assert_eq!(stored.iter().map(|p| p.timestamp).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(stored[0].version, ModelVersion::new(2));
    let dropped = backends.stream_points.drop_points_before(unix_day(now) - 7).await.expect("dropped");
    assert!(dropped >= 1, "the day 10 days ago went");
    let kept = backends.stream_points.points(&query).await.expect("read");
    assert_eq!(kept.iter().map(|p| p.timestamp).collect::<Vec<_>>(), [3, 2], "the last 7 days stay");
}

async fn hostile_values_summarise_without_overflow(env: TestEnv) {
    let backends = env.connect().await;
    let now = unix_millis();
    let values = [f64::MAX, f64::MAX, -f64::MAX, 1e308, 5e-324];
    let points: Vec<JudgedPoint> = values.iter().enumerate().map(|(i, v)| judged("h", i as i64, *v, now)).collect();
    let checkpoint = Checkpoint { log: "hostile-test".into(), epoch: 1, judged: points, ..Default::default() };
    assert!(backends.streams.commit(&checkpoint).await.expect("committed"));
    let series = SeriesId::parse("h").expect("valid");
    for count in [1, 2, 5] {
        let buckets = backends.stream_points.point_summary(&series, Buckets::over(0, 4, count)).await.expect("summary");
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 5);
        for bucket in &buckets {
            assert!(bucket.mean.is_finite() && bucket.min <= bucket.mean && bucket.mean <= bucket.max, "{bucket:?}");
        }
    }
}

on_both_backends!(
    streamed_points_are_kept_with_their_verdicts,
    bad_point_queries_are_422,
    retention_drops_old_days_and_keeps_the_rest,
    hostile_values_summarise_without_overflow
);
