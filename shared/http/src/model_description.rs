//! The JSON description of a stored model version, shared by train (the
//! fit answer) and monitor (`/models`).

use anomaly_core::ModelRecord;
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One stored model version, as fit answers it and `/models` lists it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelDescription {
    /// The series fitted.
    #[schema(example = "cpu.host-1")]
    pub series_id: String,
    /// The new version, `v1`, `v2`, ...
    #[schema(example = "v3")]
    pub version: String,
    /// Same as `version`.
    #[schema(example = "v3")]
    pub model_version: String,
    /// Number of training points.
    pub points_used: u64,
    /// Training mean.
    pub mean: f64,
    /// Training population standard deviation.
    pub std: f64,
    /// The multiplier k.
    pub threshold: f64,
    /// `two_sided`, `upper` or `lower`.
    pub direction: String,
    /// The detector: its kind and parameters, e.g.
    /// `{"kind": "rolling_zscore", "window": 50, "threshold": 3.0}`.
    #[schema(value_type = Object, example = json!({"kind": "three_sigma", "threshold": 3.0, "direction": "two_sided"}))]
    pub detector: serde_json::Value,
    /// When the version was stored (RFC 3339, UTC).
    #[schema(example = "2026-11-22T10:00:00.000Z")]
    pub trained_at: String,
    /// Same instant as `trained_at`, under the name the original system's
    /// clients read.
    #[schema(example = "2026-11-22T10:00:00.000Z")]
    pub timestamp: String,
}

impl From<&ModelRecord> for ModelDescription {
    fn from(record: &ModelRecord) -> Self {
        let trained_at = rfc3339_millis(record.trained_at_ms);
        Self {
            series_id: record.series_id.to_string(),
            version: record.version.to_string(),
            model_version: record.version.to_string(),
            points_used: record.params.points_used,
            mean: record.params.mean,
            std: record.params.std,
            threshold: record.params.threshold(),
            direction: record.params.direction().as_str().to_owned(),
            detector: serde_json::to_value(record.params.model.config()).unwrap_or_default(),
            timestamp: trained_at.clone(),
            trained_at,
        }
    }
}

/// Unix milliseconds as RFC 3339 in UTC with milliseconds (`2026-11-22T10:00:00.000Z`).
pub fn rfc3339_millis(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap_or_default()
}
