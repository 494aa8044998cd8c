//! `POST /ingest/{series_id}` and `POST /ingest`: points into the stream.
//! Validated like a fit (the same 422 catalogue), grouped by partition and
//! appended; the answer (202) comes once the log holds them durably.

use crate::InferState;
use crate::timestamp_field::TimestampField;
use anomaly_core::{SeriesId, TrainingSeries, ValidationError};
use anomaly_http::extract::parse_json;
use anomaly_http::{ApiError, BodyFormat, ErrorBody, JsonBytes, JsonOrNdjsonBytes, SeriesIdPath};
use anomaly_store::StreamPoint;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Points of one series: the fit's shape, or a single point.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"timestamps": [1609459200, 1609459260], "values": [20.1, 21.4]}))]
pub struct IngestRequest {
    /// Unix seconds, >= 0, strictly ascending, as many as `values`.
    pub timestamps: Option<Vec<i64>>,
    /// Finite values.
    pub values: Option<Vec<f64>>,
    /// One point's time instead of the arrays: Unix seconds, digits in a string or an integer.
    #[schema(value_type = Option<Object>)]
    pub timestamp: Option<TimestampField>,
    /// One point's value instead of the arrays.
    pub value: Option<f64>,
}

/// Points of many series.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": [{"series_id": "cpu", "timestamp": 1609459200, "value": 20.1}]}))]
pub struct BatchIngestRequest<'a> {
    /// The points, each series' in ascending time.
    #[serde(borrow)]
    pub points: Vec<BatchPoint<'a>>,
}

/// One point of a many-series ingest (also one NDJSON line).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchPoint<'a> {
    /// The series: 1 to 128 bytes of `[A-Za-z0-9._:-]`.
    #[serde(borrow)]
    #[schema(value_type = String)]
    pub series_id: Cow<'a, str>,
    /// Unix seconds: digits in a string or an integer >= 0.
    #[schema(value_type = Object)]
    pub timestamp: TimestampField,
    /// A finite value.
    pub value: f64,
}

/// What was accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestAccepted {
    /// The series, for `POST /ingest/{series_id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_id: Option<String>,
    /// Points now in the stream.
    pub accepted: usize,
}

/// Appends points of one series to the stream.
#[utoipa::path(
    post,
    path = "/ingest/{series_id}",
    tag = "stream",
    params(anomaly_http::SeriesIdParam),
    request_body = IngestRequest,
    responses(
        (status = 202, description = "Durably in the stream; judged in order by the stream worker", body = IngestAccepted),
        (status = 408, description = "The body did not arrive whole within REQUEST_BODY_TIMEOUT; connection closed", body = ErrorBody),
        (status = 413, description = "Body larger than MAX_BODY_BYTES", body = ErrorBody),
        (status = 422, description = "Invalid series id or points; nothing appended", body = ErrorBody),
        (status = 503, description = "The stream's storage is down", body = ErrorBody),
    )
)]
pub async fn ingest_series(
    State(state): State<Arc<InferState>>,
    SeriesIdPath(series_id): SeriesIdPath,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, Json<IngestAccepted>), ApiError> {
    let request: IngestRequest = parse_json(&body)?;
    let points = series_points(&series_id, request)?;
    let accepted = append(&state, points).await?;
    Ok((StatusCode::ACCEPTED, Json(IngestAccepted { series_id: Some(series_id.into_string()), accepted })))
}

/// Appends points of many series: `{"points": [...]}`, or NDJSON (one
/// point object a line) with `Content-Type: application/x-ndjson`.
#[utoipa::path(
    post,
    path = "/ingest",
    tag = "stream",
    request_body(content(
        (BatchIngestRequest = "application/json"),
        (BatchPoint = "application/x-ndjson"),
    )),
    responses(
        (status = 202, description = "Durably in the stream", body = IngestAccepted),
        (status = 408, description = "The body did not arrive whole within REQUEST_BODY_TIMEOUT; connection closed", body = ErrorBody),
        (status = 413, description = "Body larger than MAX_BODY_BYTES", body = ErrorBody),
        (status = 422, description = "An invalid point, or points of more than INGEST_MAX_SERIES_PER_REQUEST series (`too_many_series`); nothing appended (the message names it)", body = ErrorBody),
        (status = 503, description = "The stream's storage is down", body = ErrorBody),
    )
)]
pub async fn ingest_many(
    State(state): State<Arc<InferState>>,
    JsonOrNdjsonBytes(format, body): JsonOrNdjsonBytes,
) -> Result<(StatusCode, Json<IngestAccepted>), ApiError> {
    let raw: Vec<BatchPoint> = if format == BodyFormat::Ndjson {
        body.split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(parse_json)
            .collect::<Result<_, _>>()?
    } else {
        parse_json::<BatchIngestRequest>(&body)?.points
    };
    if raw.is_empty() {
        return Err(ValidationError::EmptySeries.into());
    }
    let mut groups = SeriesGroups::default();
    let max_series = state.stream.ingest_max_series;
    for point in raw {
        let at = groups.find_or_add(&point.series_id, max_series)?;
        let timestamp = point.timestamp.unix_seconds()?;
        groups.series[at].1.push(timestamp);
        groups.series[at].2.push(point.value);
    }
    let mut points = Vec::new();
    for (series_id, timestamps, values) in groups.series {
        let series = TrainingSeries::new(timestamps, values, 1).map_err(|e| in_series(&series_id, e))?;
        points.extend(to_points(&series_id, &series));
    }
    let accepted = append(&state, points).await?;
    Ok((StatusCode::ACCEPTED, Json(IngestAccepted { series_id: None, accepted })))
}

/// The points of a many-series ingest by series, in the order each series
/// first appears.
#[derive(Default)]
struct SeriesGroups {
    /// Each series with its timestamps and values.
    series: Vec<(SeriesId, Vec<i64>, Vec<f64>)>,
    /// Where each series is in `series`.
    index: HashMap<SeriesId, usize>,
    /// The series of the point before (points of a series often come in a row).
    last: usize,
}

impl SeriesGroups {
    /// Where the series named `name` is, added if new: refused when its
    /// name is invalid or it would be one series more than `max_series`.
    fn find_or_add(&mut self, name: &str, max_series: usize) -> Result<usize, ApiError> {
        if self.series.get(self.last).is_some_and(|(id, ..)| id.as_str() == name) {
            return Ok(self.last);
        }
        let at = match self.index.get(name) {
            Some(&at) => at,
            None => {
                let series_id = SeriesId::parse(name)?;
                if self.series.len() == max_series {
                    return Err(ApiError::BadRequest {
                        code: "too_many_series",
                        message: format!(
                            "this request holds points of more than {max_series} series \
                             (INGEST_MAX_SERIES_PER_REQUEST); send them in several requests"
                        ),
                    });
                }
                self.index.insert(series_id.clone(), self.series.len());
                self.series.push((series_id, Vec::new(), Vec::new()));
                self.series.len() - 1
            }
        };
        self.last = at;
        Ok(at)
    }
}

/// Names the series in a validation message of a many-series ingest.
fn in_series(series_id: &SeriesId, error: ValidationError) -> ApiError {
    ApiError::BadRequest { code: error.code(), message: format!("series {series_id}: {error}") }
}

fn series_points(series_id: &SeriesId, request: IngestRequest) -> Result<Vec<StreamPoint>, ApiError> {
    let (timestamps, values) = match request {
        IngestRequest { timestamps: None, values: None, timestamp: Some(timestamp), value: Some(value) } => {
            (vec![timestamp.unix_seconds()?], vec![value])
        }
        IngestRequest { timestamps, values, timestamp: None, value: None } => {
            (timestamps.unwrap_or_default(), values.unwrap_or_default())
        }
        _ => {
            return Err(ApiError::BadRequest {
                code: "invalid_field",
                message: "send either \"timestamps\" and \"values\", or one \"timestamp\" and \"value\"".into(),
            });
        }
    };
    let series = TrainingSeries::new(timestamps, values, 1)?;
    Ok(to_points(series_id, &series))
}

fn to_points(series_id: &SeriesId, series: &TrainingSeries) -> Vec<StreamPoint> {
    series
        .timestamps()
        .iter()
        .zip(series.values())
        .map(|(t, v)| StreamPoint { series_id: series_id.clone(), timestamp: *t, value: *v })
        .collect()
}

/// Appends `points` through the stream's source, durably.
async fn append(state: &InferState, points: Vec<StreamPoint>) -> Result<usize, ApiError> {
    let accepted = points.len();
    state.stream.source.append(points).await?;
    state.stream.metrics.ingested.increment(accepted as u64);
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_grouped_in_first_seen_order_whatever_the_points_order() {
        let mut groups = SeriesGroups::default();
        let found: Vec<usize> =
            ["b", "a", "b", "b", "c", "a"].iter().map(|name| groups.find_or_add(name, 3).expect("within")).collect();
        assert_eq!(found, [0, 1, 0, 0, 2, 1]);
        let names: Vec<&str> = groups.series.iter().map(|(id, ..)| id.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
    }

    #[test]
    fn a_series_past_the_bound_and_a_bad_id_are_refused() {
        let mut groups = SeriesGroups::default();
        groups.find_or_add("a", 1).expect("the first series");
        assert_eq!(groups.find_or_add("a", 1).expect("the same series"), 0);
        let refused = groups.find_or_add("b", 1).expect_err("a second series");
        assert!(matches!(refused, ApiError::BadRequest { code: "too_many_series", .. }), "{refused:?}");
        let refused = groups.find_or_add("a b", 2).expect_err("not an id");
        assert!(matches!(refused, ApiError::Validation(ValidationError::InvalidSeriesId { .. })), "{refused:?}");
    }
}
