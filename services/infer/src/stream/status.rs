//! `GET /stream/{series_id}`: what the stream knows about a series, and
//! `GET /ready`: whether this process's worker holds its partitions and is
//! caught up.

use crate::InferState;
use anomaly_core::{OnlineDetector, Verdict};
use anomaly_http::{ApiError, ErrorBody, SeriesIdPath, model_description::rfc3339_millis};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// A series' stream state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesStreamView {
    /// The series.
    pub series_id: String,
    /// The detector judging it: kind and parameters.
    #[schema(value_type = Object, example = json!({"kind": "rolling_zscore", "window": 50, "threshold": 3.0}))]
    pub detector: serde_json::Value,
    /// The fitted version whose detector it is; `null`: the platform default.
    #[schema(example = "v3")]
    pub model_version: Option<String>,
    /// True until the detector has seen enough points to judge.
    pub warming_up: bool,
    /// Points seen of those needed, while warming up.
    pub warm_up: Option<WarmUp>,
    /// Points judged (including warm-up).
    pub points: u64,
    /// Anomalies found.
    pub anomalies: u64,
    /// Points skipped because they were not after the last judged one.
    pub late: u64,
    /// The last judged point.
    pub last_point: Option<LastPoint>,
    /// When the state was last stored (RFC 3339, UTC).
    pub updated_at: String,
}

/// Warm-up progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarmUp {
    /// Points seen.
    pub seen: u64,
    /// Points needed before the first verdict.
    pub needed: u64,
}

/// A judged point.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastPoint {
    /// Unix seconds.
    pub timestamp: i64,
    /// The value.
    pub value: f64,
}

/// The stream state of one series (as of the last stored batch).
#[utoipa::path(
    get,
    path = "/stream/{series_id}",
    tag = "stream",
    params(anomaly_http::SeriesIdParam),
    responses(
        (status = 200, description = "The series' stream state", body = SeriesStreamView),
        (status = 404, description = "No point of this series was judged yet", body = ErrorBody),
        (status = 422, description = "Invalid series id", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn series_stream(
    State(state): State<Arc<InferState>>,
    SeriesIdPath(series_id): SeriesIdPath,
) -> Result<Json<SeriesStreamView>, ApiError> {
    let Some(stream) = state.backends.streams.series_stream(&series_id).await? else {
        return Err(ApiError::NotFound {
            code: "series_not_streamed",
            message: format!("no point of series {series_id} has been judged by the stream yet"),
        });
    };
    let warm_up = match stream.model.judge(0.0) {
        Verdict::WarmingUp { seen, needed } => Some(WarmUp { seen, needed }),
        Verdict::Judged(_) => None,
    };
    Ok(Json(SeriesStreamView {
        series_id: series_id.into_string(),
        detector: serde_json::to_value(stream.model.config()).unwrap_or_default(),
        model_version: stream.version.map(|v| v.to_string()),
        warming_up: warm_up.is_some(),
        warm_up,
        points: stream.points,
        anomalies: stream.anomalies,
        late: stream.late,
        last_point: stream.last_point.map(|(timestamp, value)| LastPoint { timestamp, value }),
        updated_at: rfc3339_millis(stream.updated_ms),
    }))
}

/// Readiness of the stream worker.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Partitions this process's worker owns.
    pub partitions_owned: usize,
    /// Log entries not yet judged, over the owned partitions.
    pub lag_entries: u64,
}

/// 200 when this process's worker holds its partitions, restored their
/// state and is behind by at most `READY_MAX_LAG` entries on each; else 503.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "stream",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready, with the reason", body = Readiness),
    )
)]
pub async fn ready(State(state): State<Arc<InferState>>) -> (StatusCode, Json<Readiness>) {
    let not_ready = |reason: String, owned: usize, lag: u64| {
        let body = Readiness { status: "not_ready", reason: Some(reason), partitions_owned: owned, lag_entries: lag };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    };
    let Some(owned) = state.stream.status.owned() else {
        return not_ready("the stream worker has not claimed its partitions yet".into(), 0, 0);
    };
    let mut lag = 0;
    let mut worst = 0;
    for (partition, position) in &owned {
        let behind = match &state.stream.kafka {
            Some(_) => Ok(state.stream.status.kafka_lag(*partition, *position)),
            None => state.backends.points.entries_after(*partition, *position).await,
        };
        match behind {
            Ok(behind) => {
                lag += behind;
                worst = worst.max(behind);
            }
            Err(error) => return not_ready(format!("the stream log cannot be read: {error}"), owned.len(), lag),
        }
    }
    if worst > state.stream.ready_max_lag {
        let reason = format!("a partition is {worst} entries behind (READY_MAX_LAG is {})", state.stream.ready_max_lag);
        return not_ready(reason, owned.len(), lag);
    }
    (StatusCode::OK, Json(Readiness { status: "ready", reason: None, partitions_owned: owned.len(), lag_entries: lag }))
}
