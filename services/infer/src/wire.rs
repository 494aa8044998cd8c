//! The JSON shapes of `POST /predict`, as the public contract names them.

use anomaly_core::{ValidationError, parse_timestamp};
use axum::Json;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// One point to judge.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"timestamp": "1609459500", "value": 25.5}))]
pub struct PredictRequest {
    /// Unix seconds: a string of digits (as the contract sends it) or a
    /// non-negative integer.
    #[schema(schema_with = timestamp_schema, example = "1609459500")]
    pub timestamp: serde_json::Value,
    /// The observed value.
    pub value: f64,
}

/// The documented shape of `timestamp`: digits in a string, or an integer >= 0.
fn timestamp_schema() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[0-9]{1,18}$")))
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
        .build()
        .into()
}

impl PredictRequest {
    /// The timestamp as Unix seconds.
    pub fn unix_seconds(&self) -> Result<i64, ValidationError> {
        match &self.timestamp {
            serde_json::Value::String(text) => parse_timestamp(text),
            // A whole number written as 1609459500.0 is still whole seconds.
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e18).map(|f| f as i64))
                .filter(|t| *t >= 0)
                .ok_or_else(|| ValidationError::InvalidTimestamp(n.to_string())),
            other => Err(ValidationError::InvalidTimestamp(other.to_string().chars().take(40).collect())),
        }
    }
}

/// The verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictResponse {
    /// True when the value is outside the model's band.
    pub anomaly: bool,
    /// The version that judged it.
    #[schema(example = "v3")]
    pub model_version: String,
    /// The series.
    pub series_id: String,
    /// The timestamp, as Unix seconds in a string (as the request sent it).
    #[schema(example = "1609459500")]
    pub timestamp: String,
    /// The value judged.
    pub value: f64,
    /// z = (value - mean) / std; `null` if it overflows.
    pub score: Option<f64>,
    /// The graded anomaly score in [0, 1], the same scale for every
    /// detector: 0 at normal, 0.5 at the edge of the band (flagged from
    /// 0.5), approaching 1 far past it.
    #[schema(example = 0.62, minimum = 0.0, maximum = 1.0)]
    pub anomaly_score: f64,
    /// The multiplier k of the band.
    pub threshold: f64,
    /// `two_sided`, `upper` or `lower`.
    pub direction: &'static str,
}

/// A verdict's JSON without its series id is under this many bytes.
const VERDICT_BYTES: usize = 320;

impl IntoResponse for PredictResponse {
    /// The JSON written into a buffer sized for it up front: axum's `Json`
    /// starts at 128 bytes and grows once for a verdict, a `realloc` per
    /// request that under load also wakes glibc's arena lock.
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(VERDICT_BYTES + self.series_id.len());
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            // Not reached (every field serializes); axum's own answer if it were.
            Err(_) => Json(self).into_response(),
        }
    }
}

/// `?version=` of a predict call.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// `v3`, `V3` or `3`; omitted means the latest version.
    #[param(pattern = r"^[vV]?0*[1-9][0-9]{0,8}$")]
    pub version: Option<String>,
}
