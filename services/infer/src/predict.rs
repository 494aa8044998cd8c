//! `POST /predict/{series_id}?version=`: judge one point.

use crate::wire::VersionQuery;
use crate::{InferState, PredictRequest, PredictResponse};
use anomaly_core::{ModelVersion, SeriesId};
use anomaly_http::{ApiError, ApiJson, ApiQuery, ErrorBody, Scope, SeriesIdPath};
use anomaly_store::PredictionRecord;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::sync::Arc;

/// Whether the caller's key grants the write scope (always, without
/// `API_KEYS`). Reads may be open, but an alert (the anomaly feed, signed
/// webhooks) is a write: only such a caller's anomalous predicts raise one.
pub struct CallerMayWrite(pub bool);

impl FromRequestParts<Arc<InferState>> for CallerMayWrite {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<InferState>) -> Result<Self, Infallible> {
        Ok(Self(state.access.authorize(&parts.headers, Scope::Write).is_ok()))
    }
}

/// Says whether the point is anomalous for the series' model. An anomaly
/// is stored in the history; it is published to the anomaly feed (and so
/// to the live feed and webhooks) only when the caller may write.
#[utoipa::path(
    post,
    path = "/predict/{series_id}",
    tag = "infer",
    params(anomaly_http::SeriesIdParam, VersionQuery),
    request_body = PredictRequest,
    responses(
        (status = 200, description = "The verdict", body = PredictResponse),
        (status = 404, description = "Unknown series or version", body = ErrorBody),
        (status = 408, description = "The body did not arrive whole within REQUEST_BODY_TIMEOUT; connection closed", body = ErrorBody),
        (status = 422, description = "Invalid series id, version or body", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn predict(
    State(state): State<Arc<InferState>>,
    SeriesIdPath(series_id): SeriesIdPath,
    ApiQuery(query): ApiQuery<VersionQuery>,
    CallerMayWrite(alerts): CallerMayWrite,
    ApiJson(request): ApiJson<PredictRequest>,
) -> Result<PredictResponse, ApiError> {
    state.recorder.time(judge(&state, series_id, query, request, alerts)).await
}

async fn judge(
    state: &InferState,
    series_id: SeriesId,
    query: VersionQuery,
    request: PredictRequest,
    alerts: bool,
) -> Result<PredictResponse, ApiError> {
    let version = query.version.as_deref().map(ModelVersion::parse).transpose()?;
    let timestamp = request.timestamp.unix_seconds()?;
    let Some(record) = state.models.find(&series_id, version).await? else {
        let series_exists = version.is_some() && state.models.series_exists(&series_id).await?;
        return Err(ApiError::model_not_found(&series_id, version, series_exists));
    };
    // Against the version's frozen state: a predict never changes what a stream learnt.
    let decision = record.params.model.decide(timestamp, request.value);
    let score = decision.score.is_finite().then_some(decision.score);
    state.history.record(
        PredictionRecord {
            // The cached model's id, not this request's copy: the history
            // keeps the record past the request, and a copy freed then, out
            // of order, fills glibc's fast bins (perf/README.md, #31).
            series_id: record.series_id.clone(),
            version: record.version,
            timestamp,
            value: request.value,
            score,
            anomaly_score: Some(decision.anomaly_score),
            anomaly: decision.anomaly,
            recorded_at_ms: anomaly_store::unix_millis(),
            label: None,
        },
        alerts,
    );
    Ok(PredictResponse {
        anomaly: decision.anomaly,
        model_version: record.version,
        series_id,
        timestamp,
        value: request.value,
        score,
        anomaly_score: decision.anomaly_score,
        threshold: record.params.threshold(),
        direction: record.params.direction().as_str(),
    })
}
