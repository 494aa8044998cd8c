//! `anomaly replay`: sends series to `POST /ingest/{series_id}` (or as
//! points messages to a Kafka topic) in batches, paced by a rate (points per
//! second) or by the data's own clock sped up, with a progress bar.

use crate::series_file::SeriesFile;
use anomaly_store::{KafkaClient, KafkaProducer, encode_points_message};
use anyhow::{Context, bail};
use indicatif::ProgressBar;
use std::time::{Duration, Instant};

/// Where the points go.
#[derive(Debug, Clone)]
pub enum ReplayTarget {
    /// The infer service.
    Http {
        /// Its base URL, e.g. `http://127.0.0.1:8001`.
        url: String,
        /// A key with the write scope, when the platform has API keys.
        api_key: Option<String>,
    },
    /// A Kafka topic: one batch message per request-sized batch, keyed by series id.
    Kafka {
        /// The brokers and client properties.
        client: KafkaClient,
        /// The points topic.
        topic: String,
    },
}

/// How to send.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Where to.
    pub target: ReplayTarget,
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

/// An open connection to the target.
enum Sender {
    Http(reqwest::Client, String, Option<String>),
    Kafka(KafkaProducer, String),
}

impl Sender {
    fn open(target: &ReplayTarget) -> anyhow::Result<Self> {
        Ok(match target {
            ReplayTarget::Http { url, api_key } => {
                Self::Http(reqwest::Client::new(), url.trim_end_matches('/').to_owned(), api_key.clone())
            }
            ReplayTarget::Kafka { client, topic } => {
                // Keyed messages only, which all take the first connection.
                Self::Kafka(KafkaProducer::new(client, 1).context("Kafka producer")?, topic.clone())
            }
        })
    }

    /// Sends one batch of `series_id`; returns once accepted.
    async fn send(&self, series_id: &str, timestamps: &[i64], values: &[f64]) -> anyhow::Result<()> {
        match self {
            Self::Http(client, base, api_key) => {
                let url = format!("{base}/ingest/{series_id}");
                let body = serde_json::json!({ "timestamps": timestamps, "values": values });
                let mut request = client.post(&url).json(&body);
                if let Some(key) = api_key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.with_context(|| format!("sending to {url}"))?;
                let status = response.status();
                if status != reqwest::StatusCode::ACCEPTED {
                    let text = response.text().await.unwrap_or_default();
                    bail!("{url} answered {status}: {text}");
                }
            }
            Self::Kafka(producer, topic) => {
                let message = (series_id.to_owned(), encode_points_message(timestamps, values));
                producer.send_all(topic, &[message]).await.with_context(|| format!("producing to {topic}"))?;
            }
        }
        Ok(())
    }
}

/// Sends every series in turn; stops at the first refused batch.
pub async fn replay(all: &[SeriesFile], options: &ReplayOptions, progress: &ProgressBar) -> anyhow::Result<Summary> {
    let sender = Sender::open(&options.target)?;
    let started = Instant::now();
    let mut sent = 0u64;
    for series in all {
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
            sender
                .send(&series.series_id, &series.timestamps[next..end], &series.values[next..end])
                .await
                .with_context(|| format!("points {next}..{end} of {}", series.series_id))?;
            let accepted = (end - next) as u64;
            sent += accepted;
            progress.inc(accepted);
            next = end;
        }
    }
    Ok(Summary { series: all.len(), points: sent, elapsed: started.elapsed() })
}
