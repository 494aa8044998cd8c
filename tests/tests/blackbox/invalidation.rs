//! A predict without version that starts after a fit has answered uses the
//! new version on every infer replica, although each replica caches models
//! in process; also on a replica that was paused (SIGSTOP) through the fit
//! (or a delete) and could not acknowledge it.

use blackbox_tests::*;
use serde_json::json;

async fn a_refit_reaches_every_infer_replica(env: TestEnv) {
    let train = start_train(env.process_backends().await).await;
    let replicas = [start_infer(env.process_backends().await).await, start_infer(env.process_backends().await).await];

    let mut body = series_body(9);
    fit(&train, "s", &body).await;
    for round in 2..=5 {
        // Warm every replica's local cache with the current latest.
        for infer in &replicas {
            for _ in 0..3 {
                let (_, verdict) = predict(infer, "s", None, 11.5).await;
                assert_eq!(verdict["model_version"], format!("v{}", round - 1));
            }
        }
        body["threshold"] = json!(1.0 / round as f64);
        fit(&train, "s", &body).await;
        for (i, infer) in replicas.iter().enumerate() {
            let (status, verdict) = predict(infer, "s", None, 11.5).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(verdict["model_version"], format!("v{round}"), "replica {i} after refit {round}: {verdict}");
            assert_eq!(verdict["anomaly"], true, "k = 1/{round} flags 11.5");
        }
    }
    // Explicit old versions are still served.
    let (_, old) = predict(&replicas[0], "s", Some("v1"), 11.5).await;
    assert_eq!((old["model_version"].as_str(), old["anomaly"].as_bool()), (Some("v1"), Some(false)));
}

async fn a_predict_of_a_series_fitted_after_a_miss_finds_it(env: TestEnv) {
    let platform = Platform::start(&env).await;
    let (status, _) = predict(&platform.infer, "late", None, 1.0).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    fit(&platform.train, "late", &series_body(5)).await;
    let (status, verdict) = predict(&platform.infer, "late", None, 1.0).await;
    assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, Some("v1")), "{verdict}");
}

on_both_backends!(a_refit_reaches_every_infer_replica, a_predict_of_a_series_fitted_after_a_miss_finds_it);

/// When the subscription breaks, invalidations may be lost: the replica must
/// stop trusting its local "latest" and start over once it reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_subscription_drops_the_local_cache() {
    use anomaly_core::{DetectorConfig, ModelParams, SeriesId, Threshold, TrainingSeries};
    use std::time::{Duration, Instant};

    let env = TestEnv::new(Kind::Production).await;
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(9)).await;
    for _ in 0..3 {
        assert_eq!(predict(&platform.infer, "s", None, 10.0).await.1["model_version"], "v1");
    }

    // Break every pub/sub connection (other tests' replicas reconnect too).
    let client = redis::Client::open(test_redis_url()).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis connection");
    let _: i64 = redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub").query_async(&mut conn).await.expect("kill");

    // Store v2 behind the platform's back: durable and cached, never announced.
    let backends = env.connect().await;
    let id = SeriesId::parse("s").expect("valid");
    let series = TrainingSeries::new(vec![1, 2, 3], vec![1.0, 2.0, 3.0], 1).expect("valid");
    let config = DetectorConfig::ThreeSigma(anomaly_core::ThreeSigmaParams {
        threshold: Threshold::DEFAULT,
        direction: Default::default(),
    });
    let params = ModelParams::fit(&config, &series).expect("fits");
    let record = backends.store.insert_next_version(&id, &params, series).await.expect("stored");
    backends.cache.put_latest(&record).await.expect("cached");

    // The replica must find v2 without any invalidation message.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, verdict) = predict(&platform.infer, "s", None, 10.0).await;
        if verdict["model_version"] == "v2" {
            break;
        }
        assert!(Instant::now() < deadline, "the replica kept serving {verdict} after its subscription broke");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// On Redis, a publish returns only after each subscribed replica has
/// acknowledged, so a fit cannot answer while a replica still holds the old
/// latest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_publish_waits_for_the_acknowledgement() {
    use anomaly_core::SeriesId;
    use anomaly_store::BusEvent;
    use futures::StreamExt;
    use std::time::Duration;

    let env = TestEnv::new(Kind::Production).await;
    let backends = env.connect().await;
    let mut events = backends.bus.subscribe();
    assert!(matches!(events.next().await, Some(BusEvent::Connected)));
    let id = SeriesId::parse("s").expect("valid");
    let publisher = tokio::spawn({
        let (bus, id) = (backends.bus.clone(), id.clone());
        async move { bus.publish(&id, anomaly_store::Change::NewVersion).await }
    });
    let (series_id, ack) = loop {
        match events.next().await {
            Some(BusEvent::Heartbeat(_)) => continue,
            Some(BusEvent::Invalidate(series_id, _, ack)) => break (series_id, ack),
            other => panic!("an invalidation, not {other:?}"),
        }
    };
    assert_eq!(series_id, id);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!publisher.is_finished(), "publish must wait for the acknowledgement");
    ack.send();
    tokio::time::timeout(Duration::from_millis(900), publisher)
        .await
        .expect("acknowledged in time")
        .expect("joined")
        .expect("ok");
}

/// Waiting for acknowledgements holds no Redis connection: many concurrent
/// fits in one process (whose infer acknowledges through the same pool) all
/// succeed even with a tiny pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_fits_do_not_starve_the_redis_pool() {
    let mut env = TestEnv::new(Kind::Production).await;
    env.storage.redis_pool_size = 2;
    let platform = Platform::start(&env).await;
    let fits = (0..16).map(|i| {
        let url = format!("{}/fit/s{i}", platform.train.url);
        async move { post_json(&url, &series_body(5)).await }
    });
    for (status, answer) in futures::future::join_all(fits).await {
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, verdict) = predict(&platform.infer, "s7", None, 10.0).await;
    assert_eq!(verdict["model_version"], "v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_paused_through_a_fit_never_answers_the_old_version() {
    let env = TestEnv::new(Kind::Production).await;
    let train = start_train(env.connect().await).await;
    // Without a prediction history: a pause inside its write would hold the
    // series' activity row, and the delete below would wait for it (for a
    // minute, `STALLED_TRANSACTION_TIMEOUT`) before the test resumes the process.
    let paused = PlatformProcess::start_with(&env, &[("PREDICTION_HISTORY_MAX_ROWS", "0")]).await;
    let url = format!("{}/predict/paused", paused.infer);
    let point = json!({ "timestamp": 1_609_459_500, "value": 11.5 });
    let mut body = series_body(9);
    fit(&train, "paused", &body).await;
    for round in 2..=8 {
        let previous = format!("v{}", round - 1);
        wait_until("the replica serves the current version", 10, async || {
            post_json(&url, &point).await.1["model_version"] == previous.as_str()
        })
        .await;
        paused.signal("STOP");
        body["threshold"] = json!(1.0 / round as f64);
        fit(&train, "paused", &body).await; // answers after the ack timeout: the replica cannot ack
        // Sent while the replica is paused: the request waits in its socket
        // next to the invalidation, and is read as soon as it resumes.
        let pending = tokio::spawn({
            let (url, point) = (url.clone(), point.clone());
            async move { post_json(&url, &point).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        paused.signal("CONT");
        let (status, verdict) = pending.await.expect("predict task");
        assert_eq!(status, StatusCode::OK, "{verdict}");
        assert_eq!(verdict["model_version"], format!("v{round}"), "round {round}: the fit had answered: {verdict}");
    }

    // The same for a delete: no version of the series is served after it answered.
    let v1 = format!("{url}?version=v1");
    wait_until("the replica serves v1", 10, async || post_json(&v1, &point).await.0 == StatusCode::OK).await;
    paused.signal("STOP");
    let (status, _) = delete(&format!("{}/models/paused", train.url), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let pending = [url.clone(), v1].map(|url| {
        let point = point.clone();
        tokio::spawn(async move { post_json(&url, &point).await })
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    paused.signal("CONT");
    for answer in pending {
        let (status, answer) = answer.await.expect("predict task");
        assert_eq!(status, StatusCode::NOT_FOUND, "the delete had answered: {answer}");
    }
}
