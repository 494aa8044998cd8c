//! The history of predictions: what infer judged, kept for the dashboard
//! and `GET /series/{series_id}/predictions`. Rows are bounded (the oldest
//! are pruned); per-series and per-minute counters outlive them.

use crate::StoreError;
use crate::ports::anomaly_labels::{AnomalyId, AnomalyLabel, LabelFilter};
use anomaly_core::{ModelVersion, SeriesId};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// One judged point.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRecord {
    /// The series.
    pub series_id: SeriesId,
    /// The model version that judged it.
    pub version: ModelVersion,
    /// The point's timestamp, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// The z score, when finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1] (0.5 at the edge of normal; see
    /// `anomaly_core::anomaly_score`); `None` on rows stored before it existed.
    pub anomaly_score: Option<f64>,
    /// The verdict.
    pub anomaly: bool,
    /// When infer judged it, Unix milliseconds.
    pub recorded_at_ms: i64,
    /// What a person said about it (an anomaly), when read back (ignored when written).
    pub label: Option<AnomalyLabel>,
}

impl PredictionRecord {
    /// Its stable id (an anomaly's).
    pub fn id(&self) -> AnomalyId {
        AnomalyId::Predict {
            series_id: self.series_id.clone(),
            timestamp: self.timestamp,
            version: self.version,
            recorded_at_ms: self.recorded_at_ms,
        }
    }
}

/// Which predictions to read: newest (by point timestamp) first.
#[derive(Debug, Clone, Default)]
pub struct PredictionQuery {
    /// One series, or all.
    pub series_id: Option<SeriesId>,
    /// Points at or after this Unix second.
    pub from: Option<i64>,
    /// Points at or before this Unix second.
    pub to: Option<i64>,
    /// Anomalies only.
    pub anomalies_only: bool,
    /// Only anomalies with this label, or none.
    pub label: Option<LabelFilter>,
    /// At most this many.
    pub limit: u32,
}

/// Prediction counters of one series since it was first predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeriesActivity {
    /// Predictions recorded.
    pub predictions: u64,
    /// Of which anomalous.
    pub anomalies: u64,
    /// When the last one was recorded, Unix milliseconds.
    pub last_predicted_ms: i64,
}

impl SeriesActivity {
    /// Adds the verdict `record` of this series.
    pub fn count(&mut self, record: &PredictionRecord) {
        self.add(&Self {
            predictions: 1,
            anomalies: u64::from(record.anomaly),
            last_predicted_ms: record.recorded_at_ms,
        });
    }

    /// Adds the counters of `other`.
    pub fn add(&mut self, other: &Self) {
        self.predictions += other.predictions;
        self.anomalies += other.anomalies;
        self.last_predicted_ms = self.last_predicted_ms.max(other.last_predicted_ms);
    }
}

/// Adds the verdict `record` to `per_minute`, counters by Unix minute:
/// (predictions, anomalies).
pub fn count_in_minute(per_minute: &mut BTreeMap<i64, (u64, u64)>, record: &PredictionRecord) {
    let minute = per_minute.entry(record.recorded_at_ms.div_euclid(60_000)).or_default();
    minute.0 += 1;
    minute.1 += u64::from(record.anomaly);
}

/// Predictions recorded in one minute, platform-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteActivity {
    /// Unix minute (seconds / 60).
    pub minute: i64,
    /// Predictions recorded.
    pub predictions: u64,
    /// Of which anomalous.
    pub anomalies: u64,
}

/// What one write adds: the rows to keep, and the counters of every verdict
/// the batch stands for (kept as a row or not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredictionBatch {
    /// Rows to store.
    pub rows: Vec<PredictionRecord>,
    /// Verdicts by series (key order keeps concurrent writers from deadlocking).
    pub per_series: BTreeMap<SeriesId, SeriesActivity>,
    /// Verdicts by Unix minute: (predictions, anomalies).
    pub per_minute: BTreeMap<i64, (u64, u64)>,
}

impl PredictionBatch {
    /// Adds `record` to the counters (not to the rows).
    pub fn count(&mut self, record: &PredictionRecord) {
        // Look up before inserting: most verdicts are of a series already counted.
        match self.per_series.get_mut(&record.series_id) {
            Some(series) => series,
            None => self.per_series.entry(record.series_id.clone()).or_default(),
        }
        .count(record);
        count_in_minute(&mut self.per_minute, record);
    }

    /// A batch that counts and keeps every one of `records`.
    pub fn of(records: Vec<PredictionRecord>) -> Self {
        let mut batch = Self::default();
        for record in &records {
            batch.count(record);
        }
        batch.rows = records;
        batch
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.per_series.is_empty()
    }
}

/// Durable, bounded prediction history.
#[async_trait]
pub trait PredictionHistory: Send + Sync {
    /// Stores the batch's rows and adds its counters, in one transaction.
    async fn append(&self, batch: &PredictionBatch) -> Result<(), StoreError>;

    /// Deletes the oldest rows beyond `keep`; returns how many went.
    async fn prune(&self, keep: u64) -> Result<u64, StoreError>;

    /// The predictions `query` selects, newest first.
    async fn predictions(&self, query: &PredictionQuery) -> Result<Vec<PredictionRecord>, StoreError>;

    /// The counters of each of `series` (zero for one never predicted), in order.
    async fn series_activity(&self, series: &[SeriesId]) -> Result<Vec<SeriesActivity>, StoreError>;

    /// Per-minute counters from `since_minute` on, oldest first; minutes
    /// without predictions are absent.
    async fn minutes(&self, since_minute: i64) -> Result<Vec<MinuteActivity>, StoreError>;
}
