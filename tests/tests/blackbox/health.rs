//! `/healthcheck` reports the contract's figures from real measurements,
//! the same on every service, infer's stream worker, and 503 when a
//! dependency is down.

use blackbox_tests::*;
use serde_json::json;
use std::time::Duration;

async fn every_service_reports_the_same_platform_figures(env: TestEnv) {
    let train = start_train(env.process_backends().await).await;
    let infer = start_infer(env.process_backends().await).await;
    let monitor = start_monitor(env.process_backends().await).await;
    fit(&train, "a", &series_body(5)).await;
    fit(&train, "b", &series_body(5)).await;
    for _ in 0..4 {
        predict(&infer, "a", None, 10.0).await;
    }
    predict(&infer, "missing", None, 10.0).await; // a 404 is not a successful call

    let expected = |health: &serde_json::Value| {
        health["series_trained"] == 2
            && health["training_latency_ms"]["samples"] == 2
            && health["inference_latency_ms"]["samples"] == 4
    };
    // Each process flushes its samples every 200 ms; allow a few rounds.
    for service in [&train, &infer, &monitor] {
        let mut health = serde_json::Value::Null;
        for _ in 0..50 {
            let (status, body) = get_json(&format!("{}/healthcheck", service.url)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            health = body;
            if expected(&health) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(expected(&health), "{}: {health}", service.url);
        assert_eq!(health["status"], "ok");
        for kind in ["inference_latency_ms", "training_latency_ms"] {
            let (avg, p95) =
                (health[kind]["avg"].as_f64().unwrap_or(-1.0), health[kind]["p95"].as_f64().unwrap_or(-1.0));
            assert!(avg > 0.0 && p95 > 0.0, "{kind}: {health}");
        }
        let backend = match env.kind() {
            Kind::Production => ("postgres", "redis"),
            Kind::Embedded => ("sqlite", "memory"),
        };
        assert_eq!(health["dependencies"]["database"]["backend"], backend.0);
        assert_eq!(health["dependencies"]["cache"]["backend"], backend.1);
        let is_infer = std::ptr::eq(service, &infer);
        assert_eq!(health.get("stream").is_some(), is_infer, "only infer reports a stream: {health}");
    }

    // Infer's stream section: no commit before the first batch, then its age.
    let health = || async { get_json(&format!("{}/healthcheck", infer.url)).await.1["stream"].clone() };
    let before = health().await;
    assert_eq!((before["source"].as_str(), before["status"].as_str()), (Some("log"), Some("up")), "{before}");
    assert!(before["last_commit_age_seconds"].is_null(), "nothing committed yet: {before}");
    let (status, answer) = post_json(&format!("{}/ingest/s", infer.url), &json!({"timestamp": 60, "value": 1.0})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let mut stream = before;
    for _ in 0..100 {
        stream = health().await;
        if stream["last_commit_age_seconds"].is_number() && stream["lag_entries"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let age = stream["last_commit_age_seconds"].as_f64().expect("a commit once the point is judged");
    assert!((0.0..5.0).contains(&age), "{stream}");
    assert_eq!((stream["partitions_owned"].as_u64(), stream["worst_partition_lag"].as_u64()), (Some(16), Some(0)));
}

on_both_backends!(every_service_reports_the_same_platform_figures);

/// With Redis unreachable: health is 503 with the same body, a fit is refused
/// with 503 (not 500), and predictions go on from PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_degrades_clearly() {
    let mut env = TestEnv::new(Kind::Production).await;
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;

    env.storage.redis_url = Some("redis://127.0.0.1:9".into()); // nothing listens on the discard port
    let down = env.connect().await;
    let train = start_train(down.clone()).await;
    let infer = start_infer(down.clone()).await;
    let monitor = start_monitor(down).await;

    for service in [&train, &infer, &monitor] {
        let (status, health) = get_json(&format!("{}/healthcheck", service.url)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
        assert_eq!(health["status"], "degraded");
        assert_eq!(health["dependencies"]["cache"]["status"], "down");
        assert_eq!(health["dependencies"]["database"]["status"], "up");
        assert_eq!(health["series_trained"], 1);
    }
    let (_, health) = get_json(&format!("{}/healthcheck", infer.url)).await;
    assert_eq!(health["stream"]["status"], "down", "the stream's log is in Redis: {health}");
    // The database is the truth: a fit is stored and served without Redis.
    assert_eq!(fit(&train, "t", &series_body(5)).await["version"], "v1");
    let (status, verdict) = predict(&infer, "s", None, 10.0).await;
    assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, Some("v1")), "{verdict}");
    let (status, verdict) = predict(&infer, "t", None, 10.0).await;
    assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, Some("v1")), "{verdict}");
}
