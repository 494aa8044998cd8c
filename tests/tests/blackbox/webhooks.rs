//! Webhooks on both backends, against a receiver the test runs: deliveries
//! are signed, retried until the receiver takes them, given up after the
//! configured attempts, survive a monitor restart mid-retry, two replicas
//! deliver each anomaly once, and internal targets are refused unless
//! `WEBHOOK_ALLOW_PRIVATE` allows them.

use blackbox_tests::*;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(15);

fn settings(max_attempts: u32, retry_base_ms: u64) -> monitor::MonitorSettings {
    monitor::MonitorSettings {
        webhook_max_attempts: max_attempts,
        webhook_retry_base_ms: retry_base_ms,
        webhook_timeout_seconds: 2,
        ..monitor_settings("http://127.0.0.1:9", "http://127.0.0.1:9")
    }
}

async fn register(monitor: &Running, body: Value) -> Value {
    let (status, hook) = post_json(&format!("{}/webhooks", monitor.url), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    hook
}

/// Streams 60 calm points with a spike at 55 into `series`: one anomaly.
async fn spike(infer: &Running, series: &str, start: i64) {
    let timestamps: Vec<i64> = (0..60).map(|i| start + 60 * i).collect();
    let values: Vec<f64> = (0..60).map(|i| if i == 55 { 100.0 } else { 10.0 + (i % 4) as f64 * 0.25 }).collect();
    let (status, answer) =
        post_json(&format!("{}/ingest/{series}", infer.url), &json!({"timestamps": timestamps, "values": values}))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

/// Waits until the webhook's deliveries satisfy `done`; returns them.
async fn deliveries_until(monitor: &Running, hook: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, page) = get_json(&format!("{}/webhooks/{hook}/deliveries", monitor.url)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let deliveries = page["deliveries"].as_array().cloned().unwrap_or_default();
        if done(&deliveries) {
            return deliveries;
        }
        assert!(Instant::now() < deadline, "deliveries never got there: {deliveries:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn finished(deliveries: &[Value]) -> bool {
    !deliveries.is_empty() && deliveries.iter().all(|d| d["status"] != "pending")
}

async fn a_delivery_is_signed_and_retried_until_the_receiver_takes_it(env: TestEnv) {
    let backends = env.process_backends().await;
    let infer = start_infer(backends.clone()).await;
    let monitor = start_monitor_with(backends, settings(8, 20)).await;
    let receiver = Receiver::start(&[500, 503, 500]).await;
    let hook =
        register(&monitor, json!({"url": receiver.url, "secret": "s3cret", "series_id": "cpu", "mode": "anomaly"}))
            .await;
    assert_eq!(hook["secret"], "s3cret");
    let id = hook["id"].as_str().expect("id");

    let sent = Instant::now();
    spike(&infer, "other", 1_000_000).await; // another series: not delivered
    spike(&infer, "cpu", 1_000_000).await;
    let deliveries = deliveries_until(&monitor, id, finished).await;
    println!("ingest to webhook delivered (after 3 failures, 20 ms base backoff): {:?}", sent.elapsed());
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    let delivery = &deliveries[0];
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_u64()),
        (Some("delivered"), Some(4)),
        "{delivery}"
    );
    assert_eq!(delivery["last_status_code"], 200);
    assert_eq!(
        (delivery["payload"]["series_id"].as_str(), delivery["payload"]["source"].as_str()),
        (Some("cpu"), Some("stream"))
    );

    let received = receiver.received();
    assert_eq!(received.len(), 4, "{received:?}");
    for request in &received {
        assert_eq!(request.delivery, delivery["id"].as_str().expect("id"));
        assert_eq!(request.signature, signature("s3cret", &request.body), "the signature verifies");
    }
    let body: Value = serde_json::from_slice(&received[3].body).expect("JSON body");
    assert_eq!(body, delivery["payload"]);
    assert_eq!(body["timestamp"], 1_000_000 + 60 * 55);
}

async fn a_dead_receiver_ends_in_failed_after_the_attempts(env: TestEnv) {
    let backends = env.process_backends().await;
    let monitor = start_monitor_with(backends, settings(3, 10)).await;
    // Nothing listens on port 9 (discard) here: every attempt is refused.
    let hook = register(&monitor, json!({"url": "http://127.0.0.1:9/hook", "mode": "anomaly"})).await;
    assert!(hook["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")), "a secret is generated: {hook}");
    let id = hook["id"].as_str().expect("id");
    let (status, queued) = post_json(&format!("{}/webhooks/{id}/test", monitor.url), &json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let deliveries = deliveries_until(&monitor, id, finished).await;
    let delivery = &deliveries[0];
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_u64()), (Some("failed"), Some(3)), "{delivery}");
    assert!(delivery["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{delivery}");
    assert_eq!(delivery["payload"]["test"], true);

    // A 4xx is not retried.
    let receiver = Receiver::start(&[410]).await;
    let gone = register(&monitor, json!({"url": receiver.url, "mode": "anomaly"})).await;
    let gone_id = gone["id"].as_str().expect("id");
    post_json(&format!("{}/webhooks/{gone_id}/test", monitor.url), &json!({})).await;
    let deliveries = deliveries_until(&monitor, gone_id, finished).await;
    assert_eq!((deliveries[0]["status"].as_str(), deliveries[0]["attempts"].as_u64()), (Some("failed"), Some(1)));
    assert_eq!(deliveries[0]["last_status_code"], 410);
}

async fn webhooks_are_listed_deleted_and_checked(env: TestEnv) {
    let monitor = start_monitor(env.process_backends().await).await;
    let webhooks = format!("{}/webhooks", monitor.url);
    for (body, code) in [
        (json!({"url": "ftp://example.com/x"}), "invalid_url"),
        (json!({"url": "not a url"}), "invalid_url"),
        (json!({"url": "http://example.com", "secret": ""}), "invalid_secret"),
        (json!({"url": "http://example.com", "min_score": -1}), "invalid_min_score"),
        (json!({"url": "http://example.com", "series_id": "a b"}), "invalid_series_id"),
        (json!({"url": "http://example.com", "colour": "red"}), "invalid_field"),
    ] {
        let (status, error) = post_json(&webhooks, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"], code, "{body}: {error}");
    }
    let hook = register(&monitor, json!({"url": "https://example.com/hook", "min_score": 5})).await;
    let (_, listed) = get_json(&webhooks).await;
    assert_eq!(listed["webhooks"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["webhooks"][0]["min_score"], 5.0);
    assert!(listed["webhooks"][0].get("secret").is_none(), "secrets are not listed: {listed}");
    let id = hook["id"].as_str().expect("id");
    let delete = || async { client().delete(format!("{webhooks}/{id}")).send().await.expect("answers").status() };
    assert_eq!(delete().await, StatusCode::NO_CONTENT);
    assert_eq!(delete().await, StatusCode::NOT_FOUND);
    let (status, _) = get_json(&format!("{webhooks}/{id}/deliveries")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = get_json(&webhooks).await;
    assert_eq!(listed["webhooks"], json!([]));
}

/// A monitor stopped between two attempts: the next one picks the
/// delivery up; it is delivered, not lost.
async fn a_restart_mid_retry_loses_nothing(env: TestEnv) {
    let receiver = Receiver::start(&[500]).await;
    let backends = env.process_backends().await;
    let first = start_monitor_with(backends.clone(), settings(8, 1500)).await;
    let hook = register(&first, json!({"url": receiver.url, "mode": "anomaly"})).await;
    let id = hook["id"].as_str().expect("id").to_owned();
    post_json(&format!("{}/webhooks/{id}/test", first.url), &json!({})).await;
    deliveries_until(&first, &id, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
    drop(first);
    let second = start_monitor_with(backends, settings(8, 1500)).await;
    let deliveries = deliveries_until(&second, &id, finished).await;
    assert_eq!((deliveries[0]["status"].as_str(), deliveries[0]["attempts"].as_u64()), (Some("delivered"), Some(2)));
    let received = receiver.received();
    assert_eq!(received.len(), 2, "one failed attempt, one delivery: {received:?}");
}

/// By default a webhook cannot aim inside: internal hosts in every
/// spelling, and credentials, are refused at registration; a webhook
/// registered while internal targets were allowed is refused at connect
/// once they are not, and the receiver gets nothing.
async fn internal_webhook_targets_are_refused_unless_allowed(env: TestEnv) {
    let receiver = Receiver::start(&[]).await;
    let backends = env.process_backends().await;
    let strict = monitor::MonitorSettings { webhook_allow_private: false, ..settings(1, 20) };
    let monitor = start_monitor_with(backends.clone(), strict.clone()).await;
    let webhooks = format!("{}/webhooks", monitor.url);
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8002/webhooks",
        "http://localhost:8002/",
        "http://0.0.0.0:80/",
        "http://2130706433/",
        "http://[::1]:8002/",
        "http://10.0.0.7/",
        "http://192.168.1.1/",
        "https://user:password@example.com/hook",
    ] {
        let (status, error) = post_json(&webhooks, &json!({ "url": url })).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_url")),
            "{url}: {error}"
        );
    }
    let (_, listed) = get_json(&webhooks).await;
    assert_eq!(listed["webhooks"], json!([]), "nothing stored from a refused registration");

    // Registered on a monitor that allows internal targets, delivered by one that does not.
    drop(monitor);
    let lenient = start_monitor_with(backends.clone(), settings(1, 20)).await;
    let hook = register(&lenient, json!({ "url": receiver.url, "mode": "anomaly" })).await;
    drop(lenient);
    let monitor = start_monitor_with(backends, strict).await;
    let id = hook["id"].as_str().expect("id");
    post_json(&format!("{}/webhooks/{id}/test", monitor.url), &json!({})).await;
    let deliveries = deliveries_until(&monitor, id, finished).await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries:#?}");
    assert!(deliveries[0]["last_error"].as_str().is_some_and(|e| e.contains("internal address")), "{deliveries:#?}");
    assert!(receiver.received().is_empty());
}

/// A monitor told to stop while a delivery is in flight lets it end and
/// records it before it returns: nothing is left to be sent again.
async fn a_stop_records_the_delivery_in_flight(env: TestEnv) {
    // A receiver that takes a second to answer, and says when a request came.
    let (arrived, mut arrival) = tokio::sync::mpsc::unbounded_channel::<()>();
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::post(move || {
            let arrived = arrived.clone();
            async move {
                let _ = arrived.send(());
                tokio::time::sleep(Duration::from_secs(1)).await;
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let receiver = format!("http://{}/slow", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let backends = env.process_backends().await;
    let server = monitor::build(backends.clone(), &settings(8, 20), &http_args()).await.expect("binds");
    let url = server.url().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let (status, hook) = post_json(&format!("{url}/webhooks"), &json!({ "url": receiver, "mode": "anomaly" })).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let id = hook["id"].as_str().expect("id").to_owned();
    post_json(&format!("{url}/webhooks/{id}/test"), &json!({})).await;
    tokio::time::timeout(PATIENCE, arrival.recv()).await.expect("the delivery reached the receiver");

    let _ = stop.send(());
    let served = tokio::time::timeout(PATIENCE, serving).await.expect("stopped in time").expect("joined");
    served.expect("served");
    let query = anomaly_store::DeliveryQuery { webhook_id: Some(&id), status: None, limit: 10 };
    let deliveries = backends.webhooks.deliveries(query).await.expect("read");
    let outcome: Vec<_> = deliveries.iter().map(|d| (d.status.as_str(), d.attempts)).collect();
    assert_eq!(outcome, [("delivered", 1)], "recorded before the stop returned");
}

on_both_backends!(
    a_stop_records_the_delivery_in_flight,
    a_delivery_is_signed_and_retried_until_the_receiver_takes_it,
    a_dead_receiver_ends_in_failed_after_the_attempts,
    webhooks_are_listed_deleted_and_checked,
    a_restart_mid_retry_loses_nothing,
    internal_webhook_targets_are_refused_unless_allowed,
);

/// Two monitor replicas (own connections, one database and Redis): each
/// anomaly reaches the receiver once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_anomaly_once() {
    let env = TestEnv::new(Kind::Production).await;
    let receiver = Receiver::start(&[]).await;
    let infer = start_infer(env.connect().await).await;
    let one = start_monitor_with(env.connect().await, settings(8, 20)).await;
    let two = start_monitor_with(env.connect().await, settings(8, 20)).await;
    let hook = register(&one, json!({"url": receiver.url, "mode": "anomaly"})).await;
    let id = hook["id"].as_str().expect("id");
    let series = 20;
    for s in 0..series {
        spike(&infer, &format!("s{s}"), 1_000_000).await;
    }
    let deliveries = deliveries_until(&two, id, |d| d.len() == series && finished(d)).await;
    assert!(deliveries.iter().all(|d| d["status"] == "delivered"), "{deliveries:#?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut series_seen: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).expect("JSON")["series_id"].as_str().expect("id").to_owned())
        .collect();
    series_seen.sort();
    let mut expected: Vec<String> = (0..series).map(|s| format!("s{s}")).collect();
    expected.sort();
    assert_eq!(series_seen, expected, "each anomaly delivered once");
}
