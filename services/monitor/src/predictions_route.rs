//! The prediction history as an API: `GET /series/{series_id}/predictions`
//! (one series, by point time) and `GET /anomalies` (anomalous verdicts
//! across series). Both newest first, over an indexed time range.

use crate::MonitorState;
use crate::query_params::{optional_series_id, page_limit, sources};
use anomaly_core::SeriesId;
use anomaly_http::model_description::rfc3339_millis;
use anomaly_http::{ApiError, ApiQuery, ErrorBody, SeriesIdPath};
use anomaly_store::{AnomalyQuery, FeedAnomaly, PredictionQuery, PredictionRecord, StreamAnomaly};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest page either route answers.
pub const MAX_LIMIT: u32 = 10_000;

/// A time range of point timestamps and a page size.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Points at or after this Unix second; not after `to` (else 422 `invalid_range`).
    pub from: Option<i64>,
    /// Points at or before this Unix second.
    pub to: Option<i64>,
    /// At most this many, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// [`RangeQuery`] plus an optional series and source.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnomaliesQuery {
    /// Only this series.
    #[param(pattern = r"^(?!\.{1,2}$)[A-Za-z0-9._:-]{1,128}$")]
    pub series_id: Option<String>,
    /// `stream` (found by the stream worker) or `predict` (answered by
    /// `POST /predict`); omitted: both, merged by point time.
    #[param(pattern = r"^(stream|predict)$")]
    pub source: Option<String>,
    /// Points at or after this Unix second; not after `to` (else 422 `invalid_range`).
    pub from: Option<i64>,
    /// Points at or before this Unix second.
    pub to: Option<i64>,
    /// At most this many, 1 to 10000 (default 1000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

/// One recorded verdict.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PredictionView {
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
}

impl From<&StreamAnomaly> for PredictionView {
    fn from(anomaly: &StreamAnomaly) -> Self {
        Self {
            series_id: anomaly.series_id.to_string(),
            timestamp: anomaly.timestamp,
            value: anomaly.value,
            anomaly: true,
            score: anomaly.score,
            model_version: anomaly.version.map(|v| v.to_string()),
            recorded_at: rfc3339_millis(anomaly.recorded_at_ms),
            source: "stream".into(),
            detector: Some(anomaly.detector.clone()),
        }
    }
}

impl From<&FeedAnomaly> for PredictionView {
    fn from(anomaly: &FeedAnomaly) -> Self {
        Self {
            series_id: anomaly.series_id.clone(),
            timestamp: anomaly.timestamp,
            value: anomaly.value,
            anomaly: true,
            score: anomaly.score,
            model_version: anomaly.model_version.clone(),
            recorded_at: rfc3339_millis(anomaly.recorded_at_ms),
            source: anomaly.source.clone(),
            detector: anomaly.detector.clone(),
        }
    }
}

impl From<&PredictionRecord> for PredictionView {
    fn from(record: &PredictionRecord) -> Self {
        Self {
            series_id: record.series_id.to_string(),
            timestamp: record.timestamp,
            value: record.value,
            anomaly: record.anomaly,
            score: record.score,
            model_version: Some(record.version.to_string()),
            recorded_at: rfc3339_millis(record.recorded_at_ms),
            source: "predict".into(),
            detector: None,
        }
    }
}

/// Recorded verdicts, newest (by point timestamp) first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PredictionsPage {
    /// The verdicts.
    pub predictions: Vec<PredictionView>,
}

/// The recorded predictions of one series in a time range, newest first.
#[utoipa::path(
    get,
    path = "/series/{series_id}/predictions",
    tag = "monitor",
    params(anomaly_http::SeriesIdParam, RangeQuery),
    responses(
        (status = 200, description = "The predictions", body = PredictionsPage),
        (status = 404, description = "Unknown series", body = ErrorBody),
        (status = 422, description = "Invalid series id, range or limit", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn series_predictions(
    State(state): State<MonitorState>,
    SeriesIdPath(series_id): SeriesIdPath,
    ApiQuery(range): ApiQuery<RangeQuery>,
) -> Result<Json<PredictionsPage>, ApiError> {
    let query = prediction_query(Some(series_id.clone()), range.from, range.to, range.limit, false)?;
    if state.backends.store.model(&series_id, None).await?.is_none() {
        return Err(ApiError::model_not_found(&series_id, None, false));
    }
    page(&state, &query).await
}

/// Recent anomalies across series (or of one), newest point first: those
/// the stream found and those `POST /predict` answered.
#[utoipa::path(
    get,
    path = "/anomalies",
    tag = "monitor",
    params(AnomaliesQuery),
    responses(
        (status = 200, description = "The anomalies", body = PredictionsPage),
        (status = 422, description = "Invalid series id, source, range or limit", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn anomalies(
    State(state): State<MonitorState>,
    ApiQuery(filter): ApiQuery<AnomaliesQuery>,
) -> Result<Json<PredictionsPage>, ApiError> {
    let series_id = optional_series_id(filter.series_id.as_deref())?;
    let query = prediction_query(series_id, filter.from, filter.to, filter.limit, true)?;
    let sources = sources(filter.source.as_deref())?;
    Ok(Json(PredictionsPage { predictions: recent_anomalies(&state, &query, sources).await? }))
}

/// The anomalies `query` selects from the sources `(predict, stream)`
/// asks for, merged: the newest `query.limit` by point time.
pub async fn recent_anomalies(
    state: &MonitorState,
    query: &PredictionQuery,
    (from_predict, from_stream): (bool, bool),
) -> Result<Vec<PredictionView>, ApiError> {
    let mut views = Vec::new();
    if from_predict {
        views.extend(state.backends.predictions.predictions(query).await?.iter().map(PredictionView::from));
    }
    if from_stream {
        let stream_query =
            AnomalyQuery { series_id: query.series_id.clone(), from: query.from, to: query.to, limit: query.limit };
        views.extend(state.backends.streams.stream_anomalies(&stream_query).await?.iter().map(PredictionView::from));
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
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::BadRequest {
            code: "invalid_range",
            message: format!("from ({from}) must not be after to ({to})"),
        });
    }
    Ok(PredictionQuery { series_id, from, to, anomalies_only, limit })
}

async fn page(state: &MonitorState, query: &PredictionQuery) -> Result<Json<PredictionsPage>, ApiError> {
    let records = state.backends.predictions.predictions(query).await?;
    Ok(Json(PredictionsPage { predictions: records.iter().map(PredictionView::from).collect() }))
}
