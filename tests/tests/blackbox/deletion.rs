//! `DELETE /models/{series_id}`: the series, its versions and its history
//! are gone, every replica answers 404 from then on (their local caches held
//! it), a later fit continues after the last version, and a delete while
//! Redis is cut off is durable and reaches every cache once it returns.

use blackbox_tests::*;
use serde_json::{Value, json};

async fn models(monitor: &Running, series: &str) -> StatusCode {
    get_json(&format!("{}/models/{series}", monitor.url)).await.0
}

/// The recorded predictions of `series` (none when it has no model).
async fn predictions(monitor: &Running, series: &str) -> Vec<Value> {
    let (status, page) = get_json(&format!("{}/series/{series}/predictions", monitor.url)).await;
    assert!(matches!(status, StatusCode::OK | StatusCode::NOT_FOUND), "{page}");
    page["predictions"].as_array().cloned().unwrap_or_default()
}

/// What every replica answers for the latest and for `v1` of `series`.
async fn answers(replicas: &[&Running], series: &str) -> Vec<(StatusCode, StatusCode)> {
    let mut all = Vec::new();
    for replica in replicas {
        all.push((predict(replica, series, None, 10.0).await.0, predict(replica, series, Some("v1"), 10.0).await.0));
    }
    all
}

async fn a_deleted_series_is_gone_everywhere(env: TestEnv) {
    // Each service as its own process would get its adapters (embedded: one
    // process, one in-process bus).
    let platform = Platform {
        train: start_train(env.process_backends().await).await,
        infer: start_infer(env.process_backends().await).await,
        monitor: start_monitor(env.process_backends().await).await,
    };
    let second = start_infer(env.process_backends().await).await;
    let replicas = [&platform.infer, &second];
    fit(&platform.train, "s", &series_body(9)).await;
    fit(&platform.train, "s", &series_body(12)).await;
    fit(&platform.train, "kept", &series_body(9)).await;
    // Warm every replica's caches with the latest and with v1, and record history.
    for _ in 0..3 {
        assert_eq!(answers(&replicas, "s").await, vec![(StatusCode::OK, StatusCode::OK); 2]);
    }
    predict(&platform.infer, "s", None, 1e6).await;
    wait_until("the predictions are recorded", 10, async || predictions(&platform.monitor, "s").await.len() >= 13)
        .await;
    let ingested =
        post_json(&format!("{}/ingest/s", platform.infer.url), &json!({"timestamps": [1, 2, 3], "values": [1, 2, 3]}))
            .await;
    assert_eq!(ingested.0, StatusCode::ACCEPTED, "{}", ingested.1);
    wait_until("the stream judged the points", 15, async || {
        get_json(&format!("{}/stream/s", platform.infer.url)).await.1["points"] == 3
    })
    .await;

    let (status, answer) = delete(&format!("{}/models/s", platform.train.url), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");

    // The delete has answered: no replica serves any version any more.
    let gone = (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND);
    assert_eq!(answers(&replicas, "s").await, vec![gone; 2]);
    assert_eq!(models(&platform.monitor, "s").await, StatusCode::NOT_FOUND);
    let (_, listing) = get_json(&format!("{}/models", platform.monitor.url)).await;
    let listed: Vec<&str> =
        listing["models"].as_array().expect("models").iter().filter_map(|m| m["series_id"].as_str()).collect();
    assert_eq!(listed, ["kept"], "{listing}");
    let (_, anomalies) = get_json(&format!("{}/anomalies?series_id=s", platform.monitor.url)).await;
    assert_eq!(anomalies["predictions"], json!([]), "{anomalies}");
    assert_eq!(get_json(&format!("{}/stream/s", platform.infer.url)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(predict(&second, "kept", None, 10.0).await.0, StatusCode::OK, "other series are untouched");
    let (status, answer) = delete(&format!("{}/models/s", platform.train.url), None).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::NOT_FOUND, Some("series_not_found")));

    // Fitted again, it continues after its last version: v1 names no model now.
    assert_eq!(fit(&platform.train, "s", &series_body(9)).await["version"], "v3");
    assert_eq!(predictions(&platform.monitor, "s").await, Vec::<Value>::new(), "its prediction history is gone");
    for replica in replicas {
        let (status, verdict) = predict(replica, "s", None, 10.0).await;
        assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, Some("v3")), "{verdict}");
        let (status, error) = predict(replica, "s", Some("v1"), 10.0).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("version_not_found")));
    }
    let versions = env.connect().await.store.version_count().await.expect("counted");
    assert_eq!(versions, 2, "v3 of s and v1 of kept");

    // Streamed again, it starts over: the state judged before the delete is not carried on.
    let again = json!({"timestamps": [10, 20], "values": [1, 2]});
    assert_eq!(post_json(&format!("{}/ingest/s", platform.infer.url), &again).await.0, StatusCode::ACCEPTED);
    wait_until("the stream judged the new points", 15, async || {
        get_json(&format!("{}/stream/s", platform.infer.url)).await.1["points"] == 2
    })
    .await;
}

on_both_backends!(a_deleted_series_is_gone_everywhere);

/// A delete while train cannot reach Redis: durable, answered 204, and no
/// replica serves the series during the outage or after Redis returns
/// (the shared cache still held it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_during_a_redis_outage_reaches_every_cache() {
    let proxy = TcpProxy::to_test_redis().await;
    let mut env = TestEnv::new(Kind::Production).await;
    env.storage.redis_url = Some(proxy.redis_url());
    let train = start_train(env.connect().await).await;
    let replicas = [start_infer(env.connect().await).await, start_infer(env.connect().await).await];
    let replicas = [&replicas[0], &replicas[1]];
    for replica in replicas {
        wait_for_health(&replica.url, StatusCode::OK).await;
    }
    fit(&train, "s", &series_body(5)).await;
    assert_eq!(answers(&replicas, "s").await, vec![(StatusCode::OK, StatusCode::OK); 2]);

    proxy.cut();
    for replica in replicas {
        wait_for_health(&replica.url, StatusCode::SERVICE_UNAVAILABLE).await;
    }
    let (status, answer) = delete(&format!("{}/models/s", train.url), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let gone = vec![(StatusCode::NOT_FOUND, StatusCode::NOT_FOUND); 2];
    assert_eq!(answers(&replicas, "s").await, gone);

    // Redis comes back still holding v1: no predict may see it.
    proxy.restore();
    for replica in replicas {
        wait_for_health(&replica.url, StatusCode::OK).await;
    }
    wait_until("the shared cache forgot the series", 20, async || {
        let client = redis::Client::open(test_redis_url()).expect("redis url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("redis answers");
        let key = format!("{}model:{{s}}:1", env.storage.redis_key_prefix);
        let cached: Option<String> = redis::cmd("GET").arg(key).query_async(&mut conn).await.expect("GET");
        assert_eq!(answers(&replicas, "s").await, gone);
        cached.is_none()
    })
    .await;
    let fresh = start_infer(env.connect().await).await;
    wait_for_health(&fresh.url, StatusCode::OK).await;
    assert_eq!(answers(&[&fresh], "s").await, vec![(StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)]);
}
