//! Slow clients cannot hold a service: a body that stops arriving is
//! answered and its connection closed after `REQUEST_BODY_TIMEOUT`, and a
//! stop waits for such requests at most `SHUTDOWN_TIMEOUT`.

use blackbox_tests::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends headers declaring a 1000-byte body, then only part of it.
async fn half_sent_request(url: &str) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connects");
    let head = format!(
        "POST /ingest/slow HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"timestamps\": ["
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    stream
}

async fn infer_with(http: anomaly_http::HttpArgs) -> (anomaly_http::Server, TestEnv) {
    let env = TestEnv::new(Kind::Embedded).await;
    let backends = env.connect().await;
    let settings = infer::InferSettings {
        infer_port: 0,
        local_cache_capacity: 10,
        prediction_history_max_rows: 100,
        prediction_history_max_rate: 100,
        prediction_history_queue: 100,
        stream_detector: "novelty".into(),
        detector_window_size: 50,
        z_score_threshold: 3.0,
        ready_max_lag: 1000,
    };
    (infer::build(backends, &settings, &http).await.expect("binds"), env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_and_closed() {
    let (server, _env) = infer_with(anomaly_http::HttpArgs { request_body_timeout: 1, ..http_args() }).await;
    let infer = run(server);
    let started = Instant::now();
    let mut stream = half_sent_request(&infer.url).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is closed, not held open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "answered 408 after {:?}: {answer}", started.elapsed());
    assert!(answer.contains("request_timeout"), "{answer}");
    let (status, _) = get_json(&format!("{}/healthcheck", infer.url)).await;
    assert_eq!(status, StatusCode::OK, "the service still accepts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_waits_for_slow_requests_at_most_the_shutdown_timeout() {
    let (server, _env) =
        infer_with(anomaly_http::HttpArgs { request_body_timeout: 600, shutdown_timeout: 1, ..http_args() }).await;
    let url = server.url().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let _slow: Vec<TcpStream> = futures::future::join_all((0..20).map(|_| half_sent_request(&url))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(());
    let finished = tokio::time::timeout(Duration::from_secs(15), serving).await;
    assert!(finished.is_ok(), "the service stopped despite 20 half-sent requests");
}
