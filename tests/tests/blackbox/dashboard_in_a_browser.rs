//! The dashboard in a real browser: headless Chromium opens every page of a
//! platform that has fitted the sample datasets and judged points (some
//! anomalous), and checks that each page loads without console errors or
//! failed requests, is styled, and that each chart is a non-empty SVG.
//! Screenshots go to `tests/screenshots/` (ignored by git).

use blackbox_tests::*;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::log::{self, EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::js_protocol::runtime::{ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DATASETS: [&str; 3] = ["art_daily_jumpsup", "ec2_cpu_utilization_825cc2", "nyc_taxi"];

/// What a page reports about itself once loaded.
const INSPECT: &str = r#"(() => ({
    title: document.title,
    background: getComputedStyle(document.body).backgroundColor,
    rows: document.querySelectorAll('tbody tr').length,
    svgs: [...document.querySelectorAll('svg')].map(svg => ({
        width: svg.getBoundingClientRect().width,
        height: svg.getBoundingClientRect().height,
        shapes: svg.querySelectorAll('circle, polyline, path, rect, line, polygon').length,
    })),
}))()"#;

fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(path.exists(), "{path:?} is missing: `make test` installs the Debian package chromium");
    path
}

async fn fit_datasets_and_predict(platform: &Platform) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dataset");
    for name in DATASETS {
        let body: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(format!("{name}.fit.json"))).expect("dataset"))
                .expect("JSON");
        let model = fit(&platform.train, name, &body).await;
        let (mean, std) = (model["mean"].as_f64().expect("mean"), model["std"].as_f64().expect("std"));
        let last = body["timestamps"].as_array().and_then(|t| t.last()).and_then(Value::as_i64).expect("timestamps");
        for i in 0..30 {
            let value = if i % 10 == 9 { mean + 8.0 * std } else { mean + std * ((i % 5) as f64 - 2.0) / 2.0 };
            let point = json!({ "timestamp": last + 300 * (i + 1), "value": value });
            let (status, verdict) = post_json(&format!("{}/predict/{name}", platform.infer.url), &point).await;
            assert_eq!(status, StatusCode::OK, "{verdict}");
        }
    }
    // The history is written in the background: wait until all anomalies are in.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, page) = get_json(&format!("{}/anomalies", platform.monitor.url)).await;
        let seen = page["predictions"].as_array().map_or(0, Vec::len);
        if seen >= 9 || Instant::now() > deadline {
            assert_eq!(seen, 9, "{page}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Streams `body` into `series`.
async fn ingest(platform: &Platform, series: &str, body: &Value) {
    let (status, answer) = post_json(&format!("{}/ingest/{series}", platform.infer.url), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_page_renders_in_chromium() {
    let env = TestEnv::new(Kind::Embedded).await;
    let platform = Platform::start(&env).await;
    fit_datasets_and_predict(&platform).await;
    // A webhook nobody answers, with a test delivery that fails at once.
    let (status, hook) =
        post_json(&format!("{}/webhooks", platform.monitor.url), &json!({"url": "http://127.0.0.1:9/hook"})).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let test_delivery = format!("{}/webhooks/{}/test", platform.monitor.url, hook["id"].as_str().expect("id"));
    assert_eq!(post_json(&test_delivery, &json!({})).await.0, StatusCode::ACCEPTED);

    let profile = tempfile::tempdir().expect("profile dir");
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1280, 1000)
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
        ])
        .build()
        .expect("browser config");
    let (mut browser, mut handler) = Browser::launch(config).await.expect("chromium starts");
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });

    let page = browser.new_page("about:blank").await.expect("page");
    page.execute(log::EnableParams::default()).await.expect("log domain");
    let problems = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut console = page.event_listener::<EventConsoleApiCalled>().await.expect("console events");
    let mut exceptions = page.event_listener::<EventExceptionThrown>().await.expect("exception events");
    let mut entries = page.event_listener::<EventEntryAdded>().await.expect("log events");
    let collector = tokio::spawn({
        let problems = problems.clone();
        async move {
            loop {
                let problem = tokio::select! {
                    Some(event) = console.next() => matches!(event.r#type, ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert)
                        .then(|| format!("console.{:?}: {:?}", event.r#type, event.args.iter().map(|a| a.value.clone()).collect::<Vec<_>>())),
                    Some(event) = exceptions.next() => Some(format!("exception: {}", event.exception_details.text)),
                    Some(event) = entries.next() => (event.entry.level == LogEntryLevel::Error)
                        .then(|| format!("log: {} {}", event.entry.text, event.entry.url.clone().unwrap_or_default())),
                    else => break,
                };
                if let Some(problem) = problem {
                    problems.lock().expect("lock").push(problem);
                }
            }
        }
    });

    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot dir");
    let monitor = &platform.monitor.url;
    // (name, path, charts expected at least, table rows expected at least)
    let pages = [
        ("overview", "/".to_owned(), 6, 0),
        ("series-list", "/dashboard/series?sort=points_used&order=desc".to_owned(), 0, 3),
        ("series", "/dashboard/series/nyc_taxi".to_owned(), 1, 30),
        ("series-v1", "/dashboard/series/art_daily_jumpsup?version=v1".to_owned(), 1, 30),
        ("anomalies", "/dashboard/anomalies".to_owned(), 0, 9),
        ("live", "/dashboard/live".to_owned(), 0, 9),
        ("webhooks", "/dashboard/webhooks".to_owned(), 0, 2),
    ];
    for (name, path, charts, rows) in pages {
        let url = format!("{monitor}{path}");
        page.goto(url.as_str()).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        page.wait_for_navigation().await.expect("loaded");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let report: Value = page.evaluate(INSPECT).await.expect("evaluated").into_value().expect("report");
        assert!(report["title"].as_str().is_some_and(|t| t.ends_with("anomaly monitor")), "{url}: {report}");
        assert_eq!(report["background"], "rgb(246, 247, 249)", "{url}: the stylesheet applies");
        let svgs = report["svgs"].as_array().cloned().unwrap_or_default();
        assert!(svgs.len() >= charts, "{url}: {} charts, expected {charts}: {report}", svgs.len());
        for svg in &svgs {
            let drawn = svg["width"].as_f64() > Some(100.0) && svg["height"].as_f64() > Some(100.0);
            assert!(drawn && svg["shapes"].as_u64() > Some(10), "{url}: an empty chart: {svg}");
        }
        assert!(report["rows"].as_u64() >= Some(rows), "{url}: {report}");
        let shot = ScreenshotParams::builder().full_page(true).build();
        page.save_screenshot(shot, screenshots.join(format!("{name}.png"))).await.expect("screenshot");
        let seen = std::mem::take(&mut *problems.lock().expect("lock"));
        assert!(seen.is_empty(), "{url}: {seen:#?}");
    }

    // A label button changes the row, and the label is stored.
    page.goto(format!("{monitor}/dashboard/anomalies").as_str()).await.expect("anomalies page");
    page.wait_for_navigation().await.expect("loaded");
    let first_row = "document.querySelector('#anomaly-rows tr.anomaly')";
    let id: String = page
        .evaluate(format!("{first_row}.querySelector('form.label-form').dataset.id"))
        .await
        .expect("id")
        .into_value()
        .expect("text");
    page.evaluate(format!("{first_row}.querySelector('button[value=false_positive]').click()")).await.expect("clicked");
    let clicked = Instant::now();
    loop {
        let state: Value = page
            .evaluate(format!("(() => {{ const r = {first_row}; return [r.dataset.label, r.querySelector('.label-state').textContent]; }})()"))
            .await
            .expect("state")
            .into_value()
            .expect("json");
        if state == json!(["false_positive", "false alarm"]) {
            break;
        }
        assert!(clicked.elapsed() < Duration::from_secs(5), "the row never changed: {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, listed) = get_json(&format!("{monitor}/anomalies?label=false_positive")).await;
    assert_eq!(listed["predictions"][0]["id"].as_str(), Some(id.as_str()), "stored: {listed}");
    page.reload().await.expect("reloaded");
    page.wait_for_navigation().await.expect("loaded");
    let shown: String = page
        .evaluate(format!("{first_row}.querySelector('.label-state').textContent"))
        .await
        .expect("state")
        .into_value()
        .expect("text");
    assert_eq!(shown, "false alarm", "the page renders the stored label");
    let seen = std::mem::take(&mut *problems.lock().expect("lock"));
    assert!(seen.is_empty(), "labelling: {seen:#?}");

    // The live page, open: a spike ingested now appears without a reload.
    page.goto(format!("{monitor}/dashboard/live").as_str()).await.expect("live page");
    page.wait_for_navigation().await.expect("loaded");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status: String = page
        .evaluate("document.getElementById('live-status').textContent")
        .await
        .expect("status")
        .into_value()
        .expect("text");
    assert_eq!(status, "live", "the page follows /events");
    let timestamps: Vec<i64> = (0..60).map(|i| 1_700_000_000 + 60 * i).collect();
    let values: Vec<f64> = (0..60).map(|i| if i == 55 { 500.0 } else { 10.0 + (i % 3) as f64 }).collect();
    let ingested = Instant::now();
    ingest(&platform, "spiky", &json!({"timestamps": timestamps, "values": values})).await;
    let newest_row = "document.querySelector('#anomaly-rows tr')?.textContent ?? ''";
    loop {
        let row: String = page.evaluate(newest_row).await.expect("row").into_value().expect("text");
        if row.contains("spiky") {
            assert!(row.contains("500") && row.contains("stream"), "{row}");
            println!("ingest to a row on the live page: {:?}", ingested.elapsed());
            break;
        }
        assert!(ingested.elapsed() < Duration::from_secs(10), "the spike never appeared on the live page: {row}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A hostile prediction (the largest value, the last representable second)
    // reaches the open page as a row too, without a script error.
    let hostile = json!({"timestamp": i64::MAX, "value": f64::MAX});
    let (status, verdict) = post_json(&format!("{}/predict/nyc_taxi", platform.infer.url), &hostile).await;
    assert_eq!((status, &verdict["anomaly"]), (StatusCode::OK, &json!(true)), "{verdict}");
    loop {
        let row: String = page.evaluate(newest_row).await.expect("row").into_value().expect("text");
        if row.contains("nyc_taxi") && row.contains("1.798e308") {
            break;
        }
        assert!(ingested.elapsed() < Duration::from_secs(15), "the hostile anomaly never appeared: {row}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shot = ScreenshotParams::builder().full_page(true).build();
    page.save_screenshot(shot, screenshots.join("live-after-spike.png")).await.expect("screenshot");
    let seen = std::mem::take(&mut *problems.lock().expect("lock"));
    assert!(seen.is_empty(), "live page: {seen:#?}");

    // Its link: the page of a series that only streams shows its stream state.
    page.goto(format!("{monitor}/dashboard/series/spiky").as_str()).await.expect("series page");
    page.wait_for_navigation().await.expect("loaded");
    let text: String =
        page.evaluate("document.querySelector('main').innerText").await.expect("text").into_value().expect("text");
    for expected in ["rolling_zscore (the platform default)", "points judged", "60", "spiky", "stream"] {
        let found = text.to_lowercase().contains(expected);
        assert!(found, "{expected:?} missing from the stream-only series page: {text}");
    }

    // Its history: the stored points drawn as a band and a mean line, the
    // spike marked and linked to its row.
    let spike = 1_700_000_000 + 60 * 55;
    let history = format!(
        "(() => ({{ band: !!document.querySelector('#history-chart polygon.range'), \
        mean: !!document.querySelector('#history-chart polyline.mean'), \
        marks: document.querySelectorAll('#history-chart a circle.anomaly').length, \
        link: document.querySelector('#history-chart a')?.getAttribute('href') ?? '', \
        row: (document.getElementById('point-{spike}')?.textContent ?? '') }}))()"
    );
    let drawn: Value = page.evaluate(history.as_str()).await.expect("history").into_value().expect("json");
    assert_eq!((&drawn["band"], &drawn["mean"], &drawn["marks"]), (&json!(true), &json!(true), &json!(1)), "{drawn}");
    assert_eq!(drawn["link"], format!("#point-{spike}"), "{drawn}");
    assert!(drawn["row"].as_str().is_some_and(|row| row.contains("500")), "{drawn}");

    // Its live chart starts with the stored points and follows the points
    // judged from now on, hostile values included.
    let mut next = 1_700_000_000 + 60 * 60;
    let chart = "(() => { const line = document.querySelector('#live-chart polyline'); \
        return { points: line ? line.getAttribute('points').trim().split(' ').filter(Boolean).length : 0, \
        coordinates: line ? line.getAttribute('points') : '', \
        anomalies: document.querySelectorAll('#live-chart circle.anomaly').length, \
        status: document.getElementById('live-chart-status').textContent, \
        gap_shown: !document.getElementById('live-chart-missed').hidden && \
            getComputedStyle(document.getElementById('live-chart-missed')).display !== 'none' }; })()";
    let read_chart = async || -> Value { page.evaluate(chart).await.expect("chart").into_value().expect("json") };
    let seeded = read_chart().await["points"].clone();
    assert_eq!(seeded, 60, "the live chart starts with the stored points");
    // One point at a time until the chart has one more: the stream has seen the watch.
    let watched = Instant::now();
    while read_chart().await["points"] == seeded {
        ingest(&platform, "spiky", &json!({"timestamp": next, "value": 11.0})).await;
        next += 60;
        assert!(watched.elapsed() < Duration::from_secs(10), "the live chart never received a verdict");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = read_chart().await["points"].as_u64().expect("count");
    let timestamps: Vec<i64> = (0..40).map(|i| next + 60 * i).collect();
    let mut values: Vec<f64> = (0..40).map(|i| 10.0 + (i % 3) as f64).collect();
    values[30] = 800.0;
    values[38] = f64::MAX;
    values[39] = -f64::MAX;
    let ingested = Instant::now();
    ingest(&platform, "spiky", &json!({"timestamps": timestamps, "values": values})).await;
    loop {
        let drawn = read_chart().await;
        if drawn["points"].as_u64() == Some(before + 40) {
            let coordinates = drawn["coordinates"].as_str().unwrap_or_default();
            assert!(!coordinates.contains("NaN") && !coordinates.contains("Infinity"), "{drawn}");
            assert!(drawn["anomalies"].as_u64() >= Some(2), "the spike and the extreme values are marked: {drawn}");
            assert!(drawn["status"].as_str().is_some_and(|s| s.contains("-1.798e308")), "{drawn}");
            assert_eq!(drawn["gap_shown"], false, "no verdict was missed, so no gap is announced: {drawn}");
            println!("ingest to the live chart: {:?}", ingested.elapsed());
            break;
        }
        assert!(ingested.elapsed() < Duration::from_secs(10), "the chart never drew the new points: {drawn}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shot = ScreenshotParams::builder().full_page(true).build();
    page.save_screenshot(shot, screenshots.join("series-streamed.png")).await.expect("screenshot");
    let seen = std::mem::take(&mut *problems.lock().expect("lock"));
    assert!(seen.is_empty(), "stream-only series page: {seen:#?}");

    browser.close().await.expect("closed");
    browser.wait().await.expect("exited");
    collector.abort();
    driver.abort();
}
