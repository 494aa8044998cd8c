//! Shared pieces of the load tests: series names, request bodies, and
//! seeding series through `POST /fit`.

pub mod baseline;

use futures::StreamExt;

/// The body of every predict request (value 12.5: normal for seeded series).
pub const PREDICT_BODY: &str = r#"{"timestamp":"1609459500","value":12.5}"#;

/// A fit body of `points` points around 10 with a small spread.
pub fn fit_body(points: usize) -> String {
    fit_series(points).to_string()
}

fn fit_series(points: usize) -> serde_json::Value {
    let timestamps: Vec<i64> = (0..points as i64).map(|i| 1_600_000_000 + 60 * i).collect();
    let values: Vec<f64> = (0..points).map(|i| 10.0 + (i % 7) as f64 * 0.5).collect();
    serde_json::json!({ "timestamps": timestamps, "values": values })
}

/// Points in a seeded series: enough for every detector's warm-up, and for
/// online detectors to fill the state they carry (novelty's seasonal ring
/// holds the last 336 values).
pub const SEED_POINTS: usize = 1_000;

/// Fits `names` on `fit_host` (`http://host:port`), 32 at a time, each with
/// [`SEED_POINTS`] points and the detector `kind` (default: the fit's own).
pub async fn seed(fit_host: &str, names: Vec<String>, kind: Option<&str>) -> Result<(), String> {
    let client = reqwest::Client::new();
    let mut body = fit_series(SEED_POINTS);
    if let Some(kind) = kind {
        body["detector"] = serde_json::json!({ "kind": kind });
    }
    let body = body.to_string();
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
