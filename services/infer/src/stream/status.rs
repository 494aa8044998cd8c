//! `GET /stream/{series_id}`: what the stream knows about a series,
//! `GET /ready`: whether this process's worker holds its partitions and is
//! caught up, and the stream section of `/healthcheck` (source up, lag,
//! age of the last commit).

use crate::InferState;
use anomaly_core::{OnlineDetector, Verdict};
use anomaly_http::{ApiError, ErrorBody, SeriesIdPath, StreamHealth, StreamProbe, model_description::rfc3339_millis};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
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
/// state, no partition's batches keep failing (3 in a row) and it is
/// behind by at most `READY_MAX_LAG` entries on each; else 503.
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
    let lag = match Lag::of(&state).await {
        Err(LagUnknown::NotClaimed) => {
            return not_ready("the stream worker has not claimed its partitions yet".into(), 0, 0);
        }
        Err(LagUnknown::Unreadable { owned, error }) => {
            return not_ready(format!("the stream log cannot be read: {error}"), owned, 0);
        }
        Ok(lag) => lag,
    };
    if let Some(stuck) = state.stream.status.stuck().first() {
        let reason = format!(
            "partition {} is stuck: its last {} batches failed, the last with: {}",
            stuck.partition, stuck.failures, stuck.error
        );
        return not_ready(reason, lag.owned, lag.total);
    }
    if lag.worst > state.stream.ready_max_lag {
        let reason =
            format!("a partition is {} entries behind (READY_MAX_LAG is {})", lag.worst, state.stream.ready_max_lag);
        return not_ready(reason, lag.owned, lag.total);
    }
    let body = Readiness { status: "ready", reason: None, partitions_owned: lag.owned, lag_entries: lag.total };
    (StatusCode::OK, Json(body))
}

/// How far the worker is behind on the partitions it owns.
struct Lag {
    owned: usize,
    total: u64,
    worst: u64,
}

/// Why the lag is not known.
enum LagUnknown {
    NotClaimed,
    Unreadable { owned: usize, error: String },
}

impl Lag {
    /// No partition owned.
    const NONE: Self = Self { owned: 0, total: 0, worst: 0 };

    async fn of(state: &InferState) -> Result<Self, LagUnknown> {
        let owned = state.stream.status.owned().ok_or(LagUnknown::NotClaimed)?;
        let mut lag = Self { owned: owned.len(), total: 0, worst: 0 };
        for (partition, position) in &owned {
            let behind = state.stream.source.behind(*partition, *position).await;
            let behind =
                behind.map_err(|error| LagUnknown::Unreadable { owned: owned.len(), error: error.to_string() })?;
            lag.total += behind;
            lag.worst = lag.worst.max(behind);
        }
        Ok(lag)
    }
}

/// The stream section of infer's `/healthcheck`.
pub struct StreamHealthProbe(pub Arc<InferState>);

/// How long the probe waits for the source.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[async_trait::async_trait]
impl StreamProbe for StreamHealthProbe {
    async fn report(&self) -> StreamHealth {
        let state = &self.0;
        let source_up = state.stream.source.answers(PROBE_TIMEOUT);
        let lag = async {
            match Lag::of(state).await {
                Ok(lag) => Some(lag),
                Err(LagUnknown::NotClaimed) => Some(Lag::NONE),
                Err(LagUnknown::Unreadable { .. }) => None,
            }
        };
        let (lag, source_up) = tokio::join!(tokio::time::timeout(PROBE_TIMEOUT, lag), source_up);
        let lag = lag.ok().flatten();
        let readable = lag.is_some();
        let lag = lag.unwrap_or(Lag::NONE);
        let stuck = state.stream.status.stuck();
        let status = match (readable && source_up, stuck.is_empty()) {
            (false, _) => "down",
            (true, false) => "stuck",
            (true, true) => "up",
        };
        StreamHealth {
            source: state.stream.source.name().into(),
            status: status.into(),
            stuck_partitions: stuck,
            partitions_owned: state.stream.status.owned().map_or(0, |owned| owned.len()),
            lag_entries: lag.total,
            worst_partition_lag: lag.worst,
            last_commit_age_seconds: state.stream.status.last_commit_age_seconds(),
        }
    }
}
