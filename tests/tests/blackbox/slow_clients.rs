//! Slow clients cannot hold a service: half-sent or trickled headers and
//! idle connections are closed after `HEADER_READ_TIMEOUT` (a live feed,
//! answering all along, is not), a body that stops
//! arriving, or trickles in, is answered and closed once
//! `REQUEST_BODY_TIMEOUT` has passed, at most
//! `MAX_CONNECTIONS` are open at once, and a stop waits for slow requests at
//! most `SHUTDOWN_TIMEOUT`.

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
    let settings = infer_settings("novelty");
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

/// A body dribbled a byte every 300 ms is never silent for long, and is
/// cut off all the same once `REQUEST_BODY_TIMEOUT` has passed as a whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_dribbled_a_byte_at_a_time_is_cut_off_at_the_deadline() {
    let (server, _env) = infer_with(anomaly_http::HttpArgs { request_body_timeout: 2, ..http_args() }).await;
    let infer = run(server);
    let started = Instant::now();
    let mut stream = half_sent_request(&infer.url).await;
    let (mut reader, mut writer) = stream.split();
    let dribble = async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(b"1").await.is_err() {
                return;
            }
        }
    };
    let mut answer = Vec::new();
    let read = tokio::select! {
        read = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut answer)) => read,
        () = dribble => Ok(Ok(0)),
    };
    let elapsed = started.elapsed();
    assert!(read.is_ok(), "the connection is closed, not held open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "answered 408 after {elapsed:?}: {answer}");
    assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(10), "{elapsed:?}");
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

/// Whether the server closes `stream` within `seconds` (reads to the end).
async fn closed_within(stream: &mut TcpStream, seconds: u64) -> bool {
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(seconds), stream.read_to_end(&mut rest)).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_idle_connections_are_closed() {
    let (server, _env) = infer_with(anomaly_http::HttpArgs { header_read_timeout: 1, ..http_args() }).await;
    let infer = run(server);
    let address = infer.url.trim_start_matches("http://").to_owned();
    let mut idle = TcpStream::connect(&address).await.expect("connects");
    let mut half = TcpStream::connect(&address).await.expect("connects");
    half.write_all(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n").await.expect("writes");
    assert!(closed_within(&mut half, 15).await, "half-sent headers are not held open");
    assert!(closed_within(&mut idle, 15).await, "an idle connection is not held open");
    let (status, _) = get_json(&format!("{}/healthcheck", infer.url)).await;
    assert_eq!(status, StatusCode::OK, "the service still accepts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sent_a_byte_at_a_time_and_idle_keep_alive_connections_are_closed() {
    let (server, _env) = infer_with(anomaly_http::HttpArgs { header_read_timeout: 1, ..http_args() }).await;
    let infer = run(server);
    let address = infer.url.trim_start_matches("http://").to_owned();
    let (mut trickle_in, mut trickle_out) = TcpStream::connect(&address).await.expect("connects").into_split();
    let trickling = tokio::spawn(async move {
        // Never silent for long, never done: one byte every 200 ms.
        for byte in b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Padding: ".iter().chain(std::iter::repeat(&b'a')) {
            if trickle_out.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut rest = Vec::new();
    let cut = tokio::time::timeout(Duration::from_secs(15), trickle_in.read_to_end(&mut rest)).await;
    assert!(cut.is_ok(), "headers trickled a byte at a time are not held open");
    trickling.abort();

    let (closed, answer) = ask(&address, b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", 15).await;
    assert!(closed, "an idle keep-alive connection is closed after its answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "answered first");
}

/// Sends `request` on a new connection to `address` and reads for at most
/// `seconds`: whether the server closed the connection by then, and what
/// it sent.
async fn ask(address: &str, request: &[u8], seconds: u64) -> (bool, String) {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    stream.write_all(request).await.expect("writes");
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(seconds), stream.read_to_end(&mut received)).await;
    (read.is_ok(), String::from_utf8_lossy(&received).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_feed_stays_open_past_the_header_read_timeout() {
    let env = TestEnv::new(Kind::Embedded).await;
    let http = anomaly_http::HttpArgs { header_read_timeout: 1, ..http_args() };
    let settings = monitor_settings("http://127.0.0.1:9", "http://127.0.0.1:9");
    let monitor = run(monitor::build(env.connect().await, &settings, &http).await.expect("binds"));
    let feed = b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";
    let (closed, received) = ask(monitor.url.trim_start_matches("http://"), feed, 4).await;
    assert!(!closed, "still open after 4 header-read timeouts");
    assert!(received.starts_with("HTTP/1.1 200"), "the feed answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_closes() {
    let http = anomaly_http::HttpArgs { max_connections: 2, header_read_timeout: 600, ..http_args() };
    let (server, _env) = infer_with(http).await;
    let infer = run(server);
    let address = infer.url.trim_start_matches("http://").to_owned();
    let first = TcpStream::connect(&address).await.expect("connects");
    let _second = TcpStream::connect(&address).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let quick = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().expect("client");
    let over_cap = quick.get(format!("{}/healthcheck", infer.url)).send().await;
    assert!(over_cap.is_err(), "a third connection is not served while two are open");
    drop(first);
    let (status, _) = get_json(&format!("{}/healthcheck", infer.url)).await;
    assert_eq!(status, StatusCode::OK, "served once a connection closed");
}
