//! `anomaly eval --platform URL --series ID`: a corpus made of a running
//! platform's own data, so users tune detectors on their own labels. Each
//! series is the points its stream judged and kept (`GET
//! /series/{id}/points`, every page, oldest first), labelled by the stream
//! anomalies someone marked `true_positive` (`GET
//! /anomalies?label=true_positive`); each gets a NAB-sized window. Every
//! other point, `false_positive` ones included, counts as normal.

use super::corpus::{LabelledSeries, windows_around};
use anyhow::{Context, bail};
use serde_json::Value;
use std::collections::HashSet;

/// Points asked for per page (the most `GET /series/{id}/points` gives).
const PAGE: u32 = 10_000;

/// Where the data comes from: monitor's URL and a key with the read scope.
#[derive(Debug, Clone)]
pub struct PlatformSource {
    /// Monitor, e.g. `http://127.0.0.1:8002`.
    pub url: String,
    /// Sent as a Bearer key when set.
    pub api_key: Option<String>,
}

impl PlatformSource {
    async fn get(&self, client: &reqwest::Client, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let mut request = client.get(&url);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {url}: {status} {}", body["message"].as_str().unwrap_or_default());
        }
        Ok(body)
    }

    /// The labelled series of `series_id`.
    pub async fn series(&self, client: &reqwest::Client, series_id: &str) -> anyhow::Result<LabelledSeries> {
        let mut points: Vec<(i64, f64)> = Vec::new();
        let mut after: Option<i64> = None;
        loop {
            let cursor = after.map(|a| format!("&after={a}")).unwrap_or_default();
            let page = self.get(client, &format!("/series/{series_id}/points?limit={PAGE}{cursor}")).await?;
            let rows = page["points"].as_array().context("the points answer has no points")?;
            for row in rows {
                let (Some(timestamp), Some(value)) = (row["timestamp"].as_i64(), row["value"].as_f64()) else {
                    bail!("{series_id}: a point without a timestamp or value: {row}");
                };
                points.push((timestamp, value));
            }
            match page["next_after"].as_i64() {
                Some(next) if !rows.is_empty() => after = Some(next),
                _ => break,
            }
        }
        if points.is_empty() {
            bail!(
                "{series_id} has no stored points: stream it first (POST /ingest), with POINTS_RETENTION_DAYS above 0"
            );
        }
        points.reverse();
        let labelled = format!("/anomalies?series_id={series_id}&source=stream&label=true_positive&limit=10000");
        let real: HashSet<i64> = self.get(client, &labelled).await?["predictions"]
            .as_array()
            .context("the anomalies answer has no list")?
            .iter()
            .filter_map(|anomaly| anomaly["timestamp"].as_i64())
            .collect();
        let labels: Vec<bool> = points.iter().map(|(timestamp, _)| real.contains(timestamp)).collect();
        let (timestamps, values) = points.into_iter().unzip();
        Ok(LabelledSeries::nab(series_id.to_owned(), timestamps, values, windows_around(&labels)))
    }

    /// The corpus of `series`.
    pub async fn corpus(&self, series: &[String]) -> anyhow::Result<Vec<LabelledSeries>> {
        let client = reqwest::Client::new();
        let mut corpus = Vec::with_capacity(series.len());
        for id in series {
            corpus.push(self.series(&client, id).await?);
        }
        Ok(corpus)
    }
}
