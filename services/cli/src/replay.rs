//! `anomaly replay`: sends series to `POST /ingest/{series_id}` in batches,
//! paced by a rate (points per second) or by the data's own clock sped up,
//! with a progress bar.

use crate::series_file::SeriesFile;
use anyhow::{Context, bail};
use indicatif::ProgressBar;
use std::time::{Duration, Instant};

/// How to send.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The infer service, e.g. `http://127.0.0.1:8001`.
    pub url: String,
    /// Points per second over all series; `None`: as fast as the service takes them.
    pub rate: Option<f64>,
    /// Replay each series on its own clock, this many times faster than real time.
    pub speedup: Option<f64>,
    /// Most points per request.
    pub batch: usize,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Series sent.
    pub series: usize,
    /// Points the service accepted.
    pub points: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Sends every series in turn; stops at the first refused request.
pub async fn replay(all: &[SeriesFile], options: &ReplayOptions, progress: &ProgressBar) -> anyhow::Result<Summary> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut sent = 0u64;
    for series in all {
        let url = format!("{}/ingest/{}", options.url.trim_end_matches('/'), series.series_id);
        let file_started = Instant::now();
        let first_time = series.timestamps.first().copied().unwrap_or(0);
        let mut next = 0;
        while next < series.values.len() {
            let mut end = (next + options.batch.max(1)).min(series.values.len());
            if let Some(speedup) = options.speedup {
                // Send what is due on the sped-up clock (at least one point).
                let due =
                    |i: usize| Duration::from_secs_f64(((series.timestamps[i] - first_time) as f64 / speedup).max(0.0));
                tokio::time::sleep_until((file_started + due(next)).into()).await;
                let now = file_started.elapsed();
                end = (next + 1..end).find(|&i| due(i) > now).unwrap_or(end);
            }
            if let Some(rate) = options.rate {
                tokio::time::sleep_until((started + Duration::from_secs_f64(sent as f64 / rate)).into()).await;
            }
            let body =
                serde_json::json!({ "timestamps": &series.timestamps[next..end], "values": &series.values[next..end] });
            let response = client.post(&url).json(&body).send().await.with_context(|| format!("sending to {url}"))?;
            let status = response.status();
            if status != reqwest::StatusCode::ACCEPTED {
                let text = response.text().await.unwrap_or_default();
                bail!("{url} answered {status} for points {next}..{end} of {}: {text}", series.series_id);
            }
            let accepted = (end - next) as u64;
            sent += accepted;
            progress.inc(accepted);
            next = end;
        }
    }
    Ok(Summary { series: all.len(), points: sent, elapsed: started.elapsed() })
}
