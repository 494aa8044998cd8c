//! A fit while Redis is cut off (through a proxy the test controls): the
//! version is durable in PostgreSQL, so the fit succeeds, and every predict
//! after it answered uses the new version on every replica, during the
//! outage and after Redis returns, when the shared cache is repaired.

use blackbox_tests::*;
use std::time::{Duration, Instant};

async fn latest_in_redis(prefix: &str, series: &str) -> Option<String> {
    let client = redis::Client::open(test_redis_url()).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis answers");
    redis::cmd("HGET").arg(format!("{prefix}latest:{{{series}}}")).arg("version").query_async(&mut conn).await.ok()
}

async fn assert_every_replica_answers(replicas: &[Running], version: &str) {
    for replica in replicas {
        let (status, verdict) = predict(replica, "s", None, 10.0).await;
        assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, Some(version)), "{verdict}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fit_during_a_redis_outage_is_kept_and_served_everywhere() {
    let proxy = TcpProxy::to_test_redis().await;
    let mut env = TestEnv::new(Kind::Production).await;
    env.storage.redis_url = Some(proxy.redis_url());
    let prefix = env.storage.redis_key_prefix.clone();
    let train = start_train(env.connect().await).await;
    let replicas = [start_infer(env.connect().await).await, start_infer(env.connect().await).await];
    for replica in &replicas {
        wait_for_health(&replica.url, StatusCode::OK).await;
    }
    fit(&train, "s", &series_body(5)).await;
    assert_every_replica_answers(&replicas, "v1").await;

    proxy.cut();
    for replica in &replicas {
        wait_for_health(&replica.url, StatusCode::SERVICE_UNAVAILABLE).await;
    }
    let during = fit(&train, "s", &series_body(6)).await;
    assert_eq!(during["version"], "v2");
    assert_every_replica_answers(&replicas, "v2").await;

    // Redis comes back still holding v1 as "latest": no predict may see it.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert_every_replica_answers(&replicas, "v2").await;
        if latest_in_redis(&prefix, "s").await.as_deref() == Some("2") {
            break;
        }
        assert!(Instant::now() < deadline, "the shared cache is repaired within 20 s of Redis returning");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for replica in &replicas {
        wait_for_health(&replica.url, StatusCode::OK).await;
    }
    assert_every_replica_answers(&replicas, "v2").await;
    let fresh = start_infer(env.connect().await).await;
    wait_for_health(&fresh.url, StatusCode::OK).await;
    assert_every_replica_answers(std::slice::from_ref(&fresh), "v2").await;

    let after = fit(&train, "s", &series_body(7)).await;
    assert_eq!(after["version"], "v3");
    assert_every_replica_answers(&replicas, "v3").await;
}
