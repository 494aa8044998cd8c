//! The prediction history as an API: `GET /series/{series_id}/predictions`
//! (one series, by point time) and `GET /anomalies` (anomalous verdicts
//! across series). Both newest first, over an indexed time range.

use crate::MonitorState;
use crate::queries::{PredictionView, prediction_query, recent_anomalies};
use crate::query_params::{optional_series_id, sources};
use anomaly_http::{ApiError, ApiQuery, ErrorBody, SeriesIdPath};
use anomaly_store::{Label, LabelFilter, PredictionQuery};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    #[param(value_type = Option<anomaly_http::SeriesIdText>, inline)]
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
    /// `true_positive`, `false_positive` or `unlabelled`: only anomalies
    /// labelled so (`PUT /anomalies/{id}/label`), or not yet labelled.
    #[param(pattern = r"^(true_positive|false_positive|unlabelled)$")]
    pub label: Option<String>,
}

/// The label filter `text` names.
fn label_filter(text: Option<&str>) -> Result<Option<LabelFilter>, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some("unlabelled") => Ok(Some(LabelFilter::Unlabelled)),
        Some(other) => {
            Label::parse(other).map(|label| Some(LabelFilter::Is(label))).ok_or_else(|| ApiError::BadRequest {
                code: "invalid_query",
                message: format!(
                    "label must be true_positive, false_positive or unlabelled; got {:?}",
                    other.chars().take(40).collect::<String>()
                ),
            })
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
        (status = 422, description = "Invalid series id, source, range, limit or label", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn anomalies(
    State(state): State<MonitorState>,
    ApiQuery(filter): ApiQuery<AnomaliesQuery>,
) -> Result<Json<PredictionsPage>, ApiError> {
    let series_id = optional_series_id(filter.series_id.as_deref())?;
    let mut query = prediction_query(series_id, filter.from, filter.to, filter.limit, true)?;
    query.label = label_filter(filter.label.as_deref())?;
    let sources = sources(filter.source.as_deref())?;
    Ok(Json(PredictionsPage { predictions: recent_anomalies(&state, &query, sources).await? }))
}

async fn page(state: &MonitorState, query: &PredictionQuery) -> Result<Json<PredictionsPage>, ApiError> {
    let records = state.backends.predictions.predictions(query).await?;
    Ok(Json(PredictionsPage { predictions: records.iter().map(PredictionView::from).collect() }))
}
