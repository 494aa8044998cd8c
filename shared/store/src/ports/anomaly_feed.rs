//! The anomaly feed: every anomaly the platform finds, in the order found,
//! for other systems and for the monitor's live feed and webhooks. The
//! Redis stream `{prefix}anomalies`, or an in-process ring on the embedded
//! default. Each entry is one JSON document ([`FeedAnomaly`]) under an
//! ordered id ([`LogPosition`]); readers resume after the last id they saw.
//!
//! The stream worker publishes before the batch that found the anomalies is
//! committed (at least once); infer publishes the anomalous predictions it
//! records, after they are stored.

use crate::ports::anomaly_labels::AnomalyId;
use crate::ports::stream::{LogPosition, StreamAnomaly};
use crate::{PredictionRecord, StoreError};
use anomaly_core::{ModelVersion, SeriesId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One anomaly as published: `{"series_id", "timestamp", "value", "score",
/// "anomaly_score", "detector", "model_version", "recorded_at_ms", "source"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedAnomaly {
    /// The series.
    pub series_id: String,
    /// The point's time, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// Its score, when finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1], the same scale for every
    /// detector; absent from entries written before it existed.
    #[serde(default)]
    pub anomaly_score: Option<f64>,
    /// The detector kind, when known (stream anomalies).
    pub detector: Option<String>,
    /// The fitted version that judged it; `null` for the stream's default detector.
    pub model_version: Option<String>,
    /// When it was judged, Unix milliseconds.
    pub recorded_at_ms: i64,
    /// `stream` or `predict`.
    pub source: String,
}

impl FeedAnomaly {
    /// The stable id of the anomaly; `None` for an entry whose fields do
    /// not make one (a foreign producer's).
    pub fn id(&self) -> Option<AnomalyId> {
        let series_id = SeriesId::parse(&self.series_id).ok()?;
        let version = self.model_version.as_deref().map(ModelVersion::parse).transpose().ok()?;
        match self.source.as_str() {
            "stream" => Some(AnomalyId::Stream {
                series_id,
                timestamp: self.timestamp,
                version,
                detector: self.detector.clone()?,
            }),
            "predict" => Some(AnomalyId::Predict {
                series_id,
                timestamp: self.timestamp,
                version: version?,
                recorded_at_ms: self.recorded_at_ms,
            }),
            _ => None,
        }
    }
}

impl From<&StreamAnomaly> for FeedAnomaly {
    fn from(anomaly: &StreamAnomaly) -> Self {
        Self {
            series_id: anomaly.series_id.to_string(),
            timestamp: anomaly.timestamp,
            value: anomaly.value,
            score: anomaly.score,
            anomaly_score: anomaly.anomaly_score,
            detector: Some(anomaly.detector.clone()),
            model_version: anomaly.version.map(|v| v.to_string()),
            recorded_at_ms: anomaly.recorded_at_ms,
            source: "stream".into(),
        }
    }
}

impl From<&PredictionRecord> for FeedAnomaly {
    fn from(record: &PredictionRecord) -> Self {
        Self {
            series_id: record.series_id.to_string(),
            timestamp: record.timestamp,
            value: record.value,
            score: record.score,
            anomaly_score: record.anomaly_score,
            detector: None,
            model_version: Some(record.version.to_string()),
            recorded_at_ms: record.recorded_at_ms,
            source: "predict".into(),
        }
    }
}

/// One anomaly read back with its position in the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    /// Its position; readers resume after it.
    pub id: LogPosition,
    /// The anomaly.
    pub anomaly: FeedAnomaly,
}

/// What one read of the feed gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedPage {
    /// The entries that parse, oldest first.
    pub entries: Vec<FeedEntry>,
    /// The id of the last entry read, parsed or skipped: readers resume
    /// after it. `None`: nothing was read.
    pub end: Option<LogPosition>,
    /// Entries read that do not parse (a foreign producer's), left out.
    pub skipped: u64,
}

/// Publishes anomalies and reads them back in order.
#[async_trait]
pub trait AnomalyFeed: Send + Sync {
    /// Publishes `anomalies`, in order.
    async fn publish(&self, anomalies: &[FeedAnomaly]) -> Result<(), StoreError>;

    /// Up to `count` entries after `after`, oldest first; when there are
    /// none yet, waits up to `wait` for the next. Entries that do not parse
    /// (a foreign producer's) are left out and counted, and the page's end
    /// moves past them, so no entry stops a reader.
    async fn read_after(&self, after: LogPosition, count: usize, wait: Duration) -> Result<FeedPage, StoreError>;

    /// The id of the newest entry ([`LogPosition::START`] when empty): reading
    /// after it follows what is published from now on.
    async fn last_id(&self) -> Result<LogPosition, StoreError>;
}
