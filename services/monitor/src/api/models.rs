//! `GET /models` (the latest model of every series, filtered and paginated
//! by series id) and `GET /models/{series_id}` (all versions of one).

use crate::MonitorState;
use crate::query_params::page_limit;
use anomaly_core::SeriesId;
use anomaly_http::{ApiError, ApiQuery, ErrorBody, ModelDescription, SeriesIdPath};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest page `GET /models` answers.
const MAX_PAGE: u32 = 1000;

/// Which page of series.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ModelsQuery {
    /// Only series whose id contains this text (any case); at most 128 bytes.
    #[param(max_length = 128)]
    pub filter: Option<String>,
    /// Start after this series id: `next_after` of the previous page.
    pub after: Option<String>,
    /// Series per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One page of series with their latest model.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModelsPage {
    /// The latest model of each series, ordered by series id (byte order).
    pub models: Vec<ModelDescription>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// Every version of one series.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeriesModels {
    /// The series.
    pub series_id: String,
    /// Its versions, newest first.
    pub versions: Vec<ModelDescription>,
}

/// The latest model of every series, by series id.
#[utoipa::path(
    get,
    path = "/models",
    tag = "monitor",
    params(ModelsQuery),
    responses(
        (status = 200, description = "One page of series", body = ModelsPage),
        (status = 422, description = "Invalid limit or query", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn list_models(
    State(state): State<MonitorState>,
    ApiQuery(query): ApiQuery<ModelsQuery>,
) -> Result<Json<ModelsPage>, ApiError> {
    let limit = page_limit(query.limit, 100, MAX_PAGE)?;
    if let Some(filter) = query.filter.as_deref().filter(|f| f.len() > SeriesId::MAX_LEN) {
        return Err(ApiError::BadRequest {
            code: "invalid_filter",
            message: format!(
                "filter must be at most {} bytes (no series id is longer); got {}",
                SeriesId::MAX_LEN,
                filter.len()
            ),
        });
    }
    let records = state.backends.store.latest_models(query.filter.as_deref(), query.after.as_deref(), limit).await?;
    let next_after =
        (records.len() == limit as usize).then(|| records.last().map(|r| r.series_id.to_string())).flatten();
    Ok(Json(ModelsPage { models: records.iter().map(ModelDescription::from).collect(), next_after }))
}

/// Every version of one series, with its parameters.
#[utoipa::path(
    get,
    path = "/models/{series_id}",
    tag = "monitor",
    params(anomaly_http::SeriesIdParam),
    responses(
        (status = 200, description = "The versions, newest first", body = SeriesModels),
        (status = 404, description = "Unknown series", body = ErrorBody),
        (status = 422, description = "Invalid series id", body = ErrorBody),
        (status = 503, description = "A storage dependency is down", body = ErrorBody),
    )
)]
pub async fn series_models(
    State(state): State<MonitorState>,
    SeriesIdPath(series_id): SeriesIdPath,
) -> Result<Json<SeriesModels>, ApiError> {
    let records = state.backends.store.versions(&series_id).await?;
    if records.is_empty() {
        return Err(ApiError::model_not_found(&series_id, None, false));
    }
    Ok(Json(SeriesModels {
        series_id: series_id.into_string(),
        versions: records.iter().map(ModelDescription::from).collect(),
    }))
}
