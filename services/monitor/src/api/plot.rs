//! `GET /plot?series_id=..&version=..`: the SVG of one model version.

use crate::MonitorState;
use crate::render::draw_version;
use anomaly_core::{ModelVersion, SeriesId};
use anomaly_http::{ApiError, ApiQuery, ErrorBody};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Which plot.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlotQuery {
    /// The series: 1 to 128 bytes of `[A-Za-z0-9._:-]`. Required; a
    /// missing one is answered with 422 `invalid_series_id`.
    #[param(required = true, value_type = anomaly_http::SeriesIdText, inline)]
    pub series_id: Option<String>,
    /// `v3`, `V3` or `3`; omitted means the latest version.
    #[param(pattern = r"^[vV]?0*[1-9][0-9]{0,8}$")]
    pub version: Option<String>,
}

/// The training data of a model version, its mean and `±k·std` band, and
/// the training points outside the band.
#[utoipa::path(
    get,
    path = "/plot",
    tag = "monitor",
    params(PlotQuery),
    responses(
        (status = 200, description = "An SVG image", content_type = "image/svg+xml", body = String),
        (status = 404, description = "Unknown series or version", body = ErrorBody),
        (status = 422, description = "Missing or invalid series_id or version", body = ErrorBody),
        (status = 503, description = "A storage dependency is down, or the plot could not be drawn in time (`render_timeout`)", body = ErrorBody),
    )
)]
pub async fn plot(
    State(state): State<MonitorState>,
    ApiQuery(query): ApiQuery<PlotQuery>,
) -> Result<Response, ApiError> {
    let series_id = SeriesId::parse(query.series_id.as_deref().unwrap_or_default())?;
    let version = query.version.as_deref().map(ModelVersion::parse).transpose()?;
    let store = &state.backends.store;
    let Some(record) = store.model(&series_id, version).await? else {
        let series_exists = version.is_some() && store.model(&series_id, None).await?.is_some();
        return Err(ApiError::model_not_found(&series_id, version, series_exists));
    };
    let svg = draw_version(&state, record, Vec::new()).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
