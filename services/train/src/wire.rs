//! The JSON shapes of `POST /fit`, as the public contract names them.

use serde::Deserialize;
use utoipa::ToSchema;

/// A training series and optional model settings.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"timestamps": [1609459200, 1609459260, 1609459320, 1609459380], "values": [20.1, 21.4, 19.8, 20.6]}))]
pub struct FitRequest {
    /// Unix seconds, >= 0, strictly ascending, as many as `values`.
    #[schema(min_items = 1)]
    pub timestamps: Vec<i64>,
    /// The observed values, finite numbers, not all equal; at least
    /// MIN_TRAINING_POINTS (default 3).
    #[schema(min_items = 1)]
    pub values: Vec<f64>,
    /// The multiplier k of the band `mean ± k·std`: > 0 and at most 1e6. Default 3.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0, maximum = 1e6)]
    pub threshold: Option<f64>,
    /// `two_sided` (default: spikes and drops), `upper` (the original
    /// reference model `x > mean + k·std`) or `lower`.
    #[serde(default)]
    pub direction: Option<String>,
}

/// The stored model version (shared with monitor's `/models`).
pub type FitResponse = anomaly_http::ModelDescription;
