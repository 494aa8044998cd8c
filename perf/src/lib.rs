//! Shared pieces of the load tests: series names, request bodies, and
//! seeding series through `POST /fit`.

use futures::StreamExt;

/// The body of every predict request (value 12.5: normal for seeded series).
pub const PREDICT_BODY: &str = r#"{"timestamp":"1609459500","value":12.5}"#;

/// A fit body of `points` points around 10 with a small spread.
pub fn fit_body(points: usize) -> String {
    let timestamps: Vec<i64> = (0..points as i64).map(|i| 1_600_000_000 + 60 * i).collect();
    let values: Vec<f64> = (0..points).map(|i| 10.0 + (i % 7) as f64 * 0.5).collect();
    serde_json::json!({ "timestamps": timestamps, "values": values }).to_string()
}

/// Fits `names` on `fit_host` (`http://host:port`), 32 at a time.
pub async fn seed(fit_host: &str, names: Vec<String>, points: usize) -> Result<(), String> {
    let client = reqwest::Client::new();
    let body = fit_body(points);
    let results = futures::stream::iter(names)
        .map(|name| {
            let request = client
                .post(format!("{fit_host}/fit/{name}"))
                .header("content-type", "application/json")
                .body(body.clone());
            async move {
                let response = request.send().await.map_err(|e| format!("fit {name}: {e}"))?;
                match response.status().is_success() {
                    true => Ok(()),
                    false => Err(format!("fit {name}: HTTP {}", response.status())),
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    results.into_iter().collect()
}
