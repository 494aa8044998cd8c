//! The JSON shapes of `POST /predict`, as the public contract names them.

use crate::timestamp_field::TimestampField;
use anomaly_core::{ModelVersion, SeriesId};
use axum::Json;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// One point to judge.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"timestamp": "1609459500", "value": 25.5}))]
pub struct PredictRequest {
    /// Unix seconds: a string of digits (as the contract sends it) or a
    /// non-negative integer.
    #[schema(schema_with = timestamp_schema, example = "1609459500")]
    pub timestamp: TimestampField,
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

/// The verdict.
// The version, series id and timestamp are held as values and written as
// JSON strings in place: no string is built for them per request.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictResponse {
    /// True when the value is outside the model's band.
    pub anomaly: bool,
    /// The version that judged it.
    #[schema(value_type = String, example = "v3")]
    #[serde(serialize_with = "version_text")]
    pub model_version: ModelVersion,
    /// The series.
    #[schema(value_type = String)]
    #[serde(serialize_with = "series_text")]
    pub series_id: SeriesId,
    /// The timestamp, as Unix seconds in a string (as the request sent it).
    #[schema(value_type = String, example = "1609459500")]
    #[serde(serialize_with = "number_text")]
    pub timestamp: i64,
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

/// Writes `v3` for version 3, from a buffer on the stack.
fn version_text<S: Serializer>(version: &ModelVersion, serializer: S) -> Result<S::Ok, S::Error> {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(version.number());
    let mut text = [0u8; 11];
    text[0] = b'v';
    text[1..=digits.len()].copy_from_slice(digits.as_bytes());
    serializer.serialize_str(std::str::from_utf8(&text[..=digits.len()]).unwrap_or("v"))
}

/// Writes the series id as it is.
fn series_text<S: Serializer>(series_id: &SeriesId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(series_id.as_str())
}

/// Writes a number as a JSON string of its digits, from a buffer on the stack.
fn number_text<S: Serializer>(number: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(itoa::Buffer::new().format(*number))
}

/// A verdict's JSON without its series id is under this many bytes.
const VERDICT_BYTES: usize = 320;

impl IntoResponse for PredictResponse {
    /// The JSON written into a buffer sized for it up front: axum's `Json`
    /// starts at 128 bytes and grows once for a verdict, a `realloc` per
    /// request that under load also wakes glibc's arena lock.
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(VERDICT_BYTES + self.series_id.as_str().len());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(version: u32, series_id: &str, timestamp: i64) -> PredictResponse {
        PredictResponse {
            anomaly: true,
            model_version: ModelVersion::new(version).expect("a version"),
            series_id: SeriesId::try_from(series_id.to_string()).expect("a series id"),
            timestamp,
            value: 25.5,
            score: None,
            anomaly_score: 0.62,
            threshold: 3.0,
            direction: "two_sided",
        }
    }

    #[test]
    fn the_version_series_and_timestamp_are_written_as_the_contract_s_strings() {
        let json = serde_json::to_value(verdict(3, "cpu.host-1", 1_609_459_500)).expect("serialises");
        assert_eq!(json["model_version"], "v3");
        assert_eq!(json["series_id"], "cpu.host-1");
        assert_eq!(json["timestamp"], "1609459500");
        let widest = serde_json::to_value(verdict(u32::MAX, "s", i64::MAX)).expect("serialises");
        assert_eq!(widest["model_version"], format!("v{}", u32::MAX));
        assert_eq!(widest["timestamp"], i64::MAX.to_string());
    }
}
