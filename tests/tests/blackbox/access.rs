//! Writes need a key, and only what a browser cannot send across sites is
//! read as JSON. With `API_KEYS` set, every operation each OpenAPI document
//! marks as needing `write` or `admin` answers 401 without a key and 403
//! with a weaker one, and nothing else does (so the documents and the
//! server agree); `READ_REQUIRES_KEY=true` closes reads too, not probes.
//! A body not declared `application/json` is 415 and stores nothing; fits
//! beyond `FIT_MAX_BYTES_IN_FLIGHT` are 503 with Retry-After; dashboard
//! pages carry a CSP; `--help` shows no secret.

use blackbox_tests::*;
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const WRITER: &str = "writer-0123456789abcdef";
const ADMIN: &str = "admin-0123456789abcdef";
const READER: &str = "reader-0123456789abcdef";

fn keyed(read_requires_key: bool) -> anomaly_http::HttpArgs {
    anomaly_http::HttpArgs {
        api_keys: Some(format!("{WRITER}:write,{ADMIN}:admin,{READER}:read")),
        read_requires_key,
        ..http_args()
    }
}

/// Sends `method url` with a JSON body and an optional bearer key.
async fn call(method: &str, url: &str, key: Option<&str>) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client().request(method, url).header("content-type", "application/json").body("{}");
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("answered")
}

/// Every operation of a document: method, path with its parameters filled
/// in, and the scope its security requirement names (if it needs one).
fn operations(spec: impl serde::Serialize) -> Vec<(String, String, Option<String>)> {
    let document = serde_json::to_value(spec).expect("serializes");
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let requirements = operation["security"].as_array().cloned().unwrap_or_default();
            let optional = requirements.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty()));
            let scope =
                requirements.iter().find_map(|r| r["api_key"][0].as_str().map(str::to_owned)).filter(|_| !optional);
            let concrete = path.replace("{series_id}", "access_s").replace("{id}", "wh_0000000000000000");
            all.push((method.to_uppercase(), concrete, scope));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_a_key_with_their_scope_as_the_documents_say() {
    let env = TestEnv::new(Kind::Embedded).await;
    let platform = Platform::start_with_http(&env, "rolling_zscore", &keyed(false)).await;
    let services = [
        (train::openapi(), &platform.train.url),
        (infer::openapi(), &platform.infer.url),
        (monitor::openapi(), &platform.monitor.url),
    ];
    let mut guarded = 0;
    for (spec, base) in services {
        for (method, path, scope) in operations(spec) {
            let url = format!("{base}{path}");
            let anonymous = call(&method, &url, None).await;
            let status = anonymous.status();
            match scope.as_deref() {
                Some(scope) => {
                    guarded += 1;
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a key");
                    let challenges: Vec<_> = anonymous.headers().get_all("www-authenticate").iter().collect();
                    assert!(challenges.iter().any(|c| c.as_bytes().starts_with(b"Bearer")), "{method} {path}");
                    let connection = anonymous.headers().get("connection").and_then(|v| v.to_str().ok());
                    assert_eq!(connection, Some("close"), "{method} {path}: refused before its body was read");
                    let body: serde_json::Value = anonymous.json().await.expect("JSON error");
                    assert_eq!(body["error"], "unauthorized");
                    let wrong = call(&method, &url, Some("not-a-configured-key-000")).await.status();
                    assert_eq!(wrong, StatusCode::UNAUTHORIZED, "{method} {path} with an unknown key");
                    let reader = call(&method, &url, Some(READER)).await.status();
                    assert_eq!(reader, StatusCode::FORBIDDEN, "{method} {path} with a read key");
                    let writer = call(&method, &url, Some(WRITER)).await.status();
                    if scope == "admin" {
                        assert_eq!(writer, StatusCode::FORBIDDEN, "{method} {path} with a write key");
                    } else {
                        assert!(!matches!(writer.as_u16(), 401 | 403), "{method} {path} with a write key: {writer}");
                    }
                    let admin = call(&method, &url, Some(ADMIN)).await.status();
                    assert!(!matches!(admin.as_u16(), 401 | 403), "{method} {path} with an admin key: {admin}");
                }
                None => assert!(!matches!(status.as_u16(), 401 | 403), "{method} {path} is open, got {status}"),
            }
        }
    }
    assert!(guarded >= 7, "fit, both ingests and the webhook routes are guarded; saw {guarded}");

    // A fit with the write key is stored and served to anonymous readers.
    let response = client()
        .post(format!("{}/fit/keyed", platform.train.url))
        .bearer_auth(WRITER)
        .json(&series_body(10))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(predict(&platform.infer, "keyed", None, 10.0).await.0, StatusCode::OK);
}

/// POSTs `body` to `url` with an optional bearer key; returns status and JSON.
async fn post_keyed(url: &str, body: serde_json::Value, key: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut request = client().post(url).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("answered");
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

/// With keys set, predict stays open to read, but only a caller holding
/// `write` raises alerts: anonymous and read-key anomalies are stored and
/// listed, and reach neither the live feed nor a webhook.
async fn only_callers_that_may_write_raise_alerts_from_predict(env: TestEnv) {
    let platform = Platform::start_with_http(&env, "rolling_zscore", &keyed(false)).await;
    let (status, _) = post_keyed(&format!("{}/fit/cpu", platform.train.url), series_body(30), Some(WRITER)).await;
    assert_eq!(status, StatusCode::OK);
    let hook = json!({"url": "http://127.0.0.1:9/hook", "mode": "anomaly"});
    let (status, hook) = post_keyed(&format!("{}/webhooks", platform.monitor.url), hook, Some(ADMIN)).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let mut live = SseClient::connect(&format!("{}/events", platform.monitor.url), None).await;

    let predict = format!("{}/predict/cpu", platform.infer.url);
    for (key, value) in [(None, -99_999.0), (Some(READER), -88_888.0), (Some(WRITER), -77_777.0)] {
        let (status, verdict) = post_keyed(&predict, json!({"timestamp": "1609459500", "value": value}), key).await;
        assert_eq!((status, verdict["anomaly"].as_bool()), (StatusCode::OK, Some(true)), "{verdict}");
    }

    // The first alert is the writer's: the two before it raised none.
    let event = live.next_within(Duration::from_secs(10)).await.expect("the writer's anomaly on the live feed");
    assert_eq!(event.json()["value"].as_f64(), Some(-77_777.0), "{event:?}");
    let deliveries = format!("{}/webhooks/{}/deliveries", platform.monitor.url, hook["id"].as_str().expect("id"));
    let listed = async || -> serde_json::Value {
        let response = client().get(&deliveries).bearer_auth(ADMIN).send().await.expect("answered");
        response.json().await.expect("json")
    };
    wait_until("the writer's delivery", 10, async || {
        listed().await["deliveries"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    let listed = listed().await;
    let values: Vec<_> = listed["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|delivery| delivery["payload"]["value"].as_f64())
        .collect();
    assert_eq!(values, [Some(-77_777.0)], "{listed}");
    // All three are in the history all the same.
    let (_, anomalies) = get_json(&format!("{}/anomalies?series_id=cpu&source=predict", platform.monitor.url)).await;
    assert_eq!(anomalies["predictions"].as_array().map(Vec::len), Some(3), "{anomalies}");
}

/// Without keys everyone may write, so every anomalous predict alerts.
async fn without_keys_every_anomalous_predict_raises_an_alert(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "cpu", &series_body(30)).await;
    let mut live = SseClient::connect(&format!("{}/events", platform.monitor.url), None).await;
    let (status, _) = predict(&platform.infer, "cpu", None, -99_999.0).await;
    assert_eq!(status, StatusCode::OK);
    let event = live.next_within(Duration::from_secs(10)).await.expect("the anomaly on the live feed");
    assert_eq!(event.json()["value"].as_f64(), Some(-99_999.0), "{event:?}");
}

on_both_backends!(
    only_callers_that_may_write_raise_alerts_from_predict,
    without_keys_every_anomalous_predict_raises_an_alert
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_can_need_a_key_but_probes_never_do() {
    let env = TestEnv::new(Kind::Embedded).await;
    let platform = Platform::start_with_http(&env, "rolling_zscore", &keyed(true)).await;
    let (status, body) = predict(&platform.infer, "s", None, 1.0).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let with_key = client()
        .post(format!("{}/predict/s", platform.infer.url))
        .bearer_auth(READER)
        .json(&json!({"timestamp": 1, "value": 1.0}))
        .send()
        .await
        .expect("answered");
    assert_eq!(with_key.status(), StatusCode::NOT_FOUND, "a read key reaches the handler");

    // A browser is asked for the key (Basic), and sends it as the password.
    let page = format!("{}/dashboard", platform.monitor.url);
    let anonymous = client().get(&page).send().await.expect("answered");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = anonymous.headers().get_all("www-authenticate").iter().collect();
    assert!(challenges.iter().any(|c| c.as_bytes().starts_with(b"Basic")), "{challenges:?}");
    let browser = client().get(&page).basic_auth("ops", Some(READER)).send().await.expect("answered");
    assert_eq!(browser.status(), StatusCode::OK);
    let webhooks_page = format!("{}/dashboard/webhooks", platform.monitor.url);
    let status = client().get(&webhooks_page).basic_auth("ops", Some(READER)).send().await.expect("answered").status();
    assert_eq!(status, StatusCode::FORBIDDEN, "endpoint URLs can hold secrets: admin only");

    for probe in [
        format!("{}/healthcheck", platform.train.url),
        format!("{}/ready", platform.infer.url),
        format!("{}/metrics", platform.monitor.url),
        format!("{}/openapi.json", platform.monitor.url),
    ] {
        let status = client().get(&probe).send().await.expect("answered").status();
        assert!(!matches!(status.as_u16(), 401 | 403), "{probe} needs no key: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_not_declared_as_json_are_refused_and_store_nothing() {
    let env = TestEnv::new(Kind::Embedded).await;
    let platform = Platform::start(&env).await;
    let body = series_body(10).to_string();
    let targets = [
        format!("{}/fit/cross_site", platform.train.url),
        format!("{}/ingest/cross_site", platform.infer.url),
        format!("{}/predict/cross_site", platform.infer.url),
        format!("{}/webhooks", platform.monitor.url),
    ];
    for url in &targets {
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
            let mut request = client().post(url).body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.expect("answered");
            assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{url} as {content_type:?}");
            let connection = response.headers().get("connection").and_then(|v| v.to_str().ok());
            assert_eq!(connection, Some("close"), "the unread body ends the connection, and it says so");
            let error: serde_json::Value = response.json().await.expect("JSON error");
            assert_eq!(error["error"], "unsupported_media_type");
            assert!(error["message"].as_str().unwrap_or("").contains("application/json"), "{error}");
        }
    }
    let (status, _) = get_json(&format!("{}/models/cross_site", platform.monitor.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no model was stored");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, stream) = get_json(&format!("{}/stream/cross_site", platform.infer.url)).await;
    assert_eq!(stream["points"].as_u64().unwrap_or(0), 0, "no point was ingested: {stream}");
    let (_, webhooks) = get_json(&format!("{}/webhooks", platform.monitor.url)).await;
    assert_eq!(webhooks["webhooks"].as_array().map_or(0, Vec::len), 0, "no webhook was created: {webhooks}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fits_beyond_the_memory_budget_are_told_to_retry() {
    let env = TestEnv::new(Kind::Embedded).await;
    let settings = train::TrainSettings { fit_max_bytes_in_flight: 300_000, ..train_settings(3) };
    let train = run(train::build(env.connect().await, &settings, &http_args()).await.expect("train binds"));
    // A fit whose 200,000-byte body is still arriving holds its share.
    let address = train.url.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).await.expect("connects");
    let head = format!(
        "POST /fit/big HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{{\"timestamps\": ["
    );
    slow.write_all(head.as_bytes()).await.expect("writes");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let big = json!({"timestamps": (0..12_000).collect::<Vec<i64>>(), "values": vec![1.5; 12_000]}).to_string();
    assert!(big.len() > 100_000, "a body that does not fit beside the slow one");
    let url = format!("{}/fit/other", train.url);
    let response = client().post(&url).header("content-type", "application/json").body(big.clone()).send().await;
    let response = response.expect("answered");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
    let error: serde_json::Value = response.json().await.expect("JSON error");
    assert_eq!(error["error"], "fits_busy");
    let (status, _) = post_json(&format!("{}/fit/small", train.url), &series_body(10)).await;
    assert_eq!(status, StatusCode::OK, "small fits still fit beside it");

    drop(slow);
    wait_until("the slow fit's share is given back", 10, async || {
        post_raw(&url, big.clone()).await.0 == StatusCode::UNPROCESSABLE_ENTITY
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_forbid_inline_script_and_framing() {
    let env = TestEnv::new(Kind::Embedded).await;
    let platform = Platform::start(&env).await;
    fit(&platform.train, "csp", &series_body(30)).await;
    for page in [
        "/dashboard",
        "/dashboard/series/csp",
        "/dashboard/live",
        "/dashboard/webhooks",
        "/dashboard/series",
        "/dashboard/anomalies",
    ] {
        let response = client().get(format!("{}{page}", platform.monitor.url)).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let policy = header("content-security-policy");
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{page}: {policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{page}: {policy}");
        assert!(policy.contains("form-action 'self'"), "{page}: the filter forms submit to the monitor");
        assert_eq!(header("x-frame-options"), "DENY", "{page}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{page}");
        let html = response.text().await.expect("page");
        assert!(!html.contains(" style=\"") && !html.contains("<style"), "{page} has inline style");
        let handlers = ["onload=", "onclick=", "onchange=", "onsubmit=", "onerror=", "javascript:"];
        assert!(!html.contains("<script>") && !handlers.iter().any(|h| html.contains(h)), "{page} has inline script");
    }
}

#[test]
fn help_shows_no_secret_setting() {
    let output = std::process::Command::new(platform_binary())
        .arg("--help")
        .env("DATABASE_URL", "postgres://app:hunter2-db@db/anomaly")
        .env("REDIS_URL", "redis://:hunter2-redis@cache:6379")
        .env("API_KEYS", "hunter2-key-0123456789:admin")
        .env("KAFKA_CLIENT_CONFIG", "sasl.username=u,sasl.password=hunter2-kafka")
        .output()
        .expect("platform --help runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for setting in ["DATABASE_URL", "API_KEYS", "KAFKA_CLIENT_CONFIG"] {
        assert!(help.contains(setting), "{setting} in {help}");
    }
    assert!(!help.contains("hunter2"), "a secret is printed:\n{help}");
}
