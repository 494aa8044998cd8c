//! What the JSON routes and the pages both read: the anomaly and
//! prediction history as listed (one view of a verdict, whichever source
//! found it), and the checks of a history query.

use crate::MonitorState;
use crate::query_params::{check_range, page_limit};
use anomaly_core::SeriesId;
use anomaly_http::ApiError;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_store::{
    AnomalyLabel, AnomalyQuery, FeedAnomaly, Mute, PredictionQuery, PredictionRecord, StreamAnomaly, is_muted,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest page of history answered.
pub const MAX_LIMIT: u32 = 10_000;

/// One recorded verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PredictionView {
    /// The anomaly's stable id (the same in the listings, the feed and
    /// webhooks; `PUT /anomalies/{id}/label` takes it). Opaque.
    #[schema(example = "s.1700015000.0.novelty.temp")]
    pub id: String,
    /// The series.
    pub series_id: String,
    /// The point's timestamp, Unix seconds.
    pub timestamp: i64,
    /// The point's value.
    pub value: f64,
    /// The verdict.
    pub anomaly: bool,
    /// The z score, when finite.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1], the same scale for every
    /// detector (flagged from 0.5); `null` for verdicts stored before it existed.
    #[schema(example = 0.62)]
    pub anomaly_score: Option<f64>,
    /// The version that judged it; `null` for the stream's default detector.
    #[schema(example = "v3")]
    pub model_version: Option<String>,
    /// When infer judged it (RFC 3339, UTC).
    pub recorded_at: String,
    /// `predict` or `stream`.
    pub source: String,
    /// The detector kind, for stream anomalies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector: Option<String>,
    /// `true_positive` or `false_positive` once someone labelled it; else `null`.
    #[serde(default)]
    #[schema(example = "true_positive")]
    pub label: Option<String>,
    /// The note given with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_note: Option<String>,
    /// When it was labelled (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_at: Option<String>,
    /// Judged while a mute (`POST /mutes`) covered it: shown, but no
    /// webhook fired for it.
    #[serde(default)]
    pub muted: bool,
}

impl PredictionView {
    /// Marks the view muted when one of `mutes` covers it (judged at `judged_at_ms`).
    pub fn muted_by(mut self, mutes: &[Mute], judged_at_ms: i64) -> Self {
        self.muted = self.anomaly && is_muted(mutes, &self.series_id, judged_at_ms);
        self
    }

    fn with_label(mut self, label: Option<&AnomalyLabel>) -> Self {
        if let Some(label) = label {
            self.label = Some(label.label.as_str().to_owned());
            self.label_note.clone_from(&label.note);
            self.labelled_at = Some(rfc3339_millis(label.labelled_at_ms));
        }
        self
    }
}

impl From<&StreamAnomaly> for PredictionView {
    fn from(anomaly: &StreamAnomaly) -> Self {
        Self {
            id: anomaly.id().to_string(),
            series_id: anomaly.series_id.to_string(),
            timestamp: anomaly.timestamp,
            value: anomaly.value,
            anomaly: true,
            score: anomaly.score,
            anomaly_score: anomaly.anomaly_score,
            model_version: anomaly.version.map(|v| v.to_string()),
            recorded_at: rfc3339_millis(anomaly.recorded_at_ms),
            source: "stream".into(),
            detector: Some(anomaly.detector.clone()),
            ..Self::default()
        }
        .with_label(anomaly.label.as_ref())
    }
}

impl From<&FeedAnomaly> for PredictionView {
    fn from(anomaly: &FeedAnomaly) -> Self {
        Self {
            id: anomaly.id().map(|id| id.to_string()).unwrap_or_default(),
            series_id: anomaly.series_id.clone(),
            timestamp: anomaly.timestamp,
            value: anomaly.value,
            anomaly: true,
            score: anomaly.score,
            anomaly_score: anomaly.anomaly_score,
            model_version: anomaly.model_version.clone(),
            recorded_at: rfc3339_millis(anomaly.recorded_at_ms),
            source: anomaly.source.clone(),
            detector: anomaly.detector.clone(),
            ..Self::default()
        }
    }
}

impl From<&PredictionRecord> for PredictionView {
    fn from(record: &PredictionRecord) -> Self {
        Self {
            id: record.id().to_string(),
            series_id: record.series_id.to_string(),
            timestamp: record.timestamp,
            value: record.value,
            anomaly: record.anomaly,
            score: record.score,
            anomaly_score: record.anomaly_score,
            model_version: Some(record.version.to_string()),
            recorded_at: rfc3339_millis(record.recorded_at_ms),
            source: "predict".into(),
            detector: None,
            ..Self::default()
        }
        .with_label(record.label.as_ref())
    }
}

/// The anomalies `query` selects from the sources `(predict, stream)`
/// asks for, merged: the newest `query.limit` by point time.
pub async fn recent_anomalies(
    state: &MonitorState,
    query: &PredictionQuery,
    (from_predict, from_stream): (bool, bool),
) -> Result<Vec<PredictionView>, ApiError> {
    let mutes = state.backends.mutes.mutes().await?;
    let mut views = Vec::new();
    if from_predict {
        let records = state.backends.predictions.predictions(query).await?;
        views.extend(records.iter().map(|r| PredictionView::from(r).muted_by(&mutes, r.recorded_at_ms)));
    }
    if from_stream {
        let stream_query = AnomalyQuery {
            series_id: query.series_id.clone(),
            from: query.from,
            to: query.to,
            limit: query.limit,
            label: query.label,
        };
        let anomalies = state.backends.streams.stream_anomalies(&stream_query).await?;
        views.extend(anomalies.iter().map(|a| PredictionView::from(a).muted_by(&mutes, a.recorded_at_ms)));
    }
    // Both lists are newest first; merged, the newest `limit` of the two.
    views.sort_by_key(|view| std::cmp::Reverse(view.timestamp));
    views.truncate(query.limit as usize);
    Ok(views)
}

/// Checks the range and limit of a history query.
pub fn prediction_query(
    series_id: Option<SeriesId>,
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<u32>,
    anomalies_only: bool,
) -> Result<PredictionQuery, ApiError> {
    let limit = page_limit(limit, 1000, MAX_LIMIT)?;
    check_range(from, to)?;
    Ok(PredictionQuery { series_id, from, to, anomalies_only, limit, label: None })
}
