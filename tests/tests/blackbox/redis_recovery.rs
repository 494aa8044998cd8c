//! A Redis outage and its recovery, with a Redis of the test's own (a
//! child `redis-server`), so nothing else is disturbed: predictions and
//! fits go on from PostgreSQL, and once Redis is back the platform is
//! healthy again and a refit is seen at once.

use blackbox_tests::*;
use std::process::{Child, Command, Stdio};

/// A redis-server child on `port`, killed when dropped.
struct OwnRedis(Child);

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (make test installs it)");
        Self(child)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_rides_out_a_redis_outage() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let mut redis = OwnRedis::start(port);
    let mut env = TestEnv::new(Kind::Production).await;
    env.storage.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let platform = Platform::start(&env).await;
    wait_for_health(&platform.infer.url, StatusCode::OK).await;
    fit(&platform.train, "s", &series_body(5)).await;
    assert_eq!(predict(&platform.infer, "s", None, 10.0).await.1["model_version"], "v1");

    drop(redis);
    let health = wait_for_health(&platform.infer.url, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(health["dependencies"]["cache"]["status"], "down");
    let (status, verdict) = predict(&platform.infer, "s", None, 10.0).await;
    assert_eq!(
        (status, verdict["model_version"].as_str()),
        (StatusCode::OK, Some("v1")),
        "served from PostgreSQL: {verdict}"
    );
    let during = fit(&platform.train, "s", &series_body(6)).await;
    assert_eq!(during["version"], "v2", "stored in PostgreSQL, so the fit succeeded");
    assert_eq!(predict(&platform.infer, "s", None, 10.0).await.1["model_version"], "v2");

    redis = OwnRedis::start(port);
    wait_for_health(&platform.train.url, StatusCode::OK).await;
    wait_for_health(&platform.infer.url, StatusCode::OK).await;
    let refit = fit(&platform.train, "s", &series_body(7)).await;
    let (status, verdict) = predict(&platform.infer, "s", None, 10.0).await;
    assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, refit["version"].as_str()), "{verdict}");
    drop(redis);
}
