//! Helpers for the black-box tests: an isolated storage environment per test
//! (a fresh PostgreSQL database and Redis key prefix, or an embedded SQLite
//! file), the real services started on port 0, and a small HTTP client.
//!
//! PostgreSQL and Redis are found at `TEST_DATABASE_URL` (an admin URL, by
//! default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); `make test` starts
//! throwaway ones when those do not answer. A test fails, never skips, when
//! they are missing. The Kafka tests use the broker at `TEST_KAFKA_BROKERS`
//! (also started by `make test`).

pub mod kafka;
mod platform_process;
mod proxy;
mod receiver;
mod sse;

pub use platform_process::{PlatformProcess, free_port, platform_binary};
pub use proxy::TcpProxy;
pub use receiver::{Received, Receiver};
pub use sse::{SseClient, SseEvent};

use anomaly_http::HttpArgs;
use anomaly_store::{Backends, StorageConfig};
use serde_json::Value;
use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

pub use reqwest::StatusCode;

/// Which storage a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PostgreSQL and Redis.
    Production,
    /// SQLite file, in-process cache and bus.
    Embedded,
}

/// An isolated storage environment, removed when dropped.
pub struct TestEnv {
    /// The configuration services of this test connect with.
    pub storage: StorageConfig,
    kind: Kind,
    database: Option<(String, String)>,
    /// The Redis and key prefix at creation: tests may change `storage`'s,
    /// and every key under this prefix there is removed on drop.
    redis_to_clean: Option<(String, String)>,
    embedded_process: tokio::sync::OnceCell<Backends>,
    _dir: tempfile::TempDir,
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("t{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), nanos)
}

/// The PostgreSQL admin URL the tests create their databases with.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The Redis the tests use.
pub fn test_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (without_query, query) = url.split_once('?').map_or((url, ""), |(u, q)| (u, q));
    let authority_end = without_query.find("://").map_or(0, |i| i + 3);
    let base = match without_query[authority_end..].find('/') {
        Some(slash) => &without_query[..authority_end + slash],
        None => without_query,
    };
    if query.is_empty() { format!("{base}/{name}") } else { format!("{base}/{name}?{query}") }
}

impl TestEnv {
    /// A fresh environment of `kind`.
    pub async fn new(kind: Kind) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let name = unique_name();
        let mut storage = StorageConfig::embedded(dir.path().join("platform.db"));
        storage.redis_key_prefix = format!("test:{name}:");
        let mut database = None;
        if kind == Kind::Production {
            sqlx::any::install_default_drivers();
            let admin = admin_database_url();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL at {admin} (TEST_DATABASE_URL) is needed by this test; run `make test`: {e}")
            });
            // The name is ours (letters, digits, underscores), never user input.
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            storage.database_url = Some(with_database(&admin, &name));
            storage.redis_url = Some(test_redis_url());
            database = Some((admin, name));
        }
        let redis_to_clean = storage.redis_url.clone().map(|url| (url, storage.redis_key_prefix.clone()));
        Self { storage, kind, database, redis_to_clean, embedded_process: tokio::sync::OnceCell::new(), _dir: dir }
    }

    /// The storage kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Connects a new set of adapters (a new "process").
    pub async fn connect(&self) -> Backends {
        Backends::connect(&self.storage).await.expect("storage connects")
    }

    /// The adapters a service gets when deployed as its own process: its own
    /// connections in production; embedded, all services live in one
    /// process and share one set (in-process cache, bus, latency window).
    pub async fn process_backends(&self) -> Backends {
        match self.kind {
            Kind::Production => self.connect().await,
            Kind::Embedded => self.embedded_process.get_or_init(|| self.connect()).await.clone(),
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let database = self.database.take();
        let redis = self.redis_to_clean.take();
        // Drop runs outside async; clean up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Some((admin, name)) = database
                    && let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut conn)
                        .await;
                }
                if let Some((url, prefix)) = redis {
                    let _ = delete_keys(&url, &prefix).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn delete_keys(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await?;
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL").arg(keys).query_async(&mut conn).await?;
    }
    Ok(())
}

/// HTTP settings for tests: loopback, a 1 MiB body limit, the default timeouts.
pub fn http_args() -> HttpArgs {
    HttpArgs {
        host: "127.0.0.1".into(),
        max_body_bytes: 1024 * 1024,
        log_format: "text".into(),
        request_body_timeout: 30,
        header_read_timeout: 30,
        max_connections: 10_000,
        shutdown_timeout: 10,
        api_keys: None,
        api_keys_file: None,
        read_requires_key: false,
    }
}

/// A service running on a free port; stopped when dropped.
pub struct Running {
    /// Its base URL.
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves a bound server in the background.
pub fn run(server: anomaly_http::Server) -> Running {
    let url = server.url().expect("bound address");
    let task = tokio::spawn(async move {
        let _ = server.run(std::future::pending()).await;
    });
    Running { url, task }
}

/// Train's settings for tests (on a free port), fits needing at least
/// `min_training_points`.
pub fn train_settings(min_training_points: u32) -> train::TrainSettings {
    train::TrainSettings { train_port: 0, min_training_points, fit_max_bytes_in_flight: 256 << 20 }
}

/// Starts train with `min_training_points`.
pub async fn start_train_with(backends: Backends, min_training_points: u32) -> Running {
    run(train::build(backends, &train_settings(min_training_points), &http_args()).await.expect("train binds"))
}

/// Starts train with the default settings.
pub async fn start_train(backends: Backends) -> Running {
    start_train_with(backends, 3).await
}

/// Infer's settings for tests, its stream judging series without a model
/// with the detector kind `stream_detector` (`STREAM_DETECTOR`).
pub fn infer_settings(stream_detector: &str) -> infer::InferSettings {
    infer::InferSettings {
        infer_port: 0,
        local_cache_capacity: 10_000,
        prediction_history_max_rows: 100_000,
        prediction_history_max_rate: 2000,
        stream_detector: stream_detector.to_owned(),
        detector_window_size: 50,
        z_score_threshold: 3.0,
        ready_max_lag: 1000,
        ingest_max_series_per_request: 10_000,
        stream_states_in_memory: 100_000,
        points_retention_days: 7,
        stream_worker_id: String::new(),
        kafka: Default::default(),
    }
}

/// Starts one infer replica whose stream judges series without a model
/// with the detector kind `stream_detector`.
pub async fn start_infer_detecting(backends: Backends, stream_detector: &str) -> Running {
    let settings = infer_settings(stream_detector);
    run(infer::build(backends, &settings, &http_args()).await.expect("infer binds"))
}

/// Starts one infer replica. Its stream's default detector is the rolling
/// z-score (W=50, k=3): the streaming tests check the stream's mechanics
/// with verdicts easy to predict; `stream_matches_eval.rs` covers the
/// platform's default detector.
pub async fn start_infer(backends: Backends) -> Running {
    start_infer_detecting(backends, "rolling_zscore").await
}

/// Monitor's settings for tests (on a free port), its dashboard checking
/// train and infer at these URLs.
pub fn monitor_settings(train_url: &str, infer_url: &str) -> monitor::MonitorSettings {
    monitor::MonitorSettings {
        monitor_port: 0,
        train_url: train_url.to_owned(),
        infer_url: infer_url.to_owned(),
        webhook_max_attempts: 8,
        webhook_retry_base_ms: 1000,
        webhook_timeout_seconds: 10,
        webhook_max_in_flight: 64,
        sse_max_clients: 1000,
        // The tests' receivers listen on 127.0.0.1.
        webhook_allow_private: true,
        alert_group_seconds: 300,
        public_url: "http://dashboard.test".into(),
    }
}

/// Starts monitor, its dashboard watching train and infer at these URLs.
pub async fn start_monitor_watching(backends: Backends, train_url: &str, infer_url: &str) -> Running {
    start_monitor_with(backends, monitor_settings(train_url, infer_url)).await
}

/// Starts monitor with `settings`.
pub async fn start_monitor_with(backends: Backends, settings: monitor::MonitorSettings) -> Running {
    run(monitor::build(backends, &settings, &http_args()).await.expect("monitor binds"))
}

/// Starts monitor alone (its dashboard shows train and infer as down).
pub async fn start_monitor(backends: Backends) -> Running {
    start_monitor_watching(backends, "http://127.0.0.1:9", "http://127.0.0.1:9").await
}

/// The three services over one set of adapters.
pub struct Platform {
    /// train.
    pub train: Running,
    /// infer.
    pub infer: Running,
    /// monitor.
    pub monitor: Running,
}

impl Platform {
    /// Starts all three on `env`, sharing one set of adapters (as one
    /// process does in the embedded default).
    pub async fn start(env: &TestEnv) -> Self {
        Self::start_detecting(env, "rolling_zscore").await
    }

    /// Starts all three, infer's stream judging with `stream_detector`.
    pub async fn start_detecting(env: &TestEnv, stream_detector: &str) -> Self {
        Self::start_with_http(env, stream_detector, &http_args()).await
    }

    /// Starts all three with the HTTP settings `http` (keys, timeouts).
    pub async fn start_with_http(env: &TestEnv, stream_detector: &str, http: &HttpArgs) -> Self {
        // The URLs are those of the train and infer built with it.
        Self::start_with(env, stream_detector, monitor_settings("", ""), http).await
    }

    /// Starts all three, monitor with `monitor` (alert grouping, webhooks).
    pub async fn start_with_monitor(env: &TestEnv, monitor: monitor::MonitorSettings) -> Self {
        Self::start_with(env, "rolling_zscore", monitor, &http_args()).await
    }

    async fn start_with(
        env: &TestEnv,
        stream_detector: &str,
        monitor: monitor::MonitorSettings,
        http: &HttpArgs,
    ) -> Self {
        let settings =
            platform::PlatformSettings { train: train_settings(3), infer: infer_settings(stream_detector), monitor };
        let services = platform::build(env.connect().await, &settings, http).await.expect("the platform binds");
        Self { train: run(services.train), infer: run(services.infer), monitor: run(services.monitor) }
    }
}

/// A shared HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// How long the helpers below wait for a whole answer: a hung request
/// fails with its URL instead of at the test runner's timeout, with no word
/// of where. (Long reads, the live feed's, use `client()` or `sse`.)
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Sends `request` and reads the status and JSON answer (`Null` if none),
/// within [`ANSWER_TIMEOUT`].
async fn answer_of(url: &str, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.timeout(ANSWER_TIMEOUT).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{url}: reading the answer: {e}"));
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// POSTs raw `body` declared as JSON and returns the status and JSON
/// answer (`Null` if none).
pub async fn post_raw(url: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
    answer_of(url, client().post(url).header("content-type", "application/json").body(body)).await
}

/// POSTs `body` as JSON.
pub async fn post_json(url: &str, body: &Value) -> (StatusCode, Value) {
    post_raw(url, body.to_string()).await
}

/// PUTs `body` as JSON to `url` and returns the status and JSON answer (`Null` if none).
pub async fn put_json(url: &str, body: &Value) -> (StatusCode, Value) {
    answer_of(url, client().put(url).json(body)).await
}

/// GETs `url` and returns the status and JSON answer (`Null` if none).
pub async fn get_json(url: &str) -> (StatusCode, Value) {
    answer_of(url, client().get(url)).await
}

/// DELETEs `url` (with `key` as a Bearer API key, if given) and returns the
/// status and JSON answer (`Null` if none).
pub async fn delete(url: &str, key: Option<&str>) -> (StatusCode, Value) {
    let request = client().delete(url);
    let request = match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    answer_of(url, request).await
}

/// `n` calm points around 10 from `start` (seconds, one a minute), with a
/// spike of 100 at the indices given.
pub fn calm_points(start: i64, n: usize, spikes: &[usize]) -> Value {
    let timestamps: Vec<i64> = (0..n as i64).map(|i| start + 60 * i).collect();
    let values: Vec<f64> =
        (0..n).map(|i| if spikes.contains(&i) { 100.0 } else { 10.0 + [-0.5, 0.0, 0.5, 0.25][i % 4] }).collect();
    serde_json::json!({ "timestamps": timestamps, "values": values })
}

/// A fit body of `n` points around 10 with a small regular spread.
pub fn series_body(n: usize) -> Value {
    let timestamps: Vec<i64> = (0..n as i64).map(|i| 1_609_459_200 + 60 * i).collect();
    let values: Vec<f64> = (0..n).map(|i| 10.0 + [-1.0, 0.0, 1.0][i % 3]).collect();
    serde_json::json!({ "timestamps": timestamps, "values": values })
}

/// Fits `series` on `train` and returns the answer, asserting success.
pub async fn fit(train: &Running, series: &str, body: &Value) -> Value {
    let (status, answer) = post_json(&format!("{}/fit/{series}", train.url), body).await;
    assert_eq!(status, StatusCode::OK, "fit {series}: {answer}");
    answer
}

/// Predicts `value` on `infer` (optional `?version=`), returning status and answer.
pub async fn predict(infer: &Running, series: &str, version: Option<&str>, value: f64) -> (StatusCode, Value) {
    let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
    let body = serde_json::json!({ "timestamp": "1609459500", "value": value });
    post_json(&format!("{}/predict/{series}{query}", infer.url), &body).await
}

/// Polls `done` until it holds; fails the test after `seconds`.
pub async fn wait_until(what: &str, seconds: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what} within {seconds} s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// How many partitions the stream worker of the infer at `infer` owns (from `/ready`).
pub async fn owned(infer: &str) -> u64 {
    get_json(&format!("{infer}/ready")).await.1["partitions_owned"].as_u64().unwrap_or(0)
}

/// Polls `{url}/healthcheck` until it answers `status` (15 s at most) and
/// returns its body.
pub async fn wait_for_health(url: &str, status: StatusCode) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (got, health) = get_json(&format!("{url}/healthcheck")).await;
        if got == status {
            return health;
        }
        assert!(std::time::Instant::now() < deadline, "{url} did not become {status}: {health}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Generates one test per storage kind from `async fn name(env: TestEnv)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_postgres_and_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestEnv::new($crate::Kind::Production).await).await;
                }
            )*
        }
        mod on_embedded_default {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestEnv::new($crate::Kind::Embedded).await).await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(with_database("postgres://u@h:5432", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "t1"), "postgres://u@h/t1?sslmode=disable");
    }
}
