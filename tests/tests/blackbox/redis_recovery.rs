//! A Redis outage and its recovery, with a Redis of the test's own (a
//! child `redis-server`), so nothing else is disturbed: predictions go on
//! from PostgreSQL, fits are refused clearly, and once Redis is back the
//! platform is healthy again and a refit is seen at once.

use blackbox_tests::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

async fn wait_for_health(url: &str, status: StatusCode) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (got, health) = get_json(&format!("{url}/healthcheck")).await;
        if got == status {
            return health;
        }
        assert!(Instant::now() < deadline, "{url} did not become {status}: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
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
    let (status, error) = post_json(&format!("{}/fit/s", platform.train.url), &series_body(6)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")),
        "{error}"
    );

    redis = OwnRedis::start(port);
    wait_for_health(&platform.train.url, StatusCode::OK).await;
    wait_for_health(&platform.infer.url, StatusCode::OK).await;
    let refit = fit(&platform.train, "s", &series_body(7)).await;
    let (status, verdict) = predict(&platform.infer, "s", None, 10.0).await;
    assert_eq!((status, verdict["model_version"].as_str()), (StatusCode::OK, refit["version"].as_str()), "{verdict}");
    drop(redis);
}
