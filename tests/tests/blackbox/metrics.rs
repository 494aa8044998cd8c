//! `GET /metrics` on every service: Prometheus text with request counts and
//! latency by route and status, fits, predictions, cache layers and pools.
//! The registry is process-wide: the counts are exact because nextest runs
//! each test in a process of its own (`make test` uses it).

use blackbox_tests::*;

/// The sum of the samples of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let wanted = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape(service: &Running) -> String {
    let response = client().get(format!("{}/metrics", service.url)).send().await.expect("scraped");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

async fn metrics_count_what_happened(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "warm-up", &series_body(5)).await;
    predict(&platform.infer, "warm-up", None, 10.0).await;
    let before = scrape(&platform.infer).await;
    let train_before = scrape(&platform.train).await;

    fit(&platform.train, "m", &series_body(30)).await;
    for value in [10.0, 10.5, 99.0] {
        let (status, _) = predict(&platform.infer, "m", None, value).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = predict(&platform.infer, "unknown", None, 1.0).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let after = scrape(&platform.infer).await;
    let train_after = scrape(&platform.train).await;
    let grew = |name: &str, labels: &[(&str, &str)]| sample(&after, name, labels) - sample(&before, name, labels);

    let predict_ok = [("service", "infer"), ("route", "/predict/{series_id}"), ("status", "200")];
    assert_eq!(grew("anomaly_http_requests_total", &predict_ok), 3.0, "{after}");
    assert_eq!(grew("anomaly_http_request_duration_seconds_count", &predict_ok), 3.0, "{after}");
    let predict_404 = [("service", "infer"), ("route", "/predict/{series_id}"), ("status", "404")];
    assert_eq!(grew("anomaly_http_requests_total", &predict_404), 1.0);
    assert_eq!(grew("anomaly_predictions_total", &[("result", "anomaly")]), 1.0);
    assert_eq!(grew("anomaly_predictions_total", &[("result", "normal")]), 2.0);
    // The first predict of `m` misses the local cache; the next two hit it.
    assert_eq!(grew("anomaly_model_lookups_total", &[("layer", "local"), ("result", "hit")]), 2.0);
    assert!(grew("anomaly_model_lookups_total", &[("layer", "local"), ("result", "miss")]) >= 2.0, "{after}");

    let fit_ok = [("service", "train"), ("route", "/fit/{series_id}"), ("status", "200")];
    let train_grew =
        |name: &str, labels: &[(&str, &str)]| sample(&train_after, name, labels) - sample(&train_before, name, labels);
    assert_eq!(train_grew("anomaly_http_requests_total", &fit_ok), 1.0);
    assert_eq!(train_grew("anomaly_fits_total", &[]), 1.0);
    assert_eq!(train_grew("anomaly_fit_points_total", &[]), 30.0);
    assert!(sample(&after, "anomaly_pool_connections", &[("pool", "database"), ("state", "max")]) >= 1.0);
    if env.kind() == Kind::Production {
        assert!(sample(&after, "anomaly_pool_connections", &[("pool", "redis"), ("state", "max")]) >= 1.0);
    }
    let monitor = scrape(&platform.monitor).await;
    assert!(monitor.contains("anomaly_pool_connections"), "{monitor}");
}

on_both_backends!(metrics_count_what_happened);

/// Every metric the Grafana dashboard queries is one the services export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_queries_exported_metrics() {
    let env = TestEnv::new(Kind::Production).await;
    let platform = Platform::start(&env).await;
    let exported = [scrape(&platform.train).await, scrape(&platform.infer).await, scrape(&platform.monitor).await];
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/dashboards/anomaly.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard read")).expect("dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8, "{path:?}");
    for expr in
        panels.iter().flat_map(|p| p["targets"].as_array().into_iter().flatten()).filter_map(|t| t["expr"].as_str())
    {
        let names =
            expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("anomaly_"));
        for name in names {
            let base = ["_bucket", "_count", "_sum"].iter().fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
            let known = exported.iter().any(|text| text.contains(&format!("# TYPE {base} ")));
            assert!(known, "{expr}: {base} is not exported");
        }
    }
}
